-- int_segment_numbers — grain: reported segment. Each segment's number in the alphabetical order of the
-- segments, for models that group many rows by segment (a number groups faster than a name).
select
    segment,
    row_number() over (order by segment) as segment_number
from int_scorecards
where scope = 'segment'
