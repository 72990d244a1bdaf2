-- int_customer_profiles — grain: customer. What the period models need to know about every customer
-- in one compact row: key, id, name, the segment whose scorecard they count in (int_segments), and the
-- first order (the earliest non-cancelled order with amount > 0, SPEC §3.2; refunds don't count; NULL for
-- customers who never bought).
with first_orders as (
    select customer_key, min(order_date) as first_order_date
    from int_orders
    where amount > 0
    group by customer_key
)

select
    customers.customer_key,
    customers.customer_id,
    customers.name,
    segments.segment,
    first_orders.first_order_date
from int_customers as customers
join int_segments as segments on segments.source_segment = customers.source_segment
left join first_orders on first_orders.customer_key = customers.customer_key
