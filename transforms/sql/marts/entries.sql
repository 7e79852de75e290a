-- entries: one row per valid time entry with its status and what allocation did with it.
with entries as (
    select * from int_entries
),

results as (
    select * from alloc_results
),

final as (
    select
        e.entry_id, e.customer_id, e.status, e.work_date, e.billable_minutes,
        r.covered_minutes, r.value_cents, r.overage_minutes, r.overage_cents,
        coalesce(r.unpriced, false) as unpriced,
        coalesce(r.block_ids, '') as block_ids,
        e.posting_epoch, e.hourly_rate_cents, e."user", e.service, e.description,
        e.incident_id, e.billed_elsewhere, e.started_epoch, e.duration_seconds,
        e.source_file, e.line
    from entries e
    left join results r using (entry_id)
)

select * from final
