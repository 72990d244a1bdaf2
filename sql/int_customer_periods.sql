-- int_customer_periods — grain: customer × trend period, for every customer active at the period's
-- start or end, or who bought in it. Classifies each into the gains-and-losses states of SPEC §3.2.
with periods as (select * from run_periods),

states as (select * from int_customer_boundary_states),

at_start as (
    select periods.period_index, states.*
    from periods
    join states on states.boundary_date = periods.start_date
),

at_end as (
    select periods.period_index, states.*
    from periods
    join states on states.boundary_date = periods.end_date
),

bought_in_period as (
    select distinct
        periods.period_index,
        orders.customer_id
    from int_orders as orders
    join periods
        on orders.order_date >= periods.start_date
        and orders.order_date < periods.end_date
    where orders.amount > 0
),

candidates as (
    select period_index, customer_id from at_start where is_active
    union
    select period_index, customer_id from at_end where is_active
    union
    select period_index, customer_id from bought_in_period
),

joined as (
    select
        candidates.period_index,
        candidates.customer_id,
        customers.segment,
        customers.name,
        periods.start_date,
        periods.end_date,
        coalesce(at_start.run_rate, 0) as run_rate_start,
        coalesce(at_end.run_rate, 0) as run_rate_end,
        coalesce(at_start.is_active, false) as active_start,
        coalesce(at_end.is_active, false) as active_end,
        coalesce(at_end.is_closed, false) as closed_at_end,
        coalesce(at_start.window_purchases, 0) as purchases_before_start,
        coalesce(at_end.window_purchases, 0) as purchases_before_end,
        first_orders.first_order_date
    from candidates
    join periods on periods.period_index = candidates.period_index
    join int_customers as customers on customers.customer_id = candidates.customer_id
    left join at_start
        on at_start.period_index = candidates.period_index
        and at_start.customer_id = candidates.customer_id
    left join at_end
        on at_end.period_index = candidates.period_index
        and at_end.customer_id = candidates.customer_id
    left join int_customer_first_orders as first_orders
        on first_orders.customer_id = candidates.customer_id
)

select
    *,
    run_rate_end - run_rate_start as run_rate_change,
    case
        when active_start and active_end then 'retained'
        when active_start and closed_at_end then 'lost_closed'
        when active_start then 'lost_lapsed'
        when active_end and first_order_date >= start_date and first_order_date < end_date then 'new'
        when active_end then 'reactivated'
        else 'in_and_out'
    end as status
from joined
