-- sample_orders — grain: generated order row. Purchases at each customer's rhythm through each of their
-- lifetimes, with seasonal amounts, the segment's gross margin (±5 points), 2 % cancelled orders and
-- 4 % later refunds (negative amounts).
-- Large samples are made in chunks of order dates (sample_settings: orders dated chunk_from–chunk_to, numbered
-- after order_offset earlier ones; each refund goes with its order's chunk). Only the purchase numbers that
-- can fall in the chunk are drawn, and every draw depends on (seed, customer, purchase) alone, so the chunks
-- together are exactly the one-chunk sample.
with settings as (select chunk_from, chunk_to, order_offset from sample_settings),

all_lives as (
    select
        id, customer_id, seed, end_date, seasonality, gross_margin, interval_days, order_value, 1 as life,
        signup_date as life_start, least(first_life_end, end_date) as life_end
    from sample_customers
    union all
    select
        id, customer_id, seed, end_date, seasonality, gross_margin, interval_days, order_value, 2,
        second_life_start, least(second_life_start + second_life_days, end_date)
    from sample_customers
    where second_life_start is not null
),

lives as (
    -- purchase k falls within 0.3 intervals (and a day) of life_start + k · interval, never before life_start
    select
        all_lives.*,
        greatest(1, ceil((all_lives.life_end - all_lives.life_start) / all_lives.interval_days))::integer as purchases,
        greatest(0, floor((settings.chunk_from - all_lives.life_start) / all_lives.interval_days - 1))::integer as first_candidate,
        ceil((settings.chunk_to - all_lives.life_start) / all_lives.interval_days + 1)::integer as last_candidate
    from all_lives
    cross join settings
),

purchases as (
    select
        lives.*,
        purchase_number,
        lives.life_start + floor(
            purchase_number * lives.interval_days
            + (uniform(lives.seed, lives.id, 'jitter' || lives.life || ':' || purchase_number) - 0.5) * lives.interval_days * 0.6
        )::integer as order_date
    from lives
    cross join unnest(range(lives.first_candidate, least(lives.purchases, lives.last_candidate + 1))) as numbers (purchase_number)
),

priced as (
    select
        customer_id,
        id,
        seed,
        life,
        purchase_number,
        greatest(order_date, life_start) as order_date,
        end_date,
        round(
            order_value
            * (1 + seasonality * cos(2 * pi() * (month(greatest(order_date, life_start)) - 11.5) / 12))
            * exp(0.25 * normal(seed, id, 'amount' || life || ':' || purchase_number)),
            2
        )::decimal(18, 2) as amount,
        round(gross_margin - 0.05 + 0.1 * uniform(seed, id, 'margin' || life || ':' || purchase_number), 3)::decimal(5, 3) as margin,
        uniform(seed, id, 'status' || life || ':' || purchase_number) as u_status,
        uniform(seed, id, 'refund' || life || ':' || purchase_number) as u_refund,
        uniform(seed, id, 'refund_size' || life || ':' || purchase_number) as u_refund_size
    from purchases
    cross join settings
    where greatest(order_date, life_start) <= end_date
        and greatest(order_date, life_start) between settings.chunk_from and settings.chunk_to
),

counted as (
    select
        priced.*,
        (settings.order_offset + row_number() over (order by priced.order_date, priced.id, priced.life, priced.purchase_number))::varchar
            as order_number
    from priced
    cross join settings
),

numbered as (
    select
        *,
        'O' || lpad(order_number, greatest(8, length(order_number))::integer, '0') as order_id
    from counted
),

refunds as (
    select
        order_id || '-R' as order_id,
        customer_id,
        order_date + 3 + floor(u_refund * 500)::integer % 20 as order_date,
        -round(amount * (0.2 + 0.8 * u_refund_size), 2)::decimal(18, 2) as amount,
        margin,
        'completed' as status,
        end_date
    from numbered
    where u_refund < 0.04 and u_status >= 0.02
)

select order_id, customer_id, order_date, amount, margin, case when u_status < 0.02 then 'cancelled' else 'completed' end as status
from numbered
union all
select order_id, customer_id, order_date, amount, margin, status
from refunds
where order_date <= end_date
