-- int_scorecard_customers — grain: scorecard × customer, for the reported period (the last trend period).
-- Every customer appears once in the company scorecard and once in its segment's.
with reported as (
    select
        periods.*,
        profiles.customer_id
    from int_customer_periods as periods
    join int_customer_profiles as profiles on profiles.customer_key = periods.customer_key
    where periods.period_index = (select max(period_index) from run_periods)
)

select 'company' as scorecard, reported.* from reported
union all
select 'segment:' || reported.segment, reported.* from reported
