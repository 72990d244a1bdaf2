-- int_costs_checked — grain: cost row. Each row with the first reason it cannot be used, if any.
-- materialized: view (read twice, by the usable rows and by the data-quality summary)
with known_customers as (select customer_id from int_customers)

select
    costs.*,
    case
        when costs.customer_id is null then 'cost with no customer'
        when known_customers.customer_id is null then 'cost for a customer not in customers'
        when not costs.cost_date_given then 'cost with no cost_date'
        when not costs.amount_given then 'cost with no amount'
    end as exclusion_reason
from stg_costs as costs
left join known_customers on costs.customer_id = known_customers.customer_id
