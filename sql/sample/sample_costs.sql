-- sample_costs — grain: generated cost-to-serve event. Shipping on every purchase (a fixed part that
-- small orders feel most), handling on every refund, onboarding for contract customers, account
-- management for high-touch contract customers, and support contacts: a few for most customers, many for
-- the 15 % who are expensive to serve. So a minority destroys value and the whale curve has a real peak.
-- A sample made in chunks of order dates draws the per-customer costs with its first chunk only.
with settings as (select * from sample_settings),

shipping as (
    select customer_id, order_date as cost_date, round(6.90 + 0.04 * amount, 2)::decimal(18, 2) as amount, 'shipping' as kind
    from sample_orders
    where amount > 0 and status <> 'cancelled'
),

returns as (
    select customer_id, order_date as cost_date, round(25.00 + 0.10 * -amount, 2)::decimal(18, 2), 'returns'
    from sample_orders
    where amount < 0
),

onboarding as (
    select customers.customer_id, customers.signup_date, 900.00::decimal(18, 2), 'onboarding'
    from sample_customers as customers
    cross join settings
    where customers.is_contract and settings.customer_costs
),

account_management as (
    -- quarterly, 5–15 % of the customer's usual quarterly spend
    select
        customers.customer_id,
        customers.signup_date + (91 * quarter_number)::integer as cost_date,
        round(
            customers.order_value * 91 / customers.interval_days
            * (0.05 + 0.10 * uniform(customers.seed, customers.id, 'account' || quarter_number)), 2
        )::decimal(18, 2),
        'account management'
    from sample_customers as customers
    cross join
        unnest(range(greatest(0, (least(customers.first_life_end, customers.end_date) - customers.signup_date) // 91)::integer))
            as quarters (quarter_number)
    cross join settings
    where customers.is_contract and uniform(customers.seed, customers.id, 'high_touch') < 0.3 and settings.customer_costs
),

support_needs as (
    select
        customers.*,
        uniform(settings.seed, customers.id, 'needy') < 0.15 as needy,
        case
            when uniform(settings.seed, customers.id, 'needy') < 0.15
                then 10 + floor(uniform(settings.seed, customers.id, 'contacts') * 40)::integer
            else floor(uniform(settings.seed, customers.id, 'contacts') * 4)::integer
        end as contacts
    from sample_customers as customers
    cross join settings
    where settings.customer_costs
),

support as (
    select
        customer_id,
        signup_date + floor(
            uniform(seed, id, 'contact_date' || contact) * greatest(1, least(first_life_end, end_date) - signup_date)
        )::integer as cost_date,
        round(case when needy then 60 + uniform(seed, id, 'contact_cost' || contact) * 100
            else 25 + uniform(seed, id, 'contact_cost' || contact) * 40
        end, 2)::decimal(18, 2),
        'support'
    from support_needs
    cross join unnest(range(contacts)) as numbers (contact)
)

select * from shipping
union all
select * from returns
union all
select * from onboarding
union all
select * from account_management
union all
select * from support
