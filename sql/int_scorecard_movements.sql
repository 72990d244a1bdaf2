-- int_scorecard_movements — grain: scorecard × customer (reported period). Where each customer came from
-- and went to (SPEC §3.5), and how retained customers' purchases changed (SPEC §3.4).
with settings as (select * from run_settings),

tiered as (
    select
        members.*,
        case
            when not members.active_start then null
            when members.run_rate_start >= tiers.top_threshold then 'top'
            when members.run_rate_start >= tiers.core_threshold then 'core'
            else 'base'
        end as tier_start,
        case
            when not members.active_end then null
            when members.run_rate_end >= tiers.top_threshold then 'top'
            when members.run_rate_end >= tiers.core_threshold then 'core'
            else 'base'
        end as tier_end
    from int_scorecard_customers as members
    join int_scorecard_tiers as tiers on tiers.scorecard = members.scorecard
)

select
    tiered.*,
    case
        when tiered.status in ('new', 'reactivated') then tiered.status
        else tiered.tier_start
    end as from_state,
    case
        when tiered.active_end then tiered.tier_end
        when tiered.active_start then 'lost'
    end as to_state,
    -- The change is compared exactly at the threshold product's own type: with mixed decimal types whose
    -- common type needs more than 38 digits, some engines (Spark) would round the product to cents.
    case
        when tiered.status <> 'retained' then null
        when tiered.run_rate_change::decimal(38, 8) > settings.change_threshold * tiered.run_rate_start then 'grew'
        when tiered.run_rate_change::decimal(38, 8) < -settings.change_threshold * tiered.run_rate_start then 'declined'
        else 'stable'
    end as engagement,
    tiered.status = 'retained' and tiered.purchases_before_end < tiered.purchases_before_start
        as ordering_less_often
from tiered
cross join settings
