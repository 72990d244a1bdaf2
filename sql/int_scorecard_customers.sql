-- int_scorecard_customers — grain: scorecard × customer, for the reported period (the last trend period).
-- Every customer appears once in the company scorecard and once in its segment's.
with reported as (
    select *
    from int_customer_periods
    where period_index = (select max(period_index) from run_periods)
)

select 'company' as scorecard, reported.* from reported
union all
select 'segment:' || reported.segment, reported.* from reported
