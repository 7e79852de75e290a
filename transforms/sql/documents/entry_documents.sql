-- entry_documents: one row per entry billed by a document issued by $as_of, with the numbers
-- of those documents in issue order ('INV-2026-000001|CN-2026-000001'). `{entries}`: blank for
-- every entry, or a condition on `entry_id` for some (documents.keep_entry_documents).
select l.entry_id, string_agg(l.number, '|' order by d.run_id, d.seq) as document_numbers
from (select distinct entry_id, number from document_lines where entry_id is not null {entries}) l
join documents d using (number)
where d.issued_on <= $as_of
group by l.entry_id
