-- int_customer_periods — grain: customer × trend period, for every customer active at the period's
-- start or end, or who bought in it. Classifies each into the gains-and-losses states of SPEC §3.2.
-- Keyed by customer_key only (no text id): it holds every trend period, and the models that list customers
-- (the reported period's) take customer_id from int_customer_profiles.
with periods as (select * from run_periods),

active_at_start as (
    select periods.period_index, states.*
    from periods
    join int_customer_boundary_states as states on states.boundary_date = periods.start_date
    where states.is_active
),

at_end as (
    select periods.period_index, states.*
    from periods
    join int_customer_boundary_states as states on states.boundary_date = periods.end_date
    where states.is_active or states.period_purchases > 0 or states.is_closed
),

joined as (
    select
        coalesce(at_end.period_index, active_at_start.period_index) as period_index,
        coalesce(at_end.customer_key, active_at_start.customer_key) as customer_key,
        coalesce(active_at_start.run_rate, 0) as run_rate_start,
        coalesce(at_end.run_rate, 0) as run_rate_end,
        active_at_start.customer_key is not null as active_start,
        coalesce(at_end.is_active, false) as active_end,
        coalesce(at_end.is_closed, false) as closed_at_end,
        coalesce(active_at_start.window_purchases, 0) as purchases_before_start,
        coalesce(at_end.window_purchases, 0) as purchases_before_end,
        coalesce(at_end.period_purchases, 0) as purchases_in_period
    from at_end
    full outer join active_at_start
        on active_at_start.period_index = at_end.period_index
        and active_at_start.customer_key = at_end.customer_key
),

relevant as (
    select
        joined.*,
        profiles.segment,
        profiles.first_order_date,
        periods.start_date,
        periods.end_date
    from joined
    join periods on periods.period_index = joined.period_index
    join int_customer_profiles as profiles on profiles.customer_key = joined.customer_key
    where joined.active_start or joined.active_end or joined.purchases_in_period > 0
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
from relevant
