-- sample_customers — grain: generated customer. Segment, signup date (denser later for growing
-- segments, earlier for shrinking ones), first and optional win-back lifetime, order rhythm and value,
-- and an explicit closure (with its reason, usually) for contract segments.
with settings as (
    select *, end_date - start_date as span_days from sample_settings
),

ids as (
    select range + 1 as id
    from range((select customers from sample_settings))
),

with_segment as (
    select
        ids.id,
        segments.segment_order
    from ids
    cross join settings
    join sample_segments as segments
        on uniform(settings.seed, ids.id, 'segment') >= segments.previous_weight
        and uniform(settings.seed, ids.id, 'segment') < segments.cumulative_weight
),

drawn as (
    select
        with_segment.id,
        segments.*,
        settings.seed,
        settings.start_date,
        settings.end_date,
        settings.span_days,
        uniform(settings.seed, with_segment.id, 'signup') as u_signup,
        uniform(settings.seed, with_segment.id, 'life') as u_life,
        uniform(settings.seed, with_segment.id, 'winback') as u_winback,
        uniform(settings.seed, with_segment.id, 'gap') as u_gap,
        uniform(settings.seed, with_segment.id, 'life2') as u_life2,
        normal(settings.seed, with_segment.id, 'interval') as z_interval,
        normal(settings.seed, with_segment.id, 'value') as z_value
    from with_segment
    join sample_segments as segments on segments.segment_order = with_segment.segment_order
    cross join settings
),

timed as (
    select
        *,
        -- inverse CDF of a signup density proportional to exp(growth · t) over the sample span
        case
            when acquisition_growth = 0 then u_signup
            else ln(1 + u_signup * (exp(acquisition_growth) - 1)) / acquisition_growth
        end as signup_fraction
    from drawn
),

lives as (
    select
        *,
        start_date + floor(signup_fraction * span_days)::integer as signup_date,
        churn_per_year * (1 + churn_growth * signup_fraction) as hazard
    from timed
),

final as (
    select
        id,
        'C' || lpad(id::varchar, 7, '0') as customer_id,
        segment,
        segment_order,
        is_contract,
        seasonality,
        gross_margin,
        signup_date,
        signup_date + greatest(20, floor(-ln(1 - u_life) / hazard * 365))::integer as first_life_end,
        u_winback < 0.35 as may_win_back,
        floor(200 + u_gap * 500)::integer as winback_gap_days,
        greatest(60, floor(-ln(1 - u_life2) / (hazard * 1.5) * 365))::integer as second_life_days,
        greatest(7, 1.25 * order_interval_days * exp(0.45 * z_interval)) as interval_days,
        order_value * exp(0.6 * z_value) as order_value,
        end_date,
        seed
    from lives
)

select
    final.*,
    case
        when final.is_contract and final.first_life_end + 20 < final.end_date then final.first_life_end + 20
    end as closed_at,
    -- why a closed account closed: mostly price and competitors, and for about one in eight nobody wrote it down
    case
        when final.is_contract and final.first_life_end + 20 < final.end_date
            then
                case
                    when uniform(final.seed, final.id, 'reason') < 0.30 then 'Price'
                    when uniform(final.seed, final.id, 'reason') < 0.55 then 'Moved to a competitor'
                    when uniform(final.seed, final.id, 'reason') < 0.70 then 'Budget cut'
                    when uniform(final.seed, final.id, 'reason') < 0.80 then 'Service problems'
                    when uniform(final.seed, final.id, 'reason') < 0.88 then 'No longer needed'
                end
    end as closed_reason,
    case
        when final.may_win_back and final.first_life_end + final.winback_gap_days < final.end_date
            then final.first_life_end + final.winback_gap_days
    end as second_life_start,
    case
        when segment in ('Consumer', 'Marketplace')
            then pick([
                    'Anna', 'Ben', 'Chloé', 'Dmitri', 'Elif', 'Farah', 'Gustav', 'Hana', 'Ivan', 'Jana', 'Kofi',
                    'Lena', 'Mateo', 'Nora', 'Omar', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Yusuf'
                ],
                seed, id, 'first')
                || ' '
                || pick([
                    'Adeyemi', 'Berger', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Hughes', 'Ivanova',
                    'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Novak', 'O''Brien', 'Petrov', 'Rossi', 'Schmidt',
                    'Tanaka', 'Weber'
                ],
                seed, id, 'last')
        else pick([
                'Alder', 'Birch', 'Cobalt', 'Delta', 'Ember', 'Fjord', 'Granite', 'Harbor', 'Iris', 'Juniper',
                'Kestrel', 'Lumen', 'Meridian', 'Nimbus', 'Orchid', 'Pioneer', 'Quarry', 'Ridge', 'Summit',
                'Tundra', 'Vertex', 'Willow'
            ],
            seed, id, 'first')
            || ' '
            || pick([
                'Analytics', 'Bakery', 'Clinic', 'Logistics', 'Foods', 'Labs', 'Media', 'Motors', 'Partners',
                'Robotics', 'Studios', 'Systems', 'Textiles', 'Works'
            ],
            seed, id, 'second')
            || ' '
            || pick(['Ltd', 'GmbH', 'SA', 'BV', 'Inc', 'AB', 'Oy', 'SRL'], seed, id, 'legal')
    end as name
from final
