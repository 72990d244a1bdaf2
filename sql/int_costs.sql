-- int_costs — grain: cost event. The usable cost-to-serve events.
select
    customer_id,
    cost_date,
    amount,
    kind
from int_costs_checked
where exclusion_reason is null
    and cost_date is not null
    and amount is not null
