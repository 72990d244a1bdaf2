-- mart_history — grain: one row, the reported period. Whether the data reaches back a full value window
-- before the period start (SPEC §3.10): `short` when the first order is later than needed_from = s − W.
-- The remedies: a window of at most max_window_days, or a period starting on or after full_history_from.
with settings as (select * from run_settings),

reported as (
    select start_date from run_periods where period_index = (select max(period_index) from run_periods)
)

select
    span.data_from,
    reported.start_date - settings.window_days as needed_from,
    span.data_from > reported.start_date - settings.window_days as short,
    date_diff('day', span.data_from, reported.start_date) as max_window_days,
    span.data_from + settings.window_days as full_history_from
from int_data_span as span
cross join reported
cross join settings
