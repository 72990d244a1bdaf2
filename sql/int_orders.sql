-- int_orders — grain: order. The orders every metric uses: checked, not cancelled.
select
    order_id,
    customer_id,
    order_date,
    amount,
    margin
from int_orders_checked
where exclusion_reason is null
    and not is_cancelled
    and order_date is not null
    and amount is not null
