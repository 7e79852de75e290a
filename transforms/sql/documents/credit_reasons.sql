-- credit_reasons: one row per entry to credit ($entry_ids), with why it is billed less now;
-- the first that applies: entry_superseded (a later version makes it no longer charged),
-- entry_changed, rate_changed (same minutes at another rate), block_covers (a block bought
-- after the invoice now covers it).
-- {superseded}: the supersessions column naming the entry (`s.entry_id`, or `s.id` where
-- blocks are superseded too, with {only_entries} keeping the entry rows: `s.kind = 'entry' and`).
with billed as (
    select l.entry_id, sum(coalesce(l.minutes, 0)) as billed_minutes,
           arg_max(l.rate_cents, d.run_id * 1000000 + d.seq) as billed_rate_cents,
           max(d.run_id) as billed_run_id
    from document_lines l join documents d using (number)
    where l.entry_id in (select unnest($entry_ids::varchar[])) and d.kind <> 'credit_note'
    group by l.entry_id
),

newer as (
    select {superseded} as entry_id, max(f.run_id) as changed_run_id
    from supersessions s join files f on f.source_file = s.superseded_by_file
    where {only_entries} {superseded} in (select unnest($entry_ids::varchar[]))
    group by 1
)

select e.entry_id,
       case when e.status <> 'charged' and n.entry_id is not null then 'entry_superseded'
            when e.status <> 'charged' then 'entry_changed'
            when n.changed_run_id > b.billed_run_id then 'entry_changed'
            when e.hourly_rate_cents is distinct from b.billed_rate_cents
                 and coalesce(e.overage_minutes, 0) = b.billed_minutes then 'rate_changed'
            when e.block_ids <> '' then 'block_covers'
            else 'entry_changed' end as reason
from mart_entries e join billed b using (entry_id) left join newer n using (entry_id)
