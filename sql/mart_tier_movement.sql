-- mart_tier_movement — grain: scorecard × tier. Retained customers who stayed in their tier, split by
-- whether they grew, held stable or declined: the "movement within a tier" of SPEC §3.5.
with tiers as (
    select * from (values (1, 'base'), (2, 'core'), (3, 'top')) as t (tier_order, tier)
),

stayed as (
    select
        scorecard,
        tier_start as tier,
        count(*) filter (where engagement = 'grew') as grew,
        count(*) filter (where engagement = 'stable') as stable,
        count(*) filter (where engagement = 'declined') as declined,
        sum(run_rate_change) as value_change
    from int_scorecard_movements
    where status = 'retained' and tier_start = tier_end
    group by scorecard, tier_start
)

select
    scorecards.scorecard,
    tiers.tier_order,
    tiers.tier,
    coalesce(stayed.grew, 0) as grew,
    coalesce(stayed.stable, 0) as stable,
    coalesce(stayed.declined, 0) as declined,
    coalesce(stayed.value_change, 0) as value_change
from int_scorecards as scorecards
cross join tiers
left join stayed on stayed.scorecard = scorecards.scorecard and stayed.tier = tiers.tier
