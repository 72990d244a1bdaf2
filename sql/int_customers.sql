-- int_customers — grain: customer. The customers every later model uses: rows without an id are
-- excluded (and reported by mart_data_quality); duplicate ids stop the run in validation.
-- customer_key is a compact integer stand-in for customer_id: the heavy joins and group-bys over
-- orders use it, because hashing integers is much cheaper than hashing text ids.
-- Segments outside the configured list, or smaller than the configured minimum, are reported together
-- as "Other segments" (so segment scorecards still add up to the company).
with settings as (select * from run_settings),

customers as (
    select * from stg_customers where customer_id is not null
),

segment_sizes as (
    select segment, count(*) as customers from customers group by segment
),

grouped_segments as (
    select
        segment_sizes.segment,
        case
            when exists (select 1 from run_segments)
                and segment_sizes.segment not in (select segment from run_segments) then 'Other segments'
            when segment_sizes.customers < settings.min_segment_customers then 'Other segments'
            else segment_sizes.segment
        end as scorecard_segment
    from segment_sizes
    cross join settings
)

select
    row_number() over () as customer_key,
    customers.customer_id,
    customers.name,
    grouped_segments.scorecard_segment as segment,
    customers.segment as source_segment,
    customers.created_at,
    customers.closed_at,
    customers.closed_reason
from customers
join grouped_segments on grouped_segments.segment = customers.segment
