-- mart_whale_curve — grain: scorecard × curve point (about 200 per scorecard, plus the peak).
-- Cumulative share of customers against cumulative profit, for the chart.
-- requires: profitability (runs only with a costs table and a gross margin)
with ranked as (select * from int_scorecard_profit_ranks),

peaks as (
    select scorecard, count(*) filter (where profit > 0) as peak_position
    from ranked
    group by scorecard
)

select
    ranked.scorecard,
    ranked.position,
    ranked.position / ranked.population as customers_share,
    ranked.cumulative_profit,
    case when ranked.total_profit > 0 then ranked.cumulative_profit / ranked.total_profit end as profit_share
from ranked
join peaks on peaks.scorecard = ranked.scorecard
where ranked.position = ranked.population
    or ranked.position = peaks.peak_position
    or floor(ranked.position * 200 / ranked.population) <> floor((ranked.position - 1) * 200 / ranked.population)
