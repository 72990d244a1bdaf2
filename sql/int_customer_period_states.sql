-- int_customer_period_states — grain: customer (key) × trend period, for customers with orders in the value
-- window before the period's start or before its end, or in the period, or closed at its start or end
-- (every other customer has run-rate 0 at both ends, is inactive and bought nothing in the period).
-- run_rate_* is RR(c, d) of SPEC §3.1 at the period's start and end: the sum of the window's orders, or 0
-- when the account is closed at that date. One pass over the orders gives every figure of both ends, so
-- the two ends of a period never need matching up.
with settings as (select * from run_settings),

period_days as (
    -- every order date × each period whose windows (or the period itself) hold it: a few thousand rows, so
    -- the orders meet their periods by an equi-join on the date instead of an inequality join that sorts
    -- them all. [start − W, end) holds both windows and the period (a period can be longer than W).
    select
        days.order_date,
        periods.period_index,
        days.order_date < periods.start_date and days.order_date >= periods.start_date - settings.window_days
            as in_start_window,
        days.order_date >= periods.end_date - settings.window_days as in_end_window,
        days.order_date >= periods.start_date as in_period
    from (select distinct order_date from int_orders) as days
    cross join settings
    join run_periods as periods
        on days.order_date >= periods.start_date - settings.window_days
        and days.order_date < periods.end_date
),

window_orders as (
    select
        orders.customer_key,
        period_days.period_index,
        sum(orders.amount) filter (where period_days.in_start_window) as start_amount,
        sum(orders.amount) filter (where period_days.in_end_window) as end_amount,
        count(*) filter (where orders.amount > 0 and period_days.in_start_window) as start_purchases,
        count(*) filter (where orders.amount > 0 and period_days.in_end_window) as end_purchases,
        count(*) filter (where orders.amount > 0 and period_days.in_period) as period_purchases
    from int_orders as orders
    join period_days on period_days.order_date = orders.order_date
    group by orders.customer_key, period_days.period_index
),

-- closed at date d: closed_at < d <= reopened_on (or never reopened)
closures_at as (
    select
        closures.customer_key,
        periods.period_index,
        closures.closed_at < periods.start_date
        and (closures.reopened_on is null or closures.reopened_on >= periods.start_date) as closed_at_start,
        closures.closed_at < periods.end_date
        and (closures.reopened_on is null or closures.reopened_on >= periods.end_date) as closed_at_end
    from int_customer_closures as closures
    cross join run_periods as periods
),

closed as (
    select * from closures_at where closed_at_start or closed_at_end
),

final as (
    select
        coalesce(window_orders.customer_key, closed.customer_key) as customer_key,
        coalesce(window_orders.period_index, closed.period_index) as period_index,
        coalesce(closed.closed_at_start, false) as closed_at_start,
        coalesce(closed.closed_at_end, false) as closed_at_end,
        case
            when closed.closed_at_start then 0
            else coalesce(window_orders.start_amount, 0)
        end::decimal(38, 2) as run_rate_start,
        case
            when closed.closed_at_end then 0
            else coalesce(window_orders.end_amount, 0)
        end::decimal(38, 2) as run_rate_end,
        -- counts as 32-bit integers: the largest intermediate table, 8 bytes a row less than count()'s BIGINTs
        coalesce(window_orders.start_purchases, 0)::integer as window_purchases_start,
        coalesce(window_orders.end_purchases, 0)::integer as window_purchases_end,
        coalesce(window_orders.period_purchases, 0)::integer as period_purchases
    from window_orders
    full outer join closed
        on window_orders.customer_key = closed.customer_key
        and window_orders.period_index = closed.period_index
)

select
    *,
    run_rate_start > 0 as is_active_start,
    run_rate_end > 0 as is_active_end
from final
