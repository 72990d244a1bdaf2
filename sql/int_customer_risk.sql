-- int_customer_risk — grain: customer active at the reported period's start or end. From the BG/NBD fits
-- (run_risk_models; a fit that did not converge has no row, and then its figures here are NULL): the
-- chance that the customer is still buying (p_alive, eq. 13 of Fader, Hardie and Lee 2005) and the chance
-- of no purchase in the next L days, L = the period's length (SPEC §3.12):
-- p_quiet = (1 − p_alive) + p_alive · ((α + T) / (α + T + L))^(r + x),
-- at the end (the at-risk flag) and at the start (the backtest's flag). `quiet` is the backtest's outcome:
-- no order with amount > 0 dated in the period. Closed customers have run-rate 0, so they are never
-- active here: lost, not at risk.
with settings as (select * from run_settings),

reported as (
    select start_date, end_date, date_diff('day', start_date, end_date) as horizon_days
    from run_periods
    where period_index = (select max(period_index) from run_periods)
),

end_model as (select * from run_risk_models where fit = 'end'),

start_model as (select * from run_risk_models where fit = 'start'),

members as (
    select
        periods.customer_key,
        periods.segment,
        periods.active_start,
        periods.active_end,
        periods.run_rate_end,
        periods.purchases_in_period = 0 as quiet,
        histories.* exclude (customer_key)
    from int_customer_periods as periods
    join int_purchase_histories as histories on histories.customer_key = periods.customer_key
    where periods.period_index = (select max(period_index) from run_periods)
        and (periods.active_start or periods.active_end)
),

log_terms as (
    -- ln of the odds of having dropped out (capped so exp() stays finite: p_alive < e^−700 is 0), and ln of
    -- the chance of no purchase in L days if still buying
    select
        members.*,
        case
            when members.active_end and members.x_end > 0
                then least(
                        700,
                        ln(end_model.a / (end_model.b + members.x_end - 1))
                        + (end_model.r + members.x_end) * (ln(end_model.alpha + members.t_end) - ln(end_model.alpha + members.t_x_end))
                    )
        end as log_odds_dropped_end,
        case
            when members.active_end
                then (end_model.r + members.x_end)
                    * (ln(end_model.alpha + members.t_end) - ln(end_model.alpha + members.t_end + reported.horizon_days))
        end as log_none_alive_end,
        case
            when members.active_start and members.x_start > 0
                then least(
                        700,
                        ln(start_model.a / (start_model.b + members.x_start - 1))
                        + (start_model.r + members.x_start)
                        * (ln(start_model.alpha + members.t_start) - ln(start_model.alpha + members.t_x_start))
                    )
        end as log_odds_dropped_start,
        case
            when members.active_start
                then (start_model.r + members.x_start)
                    * (ln(start_model.alpha + members.t_start) - ln(start_model.alpha + members.t_start + reported.horizon_days))
        end as log_none_alive_start
    from members
    cross join reported
    left join end_model on true
    left join start_model on true
),

alive as (
    select
        *,
        case
            when log_none_alive_end is null then null
            when x_end = 0 then 1.0
            else 1 / (1 + exp(log_odds_dropped_end))
        end as p_alive_end,
        case
            when log_none_alive_start is null then null
            when x_start = 0 then 1.0
            else 1 / (1 + exp(log_odds_dropped_start))
        end as p_alive_start
    from log_terms
),

quiet as (
    select
        *,
        (1 - p_alive_end) + p_alive_end * exp(log_none_alive_end) as p_quiet_end,
        (1 - p_alive_start) + p_alive_start * exp(log_none_alive_start) as p_quiet_start
    from alive
)

select
    quiet.customer_key,
    quiet.segment,
    quiet.active_start,
    quiet.active_end,
    quiet.run_rate_end,
    quiet.quiet,
    quiet.last_purchase_end,
    quiet.p_alive_end,
    quiet.p_quiet_end,
    coalesce(quiet.p_quiet_end >= settings.risk_threshold, false) as flagged_end,
    -- round(x, 2) as round(x · 100) / 100: what DuckDB computes for a double, spelled so that Spark computes it too
    (round(quiet.run_rate_end * quiet.p_quiet_end * 100) / 100)::decimal(38, 2) as value_at_risk,
    quiet.p_quiet_start,
    coalesce(quiet.p_quiet_start >= settings.risk_threshold, false) as flagged_start
from quiet
cross join settings
