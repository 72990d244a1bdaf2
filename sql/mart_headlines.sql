-- mart_headlines — grain: scorecard × comparison (reported, previous, year_ago). The headline figures of
-- the reported period and of the periods it is compared with: the period just before it, and the same
-- period a year earlier (SPEC §3.9). A comparison period the data does not cover has no row.
with roles as (
    select 'reported' as comparison, * from int_period_bridges where is_reported
    union all
    select 'previous', * from int_period_bridges where is_previous and covered
    union all
    select 'year_ago', * from int_period_bridges where is_year_ago and covered
)

select * exclude (in_trend, is_previous, is_year_ago, is_reported)
from roles
