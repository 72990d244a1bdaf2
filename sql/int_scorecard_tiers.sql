-- int_scorecard_tiers — grain: scorecard. The core and top tier thresholds, fixed once per scorecard
-- (SPEC §3.5): configured money thresholds, or the discrete quantiles (inverse CDF, as DuckDB's
-- quantile_disc: the k-th smallest value with k = ceil(q·n)) of RR(c, s) over S; of RR(c, e) over E when
-- S is empty; none when both are empty.
with settings as (select * from run_settings),

members as (select * from int_scorecard_customers),

start_sizes as (
    select scorecard, count(*) filter (where active_start) as start_customers
    from members
    group by scorecard
),

basis as (
    select
        members.scorecard,
        case when start_sizes.start_customers > 0 then members.run_rate_start else members.run_rate_end end as run_rate
    from members
    join start_sizes on start_sizes.scorecard = members.scorecard
    where (start_sizes.start_customers > 0 and members.active_start)
        or (start_sizes.start_customers = 0 and members.active_end)
),

ranked as (
    select
        scorecard,
        run_rate,
        row_number() over (partition by scorecard order by run_rate) as position,
        count(*) over (partition by scorecard) as population
    from basis
),

quantiles as (
    select
        ranked.scorecard,
        min(ranked.run_rate) filter (
            where ranked.position = greatest(1, ceil(settings.core_quantile * ranked.population))
        ) as core_quantile_value,
        min(ranked.run_rate) filter (
            where ranked.position = greatest(1, ceil(settings.top_quantile * ranked.population))
        ) as top_quantile_value
    from ranked
    cross join settings
    group by ranked.scorecard
)

select
    scorecards.scorecard,
    coalesce(settings.core_threshold, quantiles.core_quantile_value) as core_threshold,
    coalesce(settings.top_threshold, quantiles.top_quantile_value) as top_threshold
from int_scorecards as scorecards
cross join settings
left join quantiles on quantiles.scorecard = scorecards.scorecard
