-- mart_data_quality — grain: table × reason. Rows excluded from the metrics (with the money they carry)
-- and rows ignored by definition (cancelled orders), for the data-quality notes and metrics.json.
with excluded as (
    select
        'customers' as input_table, 'customer with no customer_id' as reason, 'excluded' as kind,
        count(*) as rows, null::decimal(38, 2) as amount
    from stg_customers
    where customer_id is null
    having count(*) > 0

    union all

    select 'orders', exclusion_reason, 'excluded', count(*), sum(amount)
    from int_orders_checked
    where exclusion_reason is not null
    group by exclusion_reason

    union all

    select 'orders', 'cancelled order (ignored by definition)', 'ignored', count(*), sum(amount)
    from int_orders_checked
    where is_cancelled
    having count(*) > 0

    union all

    select 'referrals', exclusion_reason, 'excluded', count(*), null
    from int_referrals_checked
    where exclusion_reason is not null
    group by exclusion_reason

    union all

    select 'costs', exclusion_reason, 'excluded', count(*), sum(amount)
    from int_costs_checked
    where exclusion_reason is not null
    group by exclusion_reason
)

select * from excluded
