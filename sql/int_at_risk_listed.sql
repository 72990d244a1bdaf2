-- int_at_risk_listed — grain: scorecard × rank (top N). The at-risk customers the lists show (SPEC §3.12):
-- by value at risk, highest first, ties by customer_id; ranked in the company and in the segment in one pass.
with settings as (select * from run_settings),

candidates as (
    -- the top N by value at risk in the company and in each segment, ties at the N-th value included: only
    -- these need their customer_id (the order among ties). Whoever the full order puts in a top N is among
    -- them, and so is everyone it puts before them, so numbering the candidates gives the same ranks
    select risk.*
    from (
        select
            *,
            rank() over (order by value_at_risk desc) as company_value_rank,
            rank() over (partition by segment order by value_at_risk desc) as segment_value_rank
        from int_customer_risk
        where flagged_end
    ) as risk
    cross join settings
    where risk.company_value_rank <= settings.top_n or risk.segment_value_rank <= settings.top_n
),

ranked as (
    select
        candidates.* exclude (company_value_rank, segment_value_rank),
        profiles.customer_id,
        row_number() over (order by candidates.value_at_risk desc, profiles.customer_id asc) as company_rank,
        row_number() over (partition by candidates.segment order by candidates.value_at_risk desc, profiles.customer_id asc) as segment_rank
    from candidates
    join int_customer_profiles as profiles on profiles.customer_key = candidates.customer_key
)

select 'company' as scorecard, ranked.company_rank as rank, ranked.* exclude (company_rank, segment_rank)
from ranked
cross join settings
where ranked.company_rank <= settings.top_n
union all
select 'segment:' || ranked.segment, ranked.segment_rank, ranked.* exclude (company_rank, segment_rank)
from ranked
cross join settings
where ranked.segment_rank <= settings.top_n
