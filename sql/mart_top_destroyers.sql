-- mart_top_destroyers — grain: scorecard × rank (top N). The customers who destroy the most profit
-- (most negative first, ties by customer_id), with what drives their cost to serve.
-- requires: profitability (runs only with a costs table and a gross margin)
with settings as (select * from run_settings),

destroyers as (
    select
        *,
        row_number() over (partition by scorecard order by profit, customer_id) as rank
    from int_scorecard_profit_ranks
    where profit < 0
)

select
    destroyers.scorecard,
    destroyers.rank,
    destroyers.customer_id,
    destroyers.name,
    destroyers.revenue,
    destroyers.cost_to_serve,
    destroyers.profit,
    destroyers.main_cost_kind,
    destroyers.main_cost
from destroyers
cross join settings
where destroyers.rank <= settings.top_n
