-- int_referrals_checked — grain: referral row. Each row with the first reason it cannot be used, if any.
-- materialized: view (read twice, by the usable rows and by the data-quality summary)
with known_customers as (select customer_id from int_customers)

select
    referrals.*,
    case
        when referrals.referrer_id is null then 'referral with no referrer_id'
        when referrers.customer_id is null then 'referral from a customer not in customers'
        when referrals.referred_customer_id is not null and referred.customer_id is null
            then 'referral to a customer not in customers'
        when referrals.referrer_id = referrals.referred_customer_id then 'self-referral'
        when not referrals.referred_at_given then 'referral with no referred_at'
    end as exclusion_reason
from stg_referrals as referrals
left join known_customers as referrers on referrals.referrer_id = referrers.customer_id
left join known_customers as referred on referrals.referred_customer_id = referred.customer_id
