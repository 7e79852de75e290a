-- Analyst views over the last committed run. Quantities are in the block's unit:
-- minutes (hours, unlimited), money (value), incidents (incidents); see `unit`.
create or replace view balances as
select customer_id, block_id, kind, service,
       case kind when 'value' then 'money' when 'incidents' then 'incidents' else 'minutes' end as unit,
       case when kind = 'value' then (purchased_units * 0.01)::decimal(18, 2) else purchased_units end as purchased,
       case when kind = 'value' then (used_units * 0.01)::decimal(18, 2) else used_units end as used,
       case when kind = 'value' then (expired_units * 0.01)::decimal(18, 2) else expired_units end as expired,
       case when kind = 'value' then (remaining_units * 0.01)::decimal(18, 2) else remaining_units end as remaining,
       starts_on, expires_on, purchased_on, status,
       (amount_paid_cents * 0.01)::decimal(18, 2) as amount_paid,
       (breakage_cents * 0.01)::decimal(18, 2) as breakage
from last_balances;

create or replace view entries as
select entry_id, customer_id, status, work_date, billable_minutes, covered_minutes,
       (value_cents * 0.01)::decimal(18, 2) as value_amount, overage_minutes,
       (overage_cents * 0.01)::decimal(18, 2) as overage_amount, unpriced, block_ids,
       to_timestamp(posting_epoch) as authorized_at, "user", service, description, incident_id,
       (hourly_rate_cents * 0.01)::decimal(18, 2) as hourly_rate, source_file, line
from last_entries;

create or replace view ledger as
select customer_id, block_id, entry_id, event, to_timestamp(at_epoch) as at, minutes,
       (cents * 0.01)::decimal(18, 2) as amount, incidents
from last_ledger;

create or replace view breaches as
select customer_id, kind, service, remaining_units, reorder_point_units, auto_invoice
from last_pools
where in_breach;
