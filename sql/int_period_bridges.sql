-- int_period_bridges — grain: scorecard × run period (the trend's periods and the comparison periods).
-- Gains, losses and both bridges of each period, its headline (customers and value gained, lost and
-- net), and whether the data covers it: `covered` when it starts on or after the first order,
-- `short_history` when the value window before its start reaches back before the first order.
-- One pass with grouping sets: per segment and period, and per period for the company.
with settings as (select * from run_settings),

span as (select * from int_data_span),

summed as (
    select
        case when grouping(segment) = 1 then 'company' else 'segment:' || segment end as scorecard,
        period_index,
        count(*) filter (where active_start) as customers_start,
        count(*) filter (where status = 'new') as customers_new,
        count(*) filter (where status = 'reactivated') as customers_reactivated,
        count(*) filter (where status in ('lost_lapsed', 'lost_closed')) as customers_lost,
        count(*) filter (where active_end) as customers_end,
        coalesce(sum(run_rate_start) filter (where active_start), 0) as value_start,
        coalesce(sum(run_rate_end) filter (where status = 'new'), 0) as value_new,
        coalesce(sum(run_rate_end) filter (where status = 'reactivated'), 0) as value_reactivated,
        coalesce(sum(run_rate_change) filter (where status = 'retained' and run_rate_change > 0), 0) as value_expansion,
        coalesce(-sum(run_rate_change) filter (where status = 'retained' and run_rate_change < 0), 0) as value_contraction,
        coalesce(sum(run_rate_start) filter (where status in ('lost_lapsed', 'lost_closed')), 0) as value_lost,
        coalesce(sum(run_rate_end) filter (where active_end), 0) as value_end
    from int_customer_periods
    group by grouping sets ((segment, period_index), (period_index))
),

bridges as (
    select
        scorecards.scorecard,
        periods.period_index,
        periods.label as period,
        periods.start_date,
        periods.end_date,
        periods.in_trend,
        periods.is_previous,
        periods.is_year_ago,
        periods.period_index = (select max(period_index) from run_periods) as is_reported,
        periods.start_date >= span.data_from as covered,
        span.data_from > periods.start_date - settings.window_days as short_history,
        coalesce(summed.customers_start, 0) as customers_start,
        coalesce(summed.customers_new, 0) as customers_new,
        coalesce(summed.customers_reactivated, 0) as customers_reactivated,
        coalesce(summed.customers_lost, 0) as customers_lost,
        coalesce(summed.customers_end, 0) as customers_end,
        coalesce(summed.value_start, 0) as value_start,
        coalesce(summed.value_new, 0) as value_new,
        coalesce(summed.value_reactivated, 0) as value_reactivated,
        coalesce(summed.value_expansion, 0) as value_expansion,
        coalesce(summed.value_contraction, 0) as value_contraction,
        coalesce(summed.value_lost, 0) as value_lost,
        coalesce(summed.value_end, 0) as value_end
    from int_scorecards as scorecards
    cross join run_periods as periods
    cross join span
    cross join settings
    left join summed
        on summed.scorecard = scorecards.scorecard
        and summed.period_index = periods.period_index
)

select
    *,
    customers_new + customers_reactivated as headline_customers_gained,
    customers_lost as headline_customers_lost,
    customers_end - customers_start as headline_customers_net,
    value_new + value_reactivated + value_expansion as headline_value_gained,
    value_lost + value_contraction as headline_value_lost,
    value_end - value_start as headline_value_net,
    (value_start - value_contraction - value_lost) / nullif(value_start, 0) as grr,
    (value_start + value_expansion - value_contraction - value_lost) / nullif(value_start, 0) as nrr
from bridges
