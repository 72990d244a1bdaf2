-- mart_top_decliners — grain: scorecard × rank (top N). Retained customers who declined (SPEC §3.4),
-- largest fall in run-rate first, ties by customer_id (SPEC §3.7).
with settings as (select * from run_settings),

ranked as (
    select
        scorecard,
        customer_id,
        run_rate_change as change,
        run_rate_start,
        run_rate_end,
        row_number() over (partition by scorecard order by run_rate_change, customer_id) as rank
    from int_scorecard_movements
    where engagement = 'declined'
)

select ranked.* exclude (rank), ranked.rank, customers.name
from ranked
cross join settings
join int_customers as customers on customers.customer_id = ranked.customer_id
where ranked.rank <= settings.top_n
