-- mart_at_risk_customers — grain: scorecard × rank (top N). The listed at-risk customers with their name,
-- the last purchase day before the period end and the usual gap: the median of the days between
-- consecutive purchase days (NULL with one purchase day), read from the orders of these few customers only.
with reported as (
    select end_date from run_periods where period_index = (select max(period_index) from run_periods)
),

listed_customers as (
    select distinct customer_key from int_at_risk_listed
),

purchase_days as (
    select distinct
        orders.customer_key,
        orders.order_date
    from int_orders as orders
    semi join listed_customers on listed_customers.customer_key = orders.customer_key
    where orders.amount > 0 and orders.order_date < (select end_date from reported)
),

gaps as (
    select
        customer_key,
        date_diff('day', lag(order_date) over (partition by customer_key order by order_date), order_date) as gap_days
    from purchase_days
),

usual_gaps as (
    select customer_key, median(gap_days) as usual_gap_days
    from gaps
    group by customer_key
)

select
    listed.scorecard,
    listed.rank,
    listed.customer_id,
    customers.name,
    listed.run_rate_end as run_rate,
    listed.p_alive_end as p_alive,
    listed.p_quiet_end as p_quiet,
    listed.value_at_risk,
    listed.last_purchase_end as last_purchase,
    usual_gaps.usual_gap_days
from int_at_risk_listed as listed
join int_customers as customers on customers.customer_key = listed.customer_key
left join usual_gaps on usual_gaps.customer_key = listed.customer_key
