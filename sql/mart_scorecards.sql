-- mart_scorecards — grain: scorecard (company and each segment) for the reported period.
-- The customer bridge, value bridge, engagement and rates of SPEC §3.2–§3.4, plus tier thresholds and
-- referral counts. Money stays DECIMAL; a rate whose denominator is 0 is NULL.
with movements as (select * from int_scorecard_movements),

counts as (
    select
        scorecards.scorecard,
        count(*) filter (where active_start) as customers_start,
        count(*) filter (where status = 'new') as customers_new,
        count(*) filter (where status = 'reactivated') as customers_reactivated,
        count(*) filter (where status in ('lost_lapsed', 'lost_closed')) as customers_lost,
        count(*) filter (where status = 'lost_lapsed') as customers_lost_lapsed,
        count(*) filter (where status = 'lost_closed') as customers_lost_closed,
        count(*) filter (where active_end) as customers_end,
        count(*) filter (where status = 'retained') as customers_retained,
        count(*) filter (where engagement = 'grew') as customers_grew,
        count(*) filter (where engagement = 'stable') as customers_stable,
        count(*) filter (where engagement = 'declined') as customers_declined,
        count(*) filter (where ordering_less_often) as customers_ordering_less_often,
        count(*) filter (where status = 'in_and_out') as customers_in_and_out,
        coalesce(sum(run_rate_start) filter (where active_start), 0) as value_start,
        coalesce(sum(run_rate_end) filter (where status = 'new'), 0) as value_new,
        coalesce(sum(run_rate_end) filter (where status = 'reactivated'), 0) as value_reactivated,
        coalesce(sum(run_rate_change) filter (where status = 'retained' and run_rate_change > 0), 0) as value_expansion,
        coalesce(-sum(run_rate_change) filter (where status = 'retained' and run_rate_change < 0), 0) as value_contraction,
        coalesce(sum(run_rate_start) filter (where status in ('lost_lapsed', 'lost_closed')), 0) as value_lost,
        coalesce(sum(run_rate_start) filter (where status = 'lost_lapsed'), 0) as value_lost_lapsed,
        coalesce(sum(run_rate_start) filter (where status = 'lost_closed'), 0) as value_lost_closed,
        coalesce(sum(run_rate_end) filter (where active_end), 0) as value_end,
        coalesce(sum(run_rate_end) filter (where engagement = 'grew'), 0) as value_grew,
        coalesce(sum(run_rate_end) filter (where engagement = 'stable'), 0) as value_stable,
        coalesce(sum(run_rate_end) filter (where engagement = 'declined'), 0) as value_declined,
        coalesce(sum(run_rate_end) filter (where ordering_less_often), 0) as value_ordering_less_often,
        coalesce(sum(run_rate_change) filter (where engagement = 'grew'), 0) as change_grew,
        coalesce(sum(run_rate_change) filter (where engagement = 'declined'), 0) as change_declined
    from int_scorecards as scorecards
    left join movements on movements.scorecard = scorecards.scorecard
    group by scorecards.scorecard
),

referral_counts as (
    select * from int_scorecard_referral_counts
),

final as (
    select
        scorecards.scorecard,
        scorecards.scope,
        scorecards.segment,
        counts.* exclude (scorecard),
        counts.customers_new + counts.customers_reactivated as customers_gained,
        counts.customers_new + counts.customers_reactivated - counts.customers_lost as customers_net,
        counts.customers_retained / nullif(counts.customers_start, 0) as logo_retention,
        counts.customers_lost / nullif(counts.customers_start, 0) as logo_churn,
        (counts.value_start - counts.value_contraction - counts.value_lost) / nullif(counts.value_start, 0) as grr,
        (counts.value_start + counts.value_expansion - counts.value_contraction - counts.value_lost)
        / nullif(counts.value_start, 0) as nrr,
        (counts.customers_new + counts.customers_reactivated) / nullif(counts.customers_lost, 0) as gain_loss_ratio,
        tiers.core_threshold,
        tiers.top_threshold,
        referral_counts.referrals_made,
        referral_counts.referrers,
        referral_counts.referred_new_customers,
        referral_counts.referred_new_value
    from int_scorecards as scorecards
    join counts on counts.scorecard = scorecards.scorecard
    join int_scorecard_tiers as tiers on tiers.scorecard = scorecards.scorecard
    join referral_counts on referral_counts.scorecard = scorecards.scorecard
)

select * from final
