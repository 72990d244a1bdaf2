-- sample_costs — grain: generated cost-to-serve event. Shipping on every purchase, handling on every
-- refund, onboarding for contract customers, and support contacts: a few for most customers, many for
-- the 12 % who are expensive to serve — so the whale curve has a real peak.
with settings as (select * from sample_settings),

shipping as (
    select customer_id, order_date as cost_date, round(4.50 + 0.03 * amount, 2)::decimal(18, 2) as amount, 'shipping' as kind
    from sample_orders
    where amount > 0 and status <> 'cancelled'
),

returns as (
    select customer_id, order_date as cost_date, round(12.00 + 0.05 * -amount, 2)::decimal(18, 2), 'returns'
    from sample_orders
    where amount < 0
),

onboarding as (
    select customer_id, signup_date, 650.00::decimal(18, 2), 'onboarding'
    from sample_customers
    where is_contract
),

support_needs as (
    select
        customers.*,
        case
            when uniform(settings.seed, customers.id, 'needy') < 0.12
                then 6 + floor(uniform(settings.seed, customers.id, 'contacts') * 30)::integer
            else floor(uniform(settings.seed, customers.id, 'contacts') * 3)::integer
        end as contacts
    from sample_customers as customers
    cross join settings
),

support as (
    select
        customer_id,
        signup_date + floor(
            uniform(seed, id, 'contact_date' || contact) * greatest(1, least(first_life_end, end_date) - signup_date)
        )::integer as cost_date,
        round(18 + uniform(seed, id, 'contact_cost' || contact) * 40, 2)::decimal(18, 2),
        'support'
    from support_needs
    cross join unnest(range(contacts)) as numbers(contact)
)

select * from shipping
union all select * from returns
union all select * from onboarding
union all select * from support
