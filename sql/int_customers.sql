-- int_customers — grain: customer. The customers every later model uses: rows without an id are
-- excluded (and reported by mart_data_quality); duplicate ids stop the run in validation.
select
    customer_id,
    name,
    segment,
    created_at,
    closed_at
from stg_customers
where customer_id is not null
