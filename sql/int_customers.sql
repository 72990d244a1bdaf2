-- int_customers — grain: customer. The customers every later model uses: rows without an id are
-- excluded (and reported by mart_data_quality); duplicate ids stop the run in validation.
-- customer_key is a compact integer stand-in for customer_id: the heavy joins and group-bys over
-- orders use it, because hashing integers is much cheaper than hashing text ids.
-- source_segment is the segment as the data names it; which scorecard it is reported in (its own, or
-- "Other segments") depends on its size in the reported period: see int_segments.
select
    row_number() over () as customer_key,
    customer_id,
    name,
    segment as source_segment,
    created_at,
    closed_at,
    closed_reason
from stg_customers
where customer_id is not null
