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

member_orders as (
    -- the orders of cohort customers in the cohort periods, with their segment (its number), cohort and period
    select
        members.customer_key,
        members.segment_number,
        members.cohort_index,
        order_days.period_index,
        orders.amount
    from int_orders as orders
    join order_days on order_days.order_date = orders.order_date
    join int_customer_cohorts as members on members.customer_key = orders.customer_key
),

revenue_cells as (
    -- revenue(k) straight into its cell, per segment and for the company (segment number 0) in one pass: a
    -- sum needs no per-customer step
    select
        coalesce(segment_number, 0) as segment_number,
        cohort_index,
        period_index - cohort_index as periods_since,
        sum(amount) as revenue
    from member_orders
    group by grouping sets ((segment_number, cohort_index, period_index), (cohort_index, period_index))
),

buying_periods as (
    -- per cohort customer, the cohort periods they bought in (amount > 0) as the bits of one integer (bits 1
    -- to 8): a group-by with one row per customer rather than one per customer and period
    select
        customer_key,
        bit_or(1 << period_index) as periods
    from member_orders
    where amount > 0
    group by customer_key
),

buyer_cells as (
    select
        coalesce(members.segment_number, 0) as segment_number,
        members.cohort_index,
        later.cohort_index - members.cohort_index as periods_since,
        count(*) as buyers
    from buying_periods
    join int_customer_cohorts as members on members.customer_key = buying_periods.customer_key
    join cohorts as later on ((buying_periods.periods >> later.cohort_index) & 1) = 1
    group by grouping sets ((members.segment_number, members.cohort_index, later.cohort_index), (members.cohort_index, later.cohort_index))
),

sizes as (
    select
        coalesce(segment_number, 0) as segment_number,
        cohort_index,
        count(*) as size
    from int_customer_cohorts
    group by grouping sets ((segment_number, cohort_index), (cohort_index))
),

grid as (
    -- every scorecard's cells, with its segment number (0 for the company's)
    select
        scorecards.scorecard,
        coalesce(numbers.segment_number, 0) as segment_number,
        cohorts.cohort_index,
        cohorts.label as cohort,
        cohorts.start_date,
        later.cohort_index - cohorts.cohort_index as periods_since
    from int_scorecards as scorecards
    left join int_segment_numbers as numbers on numbers.segment = scorecards.segment
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
    coalesce(buyer_cells.buyers, 0) as buyers,
    coalesce(revenue_cells.revenue, 0) as revenue
from grid
left join sizes
    on sizes.segment_number = grid.segment_number
    and sizes.cohort_index = grid.cohort_index
left join buyer_cells
    on buyer_cells.segment_number = grid.segment_number
    and buyer_cells.cohort_index = grid.cohort_index
    and buyer_cells.periods_since = grid.periods_since
left join revenue_cells
    on revenue_cells.segment_number = grid.segment_number
    and revenue_cells.cohort_index = grid.cohort_index
    and revenue_cells.periods_since = grid.periods_since
