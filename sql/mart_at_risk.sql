-- mart_at_risk — grain: scorecard. SPEC §3.12: customers active at the period end whose chance of buying
-- nothing in the next period is at least the risk threshold (count, their run-rate, and value at risk =
-- run-rate × p_quiet, each rounded to the cent before summing, so the list adds up); and the backtest of
-- the same flag at the period start against what those customers then did in the period: flagged and
-- others, how many of each bought nothing, the lift, and the AUC (the chance that a random quiet customer
-- had a higher p_quiet than a random buyer, ties counting half), from ranks:
-- (Σ ranks of the quiet − q(q + 1)/2) / (q · b), a tie group sharing its average rank.
-- NULL where a fit is missing (run_risk_models) or a denominator is zero.
with members as (select * from int_customer_risk),

at_end as (
    select
        case when grouping(segment) = 1 then 'company' else 'segment:' || segment end as scorecard,
        count(*) filter (where flagged_end) as customers,
        coalesce(sum(run_rate_end) filter (where flagged_end), 0) as run_rate,
        coalesce(sum(value_at_risk) filter (where flagged_end), 0) as value_at_risk
    from members
    where active_end
    group by grouping sets ((segment), ())
),

ranked as (
    -- the average rank of a tie group, in the company and in the segment: halfway between its lowest rank,
    -- rank(), and its highest, the count of rows up to and including the group (an ordered window's
    -- default frame); both over one ordering, so each needs one sort
    select
        segment,
        flagged_start,
        quiet,
        (rank() over (order by p_quiet_start) + count(*) over (order by p_quiet_start)) / 2 as company_rank,
        (rank() over (partition by segment order by p_quiet_start) + count(*) over (partition by segment order by p_quiet_start))
        / 2 as segment_rank
    from members
    where active_start and p_quiet_start is not null
),

backtest as (
    select
        case when grouping(segment) = 1 then 'company' else 'segment:' || segment end as scorecard,
        count(*) filter (where flagged_start) as flagged,
        count(*) filter (where flagged_start and quiet) as flagged_quiet,
        count(*) filter (where not flagged_start) as others,
        count(*) filter (where not flagged_start and quiet) as others_quiet,
        count(*) filter (where quiet) as quiet,
        count(*) filter (where not quiet) as bought,
        case
            when grouping(segment) = 1 then sum(company_rank) filter (where quiet)
            else sum(segment_rank) filter (where quiet)
        end as quiet_rank_sum
    from ranked
    group by grouping sets ((segment), ())
),

fits as (
    select
        count(*) filter (where fit = 'end') > 0 as end_fitted,
        count(*) filter (where fit = 'start') > 0 as start_fitted
    from run_risk_models
)

select
    scorecards.scorecard,
    case when fits.end_fitted then coalesce(at_end.customers, 0) end as customers,
    case when fits.end_fitted then coalesce(at_end.run_rate, 0) end as run_rate,
    case when fits.end_fitted then coalesce(at_end.value_at_risk, 0) end as value_at_risk,
    case when fits.start_fitted then coalesce(backtest.flagged, 0) end as flagged,
    case when fits.start_fitted then coalesce(backtest.flagged_quiet, 0) end as flagged_quiet,
    case when fits.start_fitted then coalesce(backtest.others, 0) end as others,
    case when fits.start_fitted then coalesce(backtest.others_quiet, 0) end as others_quiet,
    (backtest.flagged_quiet / nullif(backtest.flagged, 0)) / nullif(backtest.others_quiet / nullif(backtest.others, 0), 0) as lift,
    (backtest.quiet_rank_sum - backtest.quiet * (backtest.quiet + 1) / 2) / nullif(backtest.quiet * backtest.bought, 0) as auc
from int_scorecards as scorecards
cross join fits
left join at_end on at_end.scorecard = scorecards.scorecard
left join backtest on backtest.scorecard = scorecards.scorecard
