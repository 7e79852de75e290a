-- entries.csv: one row per valid time entry, sorted by entry_id
select
    safe_text(e.entry_id) as entry_id, safe_text(e.customer_id) as customer_id, e.status,
    e.work_date::varchar as work_date, e.billable_minutes::varchar as billable_minutes,
    case when e.status = 'charged' then e.covered_minutes::varchar end as covered_minutes,
    case when e.status = 'charged' then money_text(e.value_cents) end as value_amount,
    case when e.status = 'charged' then e.overage_minutes::varchar end as overage_minutes,
    case when e.status = 'charged' then money_text(e.overage_cents) end as overage_amount,
    e.unpriced::varchar as unpriced,
    safe_text(e.block_ids) as block_ids,
    nullif(d.document_numbers, '') as document_numbers
from mart_entries e
left join entry_documents d using (entry_id)
order by e.entry_id
