-- stg_costs — grain: one row per row of the optional costs table (cost-to-serve events).
with settings as (select * from run_settings)

select
    _row,
    clean_text(customer_id) as customer_id,
    cost_date_value is not null or clean_text(cost_date) is not null as cost_date_given,
    in_calendar(coalesce(cost_date_value, to_report_date(clean_text(cost_date), settings.time_zone))) as cost_date,
    amount_value is not null or clean_text(amount) is not null as amount_given,
    coalesce(amount_value, to_money(clean_text(amount))) as amount,
    rounding(clean_text(amount), to_money(clean_text(amount))) as amount_rounding,
    coalesce(clean_text(kind), 'other') as kind
from raw_costs
cross join settings
