-- mart_lapsed_signals — grain: scorecard. SPEC §3.13: the customers who lapsed in the reported period
-- (lost without closing), how many of them the at-risk flag had caught at the period start (the
-- backtest's flag; NULL without that fit), and how many had been retained but declining (run-rate down
-- by more than the change threshold) or ordering less often in the period before (NULL when the trend
-- holds no earlier period).
with settings as (select * from run_settings),

lapsed as (
    select scorecard, customer_key
    from int_scorecard_movements
    where status = 'lost_lapsed'
),

flagged_at_start as (
    select customer_key from int_customer_risk where flagged_start
),

declining_before as (
    select periods.customer_key
    from int_customer_periods as periods
    cross join settings
    where periods.period_index = (select max(period_index) - 1 from run_periods)
        and periods.status = 'retained'
        and (
            -- compared at the threshold product's own type, as in int_scorecard_movements (exact on every engine)
            periods.run_rate_change::decimal(38, 8) < -settings.change_threshold * periods.run_rate_start
            or periods.purchases_before_end < periods.purchases_before_start
        )
),

counts as (
    select
        lapsed.scorecard,
        count(*) as customers,
        count(flagged_at_start.customer_key) as flagged_at_risk_before,
        count(declining_before.customer_key) as declining_before
    from lapsed
    left join flagged_at_start on flagged_at_start.customer_key = lapsed.customer_key
    left join declining_before on declining_before.customer_key = lapsed.customer_key
    group by lapsed.scorecard
)

select
    scorecards.scorecard,
    coalesce(counts.customers, 0) as customers,
    case when exists (select 1 from run_risk_models where fit = 'start') then coalesce(counts.flagged_at_risk_before, 0) end
        as flagged_at_risk_before,
    case when (select count(*) from run_periods) > 1 then coalesce(counts.declining_before, 0) end as declining_before
from int_scorecards as scorecards
left join counts on counts.scorecard = scorecards.scorecard
