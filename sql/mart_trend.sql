-- mart_trend — grain: scorecard × trend period. Gains, losses, both ends of the bridges, the headline and
-- the revenue retention rates for each of the last N periods of the reported kind, ending with the
-- reported period (SPEC §3.7), each marked when its history is short (SPEC §3.10).
select * exclude (is_previous, is_year_ago, in_trend)
from int_period_bridges
where in_trend
