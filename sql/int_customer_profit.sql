-- int_customer_profit — grain: customer active at the reported period's end, or with costs in the
-- value window before it. Profit over [e − W, e) (SPEC §3.8): run-rate at e (0 when not active) × gross
-- margin, minus cost to serve in the window. The margin is the order's own `margin` when given, else
-- the gross margin setting.
-- requires: profitability (runs only with a costs table and a gross margin)
with settings as (select * from run_settings),

reported as (
    select period_index, end_date from run_periods where period_index = (select max(period_index) from run_periods)
),

window_bounds as (
    select reported.end_date - settings.window_days as window_start, reported.end_date as window_end
    from reported
    cross join settings
),

end_states as (
    select customers.customer_id, states.customer_key, states.run_rate_end as run_rate
    from int_customer_period_states as states
    join int_customers as customers on customers.customer_key = states.customer_key
    where states.period_index = (select period_index from reported)
        and states.is_active_end
),

gross_profit as (
    select
        end_states.customer_id,
        -- widened first: DECIMAL(18,2) × DECIMAL(9,6) stays 18 digits in DuckDB and overflows from ~10^11
        sum(cast(orders.amount as decimal(38, 2)) * coalesce(orders.margin, settings.gross_margin, 0)) as gross_profit
    from int_orders as orders
    cross join window_bounds
    cross join settings
    join end_states on end_states.customer_key = orders.customer_key
    where orders.order_date >= window_bounds.window_start
        and orders.order_date < window_bounds.window_end
    group by end_states.customer_id
),

costs as (
    select
        customer_id,
        sum(cost) as cost_to_serve,
        arg_max(kind, (cost, kind)) as main_cost_kind,
        max(cost) as main_cost
    from int_customer_window_costs
    group by customer_id
),

profitable_or_costly as (
    select customer_id from end_states
    union
    select customer_id from costs
)

select
    customers.customer_id,
    customers.name,
    customers.segment,
    coalesce(end_states.run_rate, 0) as revenue,
    coalesce(gross_profit.gross_profit, 0) as gross_profit,
    coalesce(costs.cost_to_serve, 0) as cost_to_serve,
    coalesce(gross_profit.gross_profit, 0) - coalesce(costs.cost_to_serve, 0) as profit,
    costs.main_cost_kind,
    costs.main_cost
from profitable_or_costly
join int_customer_profiles as customers on customers.customer_id = profitable_or_costly.customer_id
left join end_states on end_states.customer_id = profitable_or_costly.customer_id
left join gross_profit on gross_profit.customer_id = profitable_or_costly.customer_id
left join costs on costs.customer_id = profitable_or_costly.customer_id
