-- mart_cost_by_kind — grain: scorecard × cost kind. Cost to serve in the value window before the period
-- end, by kind (support, returns, shipping…), and how many customers incurred it.
-- requires: profitability (runs only with a costs table and a gross margin)
with window_costs as (
    select costs.*, customers.segment
    from int_customer_window_costs as costs
    join int_customer_profiles as customers on customers.customer_id = costs.customer_id
),

memberships as (
    select 'company' as scorecard, * from window_costs
    union all
    select 'segment:' || segment, * from window_costs
)

select scorecard, kind, sum(cost) as amount, count(*) as customers
from memberships
group by scorecard, kind
