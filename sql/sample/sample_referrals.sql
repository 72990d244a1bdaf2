-- sample_referrals — grain: generated referral. About 15 % of customers were referred by an earlier
-- customer a few days before signing up; 8 % of customers also referred someone who never bought.
with settings as (select * from sample_settings),

notes as (
    select [
        'Told the whole team about you after the Q2 review.',
        'Switched our sister company over - delivery times sold it.',
        'Recommended you at the regional meetup.',
        'Your support team fixed our problem in a day, so I passed your name on.',
        'A friend asked what we use; I said you, without hesitation.',
        'Great onboarding - worth sharing.',
        'Referred our supplier after they saw our dashboards.',
        'Happy to vouch for you any time.'
    ] as choices
),

converted as (
    select
        referred.customer_id as referred_customer_id,
        referrer.customer_id as referrer_id,
        referred.signup_date - 1 - floor(uniform(settings.seed, referred.id, 'lead') * 20)::integer as referred_at,
        referred.id as key
    from sample_customers as referred
    cross join settings
    join sample_customers as referrer
        on referrer.id = 1 + floor(uniform(settings.seed, referred.id, 'referrer') * settings.customers)::integer
    where uniform(settings.seed, referred.id, 'referred') < 0.3
        and referrer.id <> referred.id
        and referrer.signup_date < referred.signup_date - 45
),

unconverted as (
    select
        null::varchar as referred_customer_id,
        customer_id as referrer_id,
        signup_date + 30 + floor(uniform(settings.seed, id, 'open_lead') * greatest(1, first_life_end - signup_date))::integer
            as referred_at,
        -id as key
    from sample_customers
    cross join settings
    where uniform(settings.seed, id, 'refers') < 0.08
),

together as (
    select * from converted
    union all
    select * from unconverted where referred_at <= (select end_date from settings)
)

select
    'R' || lpad(row_number() over (order by referred_at, key)::varchar, 7, '0') as referral_id,
    referrer_id,
    referred_customer_id,
    referred_at,
    case
        when uniform(settings.seed, key, 'has_note') < 0.6 then pick(notes.choices, settings.seed, key, 'note')
    end as note
from together
cross join settings
cross join notes
