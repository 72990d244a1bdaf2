-- int_customer_first_orders — grain: customer with at least one purchase.
-- The first order is the earliest non-cancelled order with amount > 0 (SPEC §3.2); refunds don't count.
select
    customer_id,
    min(order_date) as first_order_date
from int_orders
where amount > 0
group by customer_id
