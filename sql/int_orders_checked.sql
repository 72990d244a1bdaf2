-- int_orders_checked — grain: order row. Each row with the first reason it cannot be used, if any.
-- Cancelled orders are ignored by definition (SPEC §2), so they are not checked further.
-- Only what int_orders and mart_data_quality read: no text columns, so the 10M-row copy stays narrow.
with settings as (select * from run_settings),

known_customers as (select customer_id, customer_key from int_customers)

select
    orders.order_date,
    orders.amount,
    orders.margin,
    orders.is_cancelled,
    known_customers.customer_key,
    case
        when orders.is_cancelled then null
        when orders.customer_id is null then 'order with no customer'
        when known_customers.customer_id is null then 'order for a customer not in customers'
        when orders.order_id is null then 'order with no order_id'
        when not orders.order_date_given then 'order with no order_date'
        when not orders.amount_given then 'order with no amount'
        when orders.order_date > settings.as_of then 'order dated after the as-of date'
    end as exclusion_reason
from stg_orders as orders
left join known_customers on orders.customer_id = known_customers.customer_id
cross join settings
