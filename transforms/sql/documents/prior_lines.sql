-- prior_lines: one row per (entry, invoice that billed it) for the entries to credit
-- ($entry_ids), newest invoice first, with what is left to credit on that invoice (its line
-- net of credit notes already applied to it) and what it first billed.
with invoice_lines as (
    select l.entry_id, l.number, d.issued_on, d.run_id, d.seq, l.amount_cents
    from document_lines l join documents d using (number)
    where l.entry_id in (select unnest($entry_ids::varchar[])) and d.kind <> 'credit_note'
),

credited as (
    select entry_id, corrects as number, sum(amount_cents) as credited_cents
    from document_lines
    where entry_id is not null and corrects is not null
    group by entry_id, corrects
)

select i.entry_id, i.number, i.amount_cents + coalesce(c.credited_cents, 0) as amount_cents,
       i.amount_cents as billed_cents, i.issued_on
from invoice_lines i
left join credited c using (entry_id, number)
order by i.entry_id, i.run_id desc, i.seq desc
