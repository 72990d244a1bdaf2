-- int_scorecards — grain: scorecard. The company scorecard plus one per segment (every segment that
-- has customers, active or not, after small segments are grouped). `scorecard` is the key every mart
-- joins on.
with segments as (
    select distinct segment from int_segments
)

select 'company' as scorecard, 'company' as scope, null::varchar as segment
union all
select 'segment:' || segment, 'segment', segment from segments
