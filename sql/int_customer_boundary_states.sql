-- int_customer_boundary_states — grain: customer (key) × boundary date, for customers with orders in the
-- value window or the period ending at that date, or closed at that date (every other customer has
-- run-rate 0, is inactive there and bought nothing in that period).
-- run_rate is RR(c, d) of SPEC §3.1: the sum of the window's orders, or 0 when the account is closed.
-- One pass over the orders gives all three figures each boundary needs.
with boundary_days as (
    -- every order date × each boundary whose window (or period) holds it: a few thousand rows, so the orders
    -- meet their boundaries by an equi-join on the date instead of an inequality join that sorts them all
    select
        days.order_date,
        boundaries.boundary_date,
        days.order_date >= boundaries.window_start as in_window,
        coalesce(days.order_date >= boundaries.period_start, false) as in_period
    from (select distinct order_date from int_orders) as days
    join int_boundaries as boundaries
        -- the window normally covers the period; least() keeps a 366-day year with W = 365 right too
        on days.order_date >= least(boundaries.window_start, coalesce(boundaries.period_start, boundaries.window_start))
        and days.order_date < boundaries.boundary_date
),

window_orders as (
    select
        orders.customer_key,
        boundary_days.boundary_date,
        sum(orders.amount) filter (where boundary_days.in_window) as window_amount,
        count(*) filter (where orders.amount > 0 and boundary_days.in_window) as window_purchases,
        count(*) filter (where orders.amount > 0 and boundary_days.in_period) as period_purchases
    from int_orders as orders
    join boundary_days on boundary_days.order_date = orders.order_date
    group by orders.customer_key, boundary_days.boundary_date
),

closed as (
    select
        closures.customer_key,
        boundaries.boundary_date
    from int_customer_closures as closures
    join int_boundaries as boundaries
        on closures.closed_at < boundaries.boundary_date
        and (closures.reopened_on is null or closures.reopened_on >= boundaries.boundary_date)
),

final as (
    select
        coalesce(window_orders.customer_key, closed.customer_key) as customer_key,
        coalesce(window_orders.boundary_date, closed.boundary_date) as boundary_date,
        closed.customer_key is not null as is_closed,
        case
            when closed.customer_key is not null then 0
            else coalesce(window_orders.window_amount, 0)
        end::decimal(38, 2) as run_rate,
        -- counts as 32-bit integers: the largest intermediate table, 8 bytes a row less than count()'s BIGINTs
        coalesce(window_orders.window_purchases, 0)::integer as window_purchases,
        coalesce(window_orders.period_purchases, 0)::integer as period_purchases
    from window_orders
    full outer join closed
        on window_orders.customer_key = closed.customer_key
        and window_orders.boundary_date = closed.boundary_date
)

select
    *,
    run_rate > 0 as is_active
from final
