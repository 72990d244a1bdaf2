-- mart_cohorts — grain: scorecard × cohort × period since acquisition (k = 0 for the cohort's own period,
-- up to the reported period). SPEC §3.11: the cohort's size; buyers(k) = its customers with an order with
-- amount > 0 dated in the k-th period after their cohort's; revenue(k) = the sum of their orders' amounts
-- in that period (refunds subtract). Every cell is present, zeros included.
with cohorts as (select * from run_cohort_periods),

order_days as (
    -- each order date of the cohort periods with its period: a few hundred rows, which the orders meet by
    -- an equi-join on the date (cheaper than date arithmetic on every order)
    select
        days.order_date,
        cohorts.cohort_index as period_index
    from (select distinct order_date from int_orders) as days
    join cohorts on days.order_date >= cohorts.start_date and days.order_date < cohorts.end_date
),

activity as (
    -- cohort customer × cohort period: what they bought in it (grouped on integers; segment and cohort joined after)
    select
        orders.customer_key,
        order_days.period_index,
        sum(orders.amount) as revenue,
        bool_or(orders.amount > 0) as bought
    from int_orders as orders
    join order_days on order_days.order_date = orders.order_date
    semi join int_customer_cohorts as members on members.customer_key = orders.customer_key
    group by orders.customer_key, order_days.period_index
),

member_activity as (
    select
        members.segment,
        members.cohort_index,
        activity.period_index - members.cohort_index as periods_since,
        activity.revenue,
        activity.bought
    from activity
    join int_customer_cohorts as members on members.customer_key = activity.customer_key
),

cells as (
    -- per segment and for the company, in one pass
    select
        case when grouping(segment) = 1 then 'company' else 'segment:' || segment end as scorecard,
        cohort_index,
        periods_since,
        count(*) filter (where bought) as buyers,
        sum(revenue) as revenue
    from member_activity
    group by grouping sets ((segment, cohort_index, periods_since), (cohort_index, periods_since))
),

sizes as (
    select
        case when grouping(segment) = 1 then 'company' else 'segment:' || segment end as scorecard,
        cohort_index,
        count(*) as size
    from int_customer_cohorts
    group by grouping sets ((segment, cohort_index), (cohort_index))
),

grid as (
    select
        scorecards.scorecard,
        cohorts.cohort_index,
        cohorts.label as cohort,
        cohorts.start_date,
        later.cohort_index - cohorts.cohort_index as periods_since
    from int_scorecards as scorecards
    cross join cohorts
    join cohorts as later on later.cohort_index >= cohorts.cohort_index
)

select
    grid.scorecard,
    grid.cohort_index,
    grid.cohort,
    grid.start_date,
    grid.periods_since,
    coalesce(sizes.size, 0) as size,
    coalesce(cells.buyers, 0) as buyers,
    coalesce(cells.revenue, 0) as revenue
from grid
left join sizes on sizes.scorecard = grid.scorecard and sizes.cohort_index = grid.cohort_index
left join cells
    on cells.scorecard = grid.scorecard
    and cells.cohort_index = grid.cohort_index
    and cells.periods_since = grid.periods_since
