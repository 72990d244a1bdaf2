-- mart_top_lost — grain: scorecard × rank (top N). Lost customers by run-rate at period start, ties by
-- customer_id (SPEC §3.7).
with settings as (select * from run_settings),

ranked as (
    select
        scorecard,
        customer_id,
        run_rate_start as value,
        status,
        row_number() over (partition by scorecard order by run_rate_start desc, customer_id asc) as rank
    from int_scorecard_movements
    where status in ('lost_lapsed', 'lost_closed')
)

select ranked.scorecard, ranked.rank, ranked.customer_id, customers.name, ranked.value, ranked.status
from ranked
cross join settings
join int_customers as customers on customers.customer_id = ranked.customer_id
where ranked.rank <= settings.top_n
