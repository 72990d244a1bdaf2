-- mart_at_risk_customers — grain: scorecard × rank (top N). At-risk customers (SPEC §3.12) by value at
-- risk, highest first, ties by customer_id; with the last purchase day before the period end and the
-- usual gap: the median of the days between consecutive purchase days (NULL with one purchase day).
with settings as (select * from run_settings),

reported as (
    select end_date from run_periods where period_index = (select max(period_index) from run_periods)
),

flagged as (
    select * from int_customer_risk where flagged_end
),

ranked as (
    select
        'company' as scorecard,
        *,
        row_number() over (order by value_at_risk desc, customer_id asc) as rank
    from flagged
    union all
    select
        'segment:' || segment,
        *,
        row_number() over (partition by segment order by value_at_risk desc, customer_id asc)
    from flagged
),

listed as (
    select ranked.*
    from ranked
    cross join settings
    where ranked.rank <= settings.top_n
),

purchase_days as (
    select distinct
        orders.customer_key,
        orders.order_date
    from int_orders as orders
    cross join reported
    where orders.amount > 0
        and orders.order_date < reported.end_date
        and orders.customer_key in (select customer_key from listed)
),

gaps as (
    select
        customer_key,
        order_date - lag(order_date) over (partition by customer_key order by order_date) as gap_days
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
from listed
join int_customers as customers on customers.customer_key = listed.customer_key
left join usual_gaps on usual_gaps.customer_key = listed.customer_key
