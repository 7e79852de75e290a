-- late_adjustments.csv: one row per entry of an earlier closed period whose charge changed
-- after that close and is posted in this period, sorted by (customer_id, entry_id);
-- minutes and amounts are the change against the figures frozen at that close.
select
    safe_text(customer_id) as customer_id, safe_text(entry_id) as entry_id,
    work_date::varchar as work_date, posted_on::varchar as posted_on, period as posted_in,
    reason, covered_minutes::varchar as covered_minutes, money_text(value_cents) as value_amount,
    overage_minutes::varchar as overage_minutes, money_text(overage_cents) as overage_amount
from close_late_adjustments
where run_id = (select run_id from close_params)
order by customer_id, entry_id
