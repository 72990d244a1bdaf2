-- mart_cost_by_kind — grain: scorecard × cost kind. Cost to serve in the value window before the period
-- end, by kind (support, returns, shipping…), and how many customers incurred it.
with settings as (select * from run_settings),

reported as (
    select end_date from run_periods where period_index = (select max(period_index) from run_periods)
),

window_costs as (
    select costs.customer_id, customers.segment, costs.kind, costs.amount
    from int_costs as costs
    join int_customers as customers on customers.customer_id = costs.customer_id
    cross join reported
    cross join settings
    where costs.cost_date >= reported.end_date - settings.window_days
        and costs.cost_date < reported.end_date
),

memberships as (
    select 'company' as scorecard, * from window_costs
    union all
    select 'segment:' || segment, * from window_costs
)

select scorecard, kind, sum(amount) as amount, count(distinct customer_id) as customers
from memberships
group by scorecard, kind
