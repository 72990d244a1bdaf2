-- int_customers — grain: customer. The customers every later model uses: rows without an id are
-- excluded (and reported by mart_data_quality); duplicate ids stop the run in validation.
-- customer_key is a compact integer stand-in for customer_id: the heavy joins and group-bys over
-- orders use it, because hashing integers is much cheaper than hashing text ids. A 32-bit one (room for
-- 2.1 billion customers): it is in every order row kept, and 4 bytes less there than row_number()'s BIGINT.
-- source_segment is the segment as the data names it; which scorecard it is reported in (its own, or
-- "Other segments") depends on its size in the reported period: see int_segments.
select
    cast(row_number() over () as integer) as customer_key,
    customer_id,
    name,
    segment as source_segment,
    created_at,
    closed_at,
    closed_reason
from stg_customers
where customer_id is not null
