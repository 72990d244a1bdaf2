-- stg_customers — grain: one row per row of the customers table.
-- Typed columns, each with a flag saying whether a value was given, so validation can name the rows
-- whose value does not parse.
with settings as (select * from run_settings)

select
    _row,
    clean_text(customer_id) as customer_id,
    clean_text(name) as name,
    coalesce(clean_text(segment_value), 'Unassigned') as segment,
    created_at_value is not null or clean_text(created_at) is not null as created_at_given,
    in_calendar(coalesce(created_at_value, to_report_date(clean_text(created_at), settings.time_zone))) as created_at,
    closed_at_value is not null or clean_text(closed_at) is not null as closed_at_given,
    in_calendar(coalesce(closed_at_value, to_report_date(clean_text(closed_at), settings.time_zone))) as closed_at,
    clean_text(closed_reason) as closed_reason
from raw_customers
cross join settings
