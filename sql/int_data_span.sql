-- int_data_span — grain: one row. The dates of the first and last orders that count (not cancelled, not
-- excluded): run-rates before data_from + W look back over less than a full window (short history).
select
    min(order_date) as data_from,
    max(order_date) as data_through
from int_orders
