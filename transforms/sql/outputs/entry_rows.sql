-- entry_rows (temp table): one row per valid time entry, as entries.csv writes it, with the
-- numbers of the documents that billed it, in no order. entries.csv sorts it in a query of its
-- own: a join and a sort in one query hold the join's table while the sort needs memory, and
-- the 10M night ran out of DuckDB's 1 GB there; apart, each spills.
create or replace temp table entry_rows as
select
    e.entry_id as sort_id,
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
