-- mart_migration — grain: scorecard × from-state × to-state: all 20 cells of SPEC §3.5, zeros included.
-- from ∈ new, reactivated, base, core, top; to ∈ base, core, top, lost. Value is RR(c, e), or RR(c, s)
-- for customers lost.
with from_states as (
    select * from (values (1, 'new'), (2, 'reactivated'), (3, 'base'), (4, 'core'), (5, 'top')) as t (from_order, from_state)
),

to_states as (
    select * from (values (1, 'base'), (2, 'core'), (3, 'top'), (4, 'lost')) as t (to_order, to_state)
),

cells as (
    select
        scorecard,
        from_state,
        to_state,
        count(*) as customers,
        sum(case when to_state = 'lost' then run_rate_start else run_rate_end end) as value
    from int_scorecard_movements
    where from_state is not null and to_state is not null
    group by scorecard, from_state, to_state
)

select
    scorecards.scorecard,
    from_states.from_order,
    from_states.from_state,
    to_states.to_order,
    to_states.to_state,
    coalesce(cells.customers, 0) as customers,
    coalesce(cells.value, 0) as value
from int_scorecards as scorecards
cross join from_states
cross join to_states
left join cells
    on cells.scorecard = scorecards.scorecard
    and cells.from_state = from_states.from_state
    and cells.to_state = to_states.to_state
