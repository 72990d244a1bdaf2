-- mart_referral_highlights — grain: scorecard × highlight (at most 2). Referrals in the period whose
-- referrer had bought before referring; converted ones first, then by the referred customer's
-- run-rate at period end, then date, then referral id (SPEC §3.6).
with eligible as (
    select 'company' as scorecard, * from int_referrals_in_period where referrer_had_ordered
    union all
    select 'segment:' || referrer_segment, * from int_referrals_in_period where referrer_had_ordered
),

ranked as (
    select
        *,
        row_number() over (
            partition by scorecard
            order by converted desc, referred_value desc nulls last, referred_at asc, referral_sort_key asc
        ) as rank
    from eligible
)

select
    scorecard,
    rank,
    referral_id,
    referrer_id,
    referrer_name,
    referred_customer_id,
    referred_name,
    referred_at,
    referred_value as value,
    note
from ranked
where rank <= 2
