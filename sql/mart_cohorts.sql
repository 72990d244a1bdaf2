-- mart_cohorts — grain: scorecard × cohort × period since acquisition (k = 0 for the cohort's own period,
-- up to the reported period). SPEC §3.11: the cohort's size; buyers(k) = its customers with an order with
-- amount > 0 dated in the k-th period after their cohort's; revenue(k) = the sum of their orders' amounts
-- in that period (refunds subtract). Every cell is present, zeros included.
with cohorts as (select * from run_cohort_periods),

span as (
    -- cohort periods are whole months long and follow each other, so an order's period is arithmetic
    select
        min(start_date) as first_start,
        max(end_date) as last_end,
        datediff('month', min(start_date), min(end_date)) as months_per_period
    from cohorts
),

activity as (
    -- cohort customer × cohort period: what they bought in it (grouped on integers; segment and cohort joined after)
    select
        orders.customer_key,
        1 + datediff('month', span.first_start, orders.order_date) // span.months_per_period as period_index,
        sum(orders.amount) as revenue,
        bool_or(orders.amount > 0) as bought
    from int_orders as orders
    cross join span
    semi join int_customer_cohorts as members on members.customer_key = orders.customer_key
    where orders.order_date >= span.first_start and orders.order_date < span.last_end
    group by orders.customer_key, period_index
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
