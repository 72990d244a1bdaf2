-- mart_loss_reasons — grain: scorecard × closure reason. SPEC §3.13: the customers lost because they closed
-- their account in the reported period, by the reason given in customers.closed_reason (blank: "no reason
-- recorded"), with their run-rate at the period start.
select
    members.scorecard,
    coalesce(customers.closed_reason, 'no reason recorded') as reason,
    count(*) as customers,
    sum(members.run_rate_start) as value
from int_scorecard_movements as members
join int_customers as customers on customers.customer_key = members.customer_key
where members.status = 'lost_closed'
group by members.scorecard, coalesce(customers.closed_reason, 'no reason recorded')
