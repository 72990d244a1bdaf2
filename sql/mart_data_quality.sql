-- mart_data_quality — grain: table × reason. Rows excluded from the metrics (with the money they carry),
-- rows ignored by definition (cancelled orders), and amounts rounded to the cent (with the net change
-- rounding made), for the data-quality notes and metrics.json.
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

    union all

    select
        'orders', 'amount with more than two decimals (rounded to the cent)', 'rounded', count(*),
        sum(amount_rounding)::decimal(38, 2)
    from stg_orders
    where amount_rounding is not null
    having count(*) > 0

    union all

    select
        'costs', 'amount with more than two decimals (rounded to the cent)', 'rounded', count(*),
        sum(amount_rounding)::decimal(38, 2)
    from stg_costs
    where amount_rounding is not null
    having count(*) > 0
)

select * from excluded
