-- stg_orders — grain: one row per row of the orders table (cancelled ones included, flagged).
-- Amounts become DECIMAL(18,2): money is exact, never float; sub-cent digits round half away from zero,
-- and amount_rounding keeps what that moved, for the data-quality notes.
-- Typed sources arrive ready in `<column>_value` (see source.py); text is parsed here.
with settings as (select * from run_settings)

select
    _row,
    clean_text(order_id) as order_id,
    clean_text(customer_id) as customer_id,
    order_date_value is not null or clean_text(order_date) is not null as order_date_given,
    in_calendar(coalesce(order_date_value, to_report_date(clean_text(order_date), settings.time_zone))) as order_date,
    amount_value is not null or clean_text(amount) is not null as amount_given,
    coalesce(amount_value, to_money(clean_text(amount))) as amount,
    rounding(clean_text(amount), to_money(clean_text(amount))) as amount_rounding,
    coalesce(lower(clean_text(status)) = 'cancelled', false) as is_cancelled,
    clean_text(currency) as currency,
    margin_value is not null or clean_text(margin) is not null as margin_given,
    coalesce(margin_value, try_cast(clean_text(margin) as decimal(9, 6))) as margin
from raw_orders
cross join settings
