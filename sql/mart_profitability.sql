-- mart_profitability — grain: scorecard. Total profit, the whale curve's peak, and the value destroyers.
-- The peak is where the curve stops rising: after the last customer with profit > 0. So the peak holds
-- every value creator; with no creator at all it is at 0 % of customers and 0 profit.
-- requires: profitability (runs only with a costs table and a gross margin)
with ranked as (select * from int_scorecard_profit_ranks),

summary as (
    select
        scorecard,
        count(*) as customers,
        sum(revenue) as revenue,
        sum(gross_profit) as gross_profit,
        sum(cost_to_serve) as cost_to_serve,
        sum(profit) as total_profit,
        count(*) filter (where profit > 0) as creators,
        coalesce(sum(profit) filter (where profit > 0), 0) as peak_profit,
        count(*) filter (where profit < 0) as destroyers,
        coalesce(-sum(profit) filter (where profit < 0), 0) as profit_eroded
    from ranked
    group by scorecard
)

select
    scorecards.scorecard,
    coalesce(summary.customers, 0) as customers,
    coalesce(summary.revenue, 0) as revenue,
    coalesce(summary.gross_profit, 0) as gross_profit,
    coalesce(summary.cost_to_serve, 0) as cost_to_serve,
    coalesce(summary.total_profit, 0) as total_profit,
    coalesce(summary.creators, 0) as peak_customers,
    summary.creators / nullif(summary.customers, 0) as peak_customers_share,
    coalesce(summary.peak_profit, 0) as peak_profit,
    case when summary.total_profit > 0 then summary.peak_profit / summary.total_profit end as peak_profit_share,
    coalesce(summary.destroyers, 0) as destroyers,
    summary.destroyers / nullif(summary.customers, 0) as destroyers_share,
    coalesce(summary.profit_eroded, 0) as profit_eroded
from int_scorecards as scorecards
left join summary on summary.scorecard = scorecards.scorecard
