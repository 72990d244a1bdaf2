-- int_scorecard_referral_counts — grain: scorecard. Referrals made in the period and distinct referrers
-- (by the referrer's segment), and new customers won through a referral dated on or before their first
-- order (by the new customer's own segment), with their run-rate at period end (SPEC §3.6).
with made as (
    select 'company' as scorecard, referral_sort_key, referrer_id from int_referrals_in_period
    union all
    select 'segment:' || referrer_segment, referral_sort_key, referrer_id from int_referrals_in_period
),

made_counts as (
    select scorecard, count(*) as referrals_made, count(distinct referrer_id) as referrers
    from made
    group by scorecard
),

referred_new as (
    select distinct
        members.scorecard,
        members.customer_id,
        members.run_rate_end
    from int_scorecard_customers as members
    join int_referrals as referrals
        on referrals.referred_customer_id = members.customer_id
        and referrals.referred_at <= members.first_order_date
    where members.status = 'new'
),

referred_counts as (
    select scorecard, count(*) as referred_new_customers, sum(run_rate_end) as referred_new_value
    from referred_new
    group by scorecard
)

select
    scorecards.scorecard,
    coalesce(made_counts.referrals_made, 0) as referrals_made,
    coalesce(made_counts.referrers, 0) as referrers,
    coalesce(referred_counts.referred_new_customers, 0) as referred_new_customers,
    coalesce(referred_counts.referred_new_value, 0) as referred_new_value
from int_scorecards as scorecards
left join made_counts on made_counts.scorecard = scorecards.scorecard
left join referred_counts on referred_counts.scorecard = scorecards.scorecard
