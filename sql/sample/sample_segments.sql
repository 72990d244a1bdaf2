-- sample_segments — grain: generated segment. How each segment behaves: its share of customers,
-- whether acquisition grows or shrinks over the years, how fast customers churn (and whether that
-- worsens), order value and rhythm, contracts (explicit closures), seasonality and gross margin.
with catalogue as (
    select * from (
        values
        (1, 'Enterprise', 0.05, 0.0, 0.10, 0.0, 2400.00, 30, true, 0.05, 0.30),
        (2, 'Mid-Market', 0.14, 0.3, 0.18, 0.0, 520.00, 40, false, 0.10, 0.34),
        (3, 'SMB', 0.30, -2.5, 0.25, 2.5, 140.00, 45, false, 0.15, 0.38),
        (4, 'Consumer', 0.36, 1.8, 0.45, 0.0, 48.00, 60, false, 0.35, 0.42),
        (5, 'Public Sector', 0.15, 0.0, 0.12, 0.3, 850.00, 90, true, 0.60, 0.28),
        (6, 'Education', 0.05, 0.4, 0.15, 0.0, 300.00, 75, true, 0.50, 0.33),
        (7, 'Healthcare', 0.05, 0.6, 0.12, 0.0, 700.00, 45, true, 0.05, 0.31),
        (8, 'Retail Partners', 0.06, -0.5, 0.25, 0.5, 260.00, 30, false, 0.40, 0.25),
        (9, 'Marketplace', 0.08, 1.2, 0.50, 0.0, 35.00, 50, false, 0.30, 0.40),
        (10, 'Nonprofit', 0.03, 0.0, 0.20, 0.0, 120.00, 90, false, 0.20, 0.30),
        (11, 'Startups', 0.04, 0.8, 0.55, 0.4, 180.00, 35, false, 0.05, 0.36),
        (12, 'International', 0.06, 0.5, 0.25, 0.0, 400.00, 50, false, 0.20, 0.32)
    ) as t (
        segment_order, segment, share, acquisition_growth, churn_per_year, churn_growth,
        order_value, order_interval_days, is_contract, seasonality, gross_margin
    )
),

chosen as (
    select catalogue.*
    from catalogue
    cross join sample_settings as settings
    where catalogue.segment_order <= settings.segments
)

select
    *,
    coalesce(sum(share) over (order by segment_order rows between unbounded preceding and 1 preceding), 0)
    / sum(share) over () as previous_weight,
    case
        when segment_order = max(segment_order) over () then 1.0
        else sum(share) over (order by segment_order) / sum(share) over ()
    end as cumulative_weight
from chosen
