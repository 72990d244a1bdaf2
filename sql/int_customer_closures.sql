-- int_customer_closures — grain: customer with an explicit closed_at.
-- A closed account reopens with its first purchase (amount > 0) dated after closed_at (SPEC §3.1), so the
-- customer counts as closed at boundary d when closed_at < d <= reopened_on.
select
    customers.customer_key,
    customers.closed_at,
    min(orders.order_date) as reopened_on
from int_customers as customers
left join int_orders as orders
    on orders.customer_key = customers.customer_key
    and orders.order_date > customers.closed_at
    and orders.amount > 0
where customers.closed_at is not null
group by customers.customer_key, customers.closed_at
