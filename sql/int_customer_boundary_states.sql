-- int_customer_boundary_states — grain: customer × boundary date, for customers with orders in the
-- value window or closed at that date (every other customer has run-rate 0 and is inactive there).
-- run_rate is RR(c, d) of SPEC §3.1: the sum of the window's orders, or 0 when the account is closed.
with window_orders as (
    select
        orders.customer_id,
        boundaries.boundary_date,
        sum(orders.amount) as window_amount,
        count(*) filter (where orders.amount > 0) as window_purchases
    from int_orders as orders
    join int_boundaries as boundaries
        on orders.order_date >= boundaries.window_start
        and orders.order_date < boundaries.boundary_date
    group by orders.customer_id, boundaries.boundary_date
),

closed as (
    select
        closures.customer_id,
        boundaries.boundary_date
    from int_customer_closures as closures
    join int_boundaries as boundaries
        on closures.closed_at < boundaries.boundary_date
        and (closures.reopened_on is null or closures.reopened_on >= boundaries.boundary_date)
),

final as (
    select
        coalesce(window_orders.customer_id, closed.customer_id) as customer_id,
        coalesce(window_orders.boundary_date, closed.boundary_date) as boundary_date,
        closed.customer_id is not null as is_closed,
        case
            when closed.customer_id is not null then 0
            else coalesce(window_orders.window_amount, 0)
        end::decimal(38, 2) as run_rate,
        coalesce(window_orders.window_purchases, 0) as window_purchases
    from window_orders
    full outer join closed
        on window_orders.customer_id = closed.customer_id
        and window_orders.boundary_date = closed.boundary_date
)

select
    *,
    run_rate > 0 as is_active
from final
