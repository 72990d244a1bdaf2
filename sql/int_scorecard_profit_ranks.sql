-- int_scorecard_profit_ranks — grain: scorecard × customer of int_customer_profit. Customers sorted by
-- profit (highest first, ties by customer_id) with the running total: the whale curve (SPEC §3.8).
-- requires: profitability (runs only with a costs table and a gross margin)
with memberships as (
    select 'company' as scorecard, * from int_customer_profit
    union all
    select 'segment:' || segment, * from int_customer_profit
)

select
    *,
    row_number() over (partition by scorecard order by profit desc, customer_id asc) as position,
    count(*) over (partition by scorecard) as population,
    sum(profit) over (
        partition by scorecard order by profit desc, customer_id asc rows between unbounded preceding and current row
    ) as cumulative_profit,
    sum(profit) over (partition by scorecard) as total_profit
from memberships
