-- int_customer_periods — grain: customer × trend period, for every customer active at the period's
-- start or end, or who bought in it. Classifies each into the gains-and-losses states of SPEC §3.2.
-- Keyed by customer_key only (no text id): it holds every trend period, and the models that list customers
-- (the reported period's) take customer_id from int_customer_profiles.
with periods as (select * from run_periods),

-- Each end as the classification sees it: at the start only an active customer counts (an inactive one
-- starts from 0); at the end an active customer, one who bought in the period, or one closed at its end.
ends as (
    select
        states.*,
        states.is_active_end or states.period_purchases > 0 or states.closed_at_end as seen_at_end
    from int_customer_period_states as states
),

figures as (
    select
        period_index,
        customer_key,
        case when is_active_start then run_rate_start else 0 end as run_rate_start,
        case when seen_at_end then run_rate_end else 0 end as run_rate_end,
        is_active_start as active_start,
        is_active_end as active_end,
        closed_at_end,
        case when is_active_start then window_purchases_start else 0 end as purchases_before_start,
        case when seen_at_end then window_purchases_end else 0 end as purchases_before_end,
        period_purchases as purchases_in_period
    from ends
),

relevant as (
    select
        figures.*,
        profiles.segment,
        profiles.first_order_date,
        periods.start_date,
        periods.end_date
    from figures
    join periods on periods.period_index = figures.period_index
    join int_customer_profiles as profiles on profiles.customer_key = figures.customer_key
    where figures.active_start or figures.active_end or figures.purchases_in_period > 0
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
