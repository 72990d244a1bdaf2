-- int_referrals — grain: referral. The usable referrals. Without a referral_id column the row number
-- stands in as the tie-breaker the highlights ranking needs.
select
    referral_id,
    coalesce(referral_id, lpad(cast(_row as varchar), 12, '0')) as referral_sort_key,
    referrer_id,
    referred_customer_id,
    referred_at,
    note
from int_referrals_checked
where exclusion_reason is null
    and referred_at is not null
