-- int_segments — grain: segment as the data names it. The scorecard each one is reported in: its own, or
-- "Other segments" when it is outside the configured list, or has fewer customers active at the start or
-- end of the reported period than the configured minimum (0 keeps every segment). The reported period
-- decides for every period, so the trend and the comparisons group segments the same way.
with settings as (select * from run_settings),

active_in_period as (
    select states.customer_key
    from int_customer_period_states as states
    where states.period_index = (select max(period_index) from run_periods)
        and (states.is_active_start or states.is_active_end)
),

sizes as (
    select
        customers.source_segment,
        count(active_in_period.customer_key) as active_customers
    from int_customers as customers
    left join active_in_period on active_in_period.customer_key = customers.customer_key
    group by customers.source_segment
)

select
    sizes.source_segment,
    sizes.active_customers,
    case
        when exists (select 1 from run_segments)
            and sizes.source_segment not in (select segment from run_segments) then 'Other segments'
        when sizes.active_customers < settings.min_segment_customers then 'Other segments'
        else sizes.source_segment
    end as segment
from sizes
cross join settings
