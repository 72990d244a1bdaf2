-- int_boundaries — grain: boundary date. Every period start and end of the trend, with the value window
-- [boundary − W, boundary) that run-rates at that date look back over, and the start of the period that
-- ends at that boundary (NULL for the first one).
with settings as (select * from run_settings),

boundary_dates as (
    select start_date as boundary_date from run_periods
    union
    select end_date from run_periods
)

select
    boundary_dates.boundary_date,
    boundary_dates.boundary_date - settings.window_days as window_start,
    periods.start_date as period_start
from boundary_dates
cross join settings
left join run_periods as periods on periods.end_date = boundary_dates.boundary_date
