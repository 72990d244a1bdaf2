-- stg_referrals — grain: one row per row of the referrals table.
with settings as (select * from run_settings)

select
    _row,
    clean_text(referral_id) as referral_id,
    clean_text(referrer_id) as referrer_id,
    clean_text(referred_customer_id) as referred_customer_id,
    referred_at_value is not null or clean_text(referred_at) is not null as referred_at_given,
    in_calendar(coalesce(referred_at_value, to_report_date(clean_text(referred_at), settings.time_zone))) as referred_at,
    clean_text(note) as note
from raw_referrals
cross join settings
