-- int_customer_window_costs — grain: customer × cost kind. Cost to serve in the value window before the
-- reported period's end, [e − W, e): the one pass over the costs table that profitability needs.
-- requires: profitability (runs only with a costs table and a gross margin)
with settings as (select * from run_settings),

reported as (
    select end_date from run_periods where period_index = (select max(period_index) from run_periods)
)

select
    costs.customer_id,
    costs.kind,
    sum(costs.amount) as cost
from int_costs as costs
cross join reported
cross join settings
where costs.cost_date >= reported.end_date - settings.window_days
    and costs.cost_date < reported.end_date
group by costs.customer_id, costs.kind
