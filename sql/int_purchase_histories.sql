-- int_purchase_histories — grain: customer with a purchase day before the reported period's end. The
-- BG/NBD purchase history of SPEC §3.12 at the period's end and at its start, in days: purchase days are
-- the distinct dates with an order amount > 0 before the as-of date; x = purchase days after the first;
-- t_x = days from the first to the last purchase day; t = the paper's T, days from the first purchase day
-- to the as-of date. The *_start columns are NULL for customers with no purchase day before the start.
-- One pass over the orders serves both dates.
with reported as (
    select start_date, end_date from run_periods where period_index = (select max(period_index) from run_periods)
),

purchase_days as (
    select distinct
        orders.customer_key,
        orders.order_date
    from int_orders as orders
    cross join reported
    where orders.amount > 0 and orders.order_date < reported.end_date
),

per_customer as (
    select
        purchase_days.customer_key,
        min(purchase_days.order_date) as first_purchase,
        count(*) as days_before_end,
        max(purchase_days.order_date) as last_before_end,
        count(*) filter (where purchase_days.order_date < reported.start_date) as days_before_start,
        max(purchase_days.order_date) filter (where purchase_days.order_date < reported.start_date) as last_before_start
    from purchase_days
    cross join reported
    group by purchase_days.customer_key
)

select
    per_customer.customer_key,
    per_customer.days_before_end - 1 as x_end,
    date_diff('day', per_customer.first_purchase, per_customer.last_before_end) as t_x_end,
    date_diff('day', per_customer.first_purchase, reported.end_date) as t_end,
    per_customer.last_before_end as last_purchase_end,
    nullif(per_customer.days_before_start, 0) - 1 as x_start,
    date_diff('day', per_customer.first_purchase, per_customer.last_before_start) as t_x_start,
    case when per_customer.days_before_start > 0 then date_diff('day', per_customer.first_purchase, reported.start_date) end as t_start
from per_customer
cross join reported
