-- billing_rows: one row per entry whose billed amount must change: priced overage now, or
-- billed before, where the target differs from what documents billed so far. Entries billed
-- exactly are left out (on most nights they are nearly all of history).
-- $billing_starts: the cutover (entries worked before it were billed by the previous system);
-- $tz: the business time zone, which decides an entry's posting month.
with billed as (
    select entry_id, sum(amount_cents) as billed_cents, sum(coalesce(minutes, 0)) as billed_minutes
    from document_lines where entry_id is not null group by entry_id
),

entries as (
    -- before the cutover: billed by the previous system, so nothing is owed here
    select * replace (
        case when e.work_date < $billing_starts::date then 0 else e.overage_cents end as overage_cents,
        case when e.work_date < $billing_starts::date then 0 else e.overage_minutes end as overage_minutes)
    from mart_entries e
),

candidates as (
    select e.entry_id, e.customer_id, e.work_date, e."user", e.service, e.description,
           e.hourly_rate_cents as rate_cents, e.value_cents,
           e.billable_minutes - coalesce(e.covered_minutes, 0) as priced_minutes,
           strftime(timezone($tz, to_timestamp(e.posting_epoch)), '%Y-%m') as period,
           case when e.status = 'charged' and e.unpriced then coalesce(b.billed_cents, 0)
                when e.status = 'charged' then e.overage_cents else 0 end as target_cents,
           case when e.status = 'charged' and e.unpriced then coalesce(b.billed_minutes, 0)
                when e.status = 'charged' and e.overage_cents > 0 then e.overage_minutes
                else 0 end as target_minutes,
           coalesce(b.billed_cents, 0) as billed_cents,
           coalesce(b.billed_minutes, 0) as billed_minutes
    from entries e
    left join billed b using (entry_id)
    where (e.status = 'charged' and not e.unpriced and e.overage_cents > 0)
       or b.entry_id is not null
)

select * from candidates
where target_cents is distinct from billed_cents
order by customer_id, entry_id
