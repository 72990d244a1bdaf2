-- mart_movement_drivers — grain: scorecard × segment × movement (new, reactivated, expansion; lost_lapsed,
-- lost_closed, contraction) for the reported period. How many customers each movement involved, the
-- run-rate it brought or cost, and its share of value gained (or lost), ranked largest first: the
-- narrative names the first of each direction.
with movements as (
    select
        scorecard,
        segment,
        case
            when status in ('new', 'reactivated', 'lost_lapsed', 'lost_closed') then status
            when status = 'retained' and run_rate_change > 0 then 'expansion'
            when status = 'retained' and run_rate_change < 0 then 'contraction'
        end as movement,
        case
            when status in ('new', 'reactivated') then run_rate_end
            when status in ('lost_lapsed', 'lost_closed') then run_rate_start
            else abs(run_rate_change)
        end as value
    from int_scorecard_movements
),

summed as (
    select
        scorecard,
        segment,
        movement,
        case when movement in ('new', 'reactivated', 'expansion') then 'gain' else 'loss' end as direction,
        count(*) as customers,
        sum(value) as value
    from movements
    where movement is not null
    group by scorecard, segment, movement
)

select
    *,
    value / nullif(sum(value) over (partition by scorecard, direction), 0) as share,
    row_number() over (partition by scorecard, direction order by value desc, customers desc, segment asc, movement asc) as rank
from summed
