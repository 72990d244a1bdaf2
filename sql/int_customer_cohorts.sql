-- int_customer_cohorts — grain: customer acquired in one of the cohort periods (run_cohort_periods: the
-- last 8 periods of the report's kind up to the reported one). A customer's cohort is the period holding
-- their first order with amount > 0 (SPEC §3.11); the segment is their current one, by its number in the
-- alphabetical order of the segments (mart_cohorts groups millions of orders by it: a number groups
-- faster than a name, and the mart names the cells once they are few).
-- Cohort periods are whole months long and follow each other, so a date's period is arithmetic.
with span as (
    select
        min(start_date) as first_start,
        max(end_date) as last_end,
        datediff('month', min(start_date), min(end_date)) as months_per_period
    from run_cohort_periods
)

select
    profiles.customer_key,
    segments.segment_number,
    1 + datediff('month', span.first_start, profiles.first_order_date) // span.months_per_period as cohort_index
from int_customer_profiles as profiles
join int_segment_numbers as segments on segments.segment = profiles.segment
cross join span
where profiles.first_order_date >= span.first_start and profiles.first_order_date < span.last_end
