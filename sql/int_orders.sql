-- int_orders — grain: order. The orders every metric uses: checked, not cancelled. Only the columns
-- the metrics need, since this is the largest table the models read again and again.
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
