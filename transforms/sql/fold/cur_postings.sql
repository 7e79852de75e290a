-- cur_postings: one row per charged entry, as the allocation fold reads it (SPEC §3): the
-- posting order is (posting_epoch, started_epoch, entry_id) within the customer.
select
    customer_id, entry_id, service, (work_date - date '1970-01-01')::bigint as work_day,
    posting_epoch, billable_minutes as minutes, incident_id, hourly_rate_cents as rate_cents,
    started_epoch
from int_entries
where status = 'charged'
