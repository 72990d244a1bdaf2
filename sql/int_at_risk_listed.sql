-- int_at_risk_listed — grain: scorecard × rank (top N). The at-risk customers the lists show (SPEC §3.12):
-- by value at risk, highest first, ties by customer_id; ranked in the company and in the segment in one pass.
with settings as (select * from run_settings),

ranked as (
    select
        *,
        row_number() over (order by value_at_risk desc, customer_id asc) as company_rank,
        row_number() over (partition by segment order by value_at_risk desc, customer_id asc) as segment_rank
    from int_customer_risk
    where flagged_end
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
