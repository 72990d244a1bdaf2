-- int_orders — grain: order. The orders every metric uses: checked, not cancelled. Only the columns
-- the metrics need, since this is the largest table the models read again and again.
-- sorted by: customer_key, order_date
-- (the models that group orders by customer then find each customer's rows together; see engines/duckdb.py)
select
    customer_key,
    order_date,
    amount,
    margin
from int_orders_checked
where exclusion_reason is null
    and not is_cancelled
    and order_date is not null
    and amount is not null
