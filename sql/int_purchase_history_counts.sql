-- int_purchase_history_counts — grain: fit × distinct (x, t_x, t). How many customers share each purchase
-- history at the period's end ('end': the at-risk list) and start ('start': the backtest): what the BG/NBD
-- fits read (a million customers have far fewer distinct histories).
select 'end' as fit, x_end as x, t_x_end as t_x, t_end as t, count(*) as customers
from int_purchase_histories
group by x_end, t_x_end, t_end
union all
select 'start', x_start, t_x_start, t_start, count(*)
from int_purchase_histories
where x_start is not null
group by x_start, t_x_start, t_start
