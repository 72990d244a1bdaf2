-- int_referrals_in_period — grain: referral dated in the reported period, with the referrer's segment
-- (referrals are attributed to the referrer's segment, SPEC §3.6) and what became of the referred person.
with reported as (
    select * from run_periods where period_index = (select max(period_index) from run_periods)
),

referred_values as (
    select customers.customer_id, states.run_rate_end as run_rate
    from int_customer_period_states as states
    join int_customers as customers on customers.customer_key = states.customer_key
    where states.period_index = (select period_index from reported)
),

referrer_history as (
    select distinct referrals.referral_sort_key
    from int_referrals as referrals
    join int_customers as referrers on referrers.customer_id = referrals.referrer_id
    join int_orders as orders
        on orders.customer_key = referrers.customer_key
        and orders.amount > 0
        and orders.order_date < referrals.referred_at
)

select
    referrals.*,
    referrers.segment as referrer_segment,
    referrers.name as referrer_name,
    referred.name as referred_name,
    referrals.referred_customer_id is not null as converted,
    case when referrals.referred_customer_id is not null then coalesce(referred_values.run_rate, 0) end
        as referred_value,
    referrer_history.referral_sort_key is not null as referrer_had_ordered
from int_referrals as referrals
cross join reported
join int_customer_profiles as referrers on referrers.customer_id = referrals.referrer_id
left join int_customers as referred on referred.customer_id = referrals.referred_customer_id
left join referred_values on referred_values.customer_id = referrals.referred_customer_id
left join referrer_history on referrer_history.referral_sort_key = referrals.referral_sort_key
where referrals.referred_at >= reported.start_date
    and referrals.referred_at < reported.end_date
