-- log_documents: one row per document issued to a customer up to $as_of (the Invoices sheet;
-- a log made later for an earlier date shows what had been issued by then); a top-up with its
-- lines' text and the purchases that name it by then. No run ids: they differ between a
-- clean run and one rerun after a crash, and the log must not. Ordered by issued_on, number.
-- Parameters: $as_of (the run date).
select d.customer_id, d.number, d.kind, d.issued_on, d.corrects, d.period, d.net_cents, d.tax_cents,
       d.total_cents,
       (select string_agg(l.description, '; ' order by l.line_no) from document_lines l
        where l.number = d.number and d.kind = 'topup') as topup_text,
       (select string_agg(b.block_id, ', ' order by b.block_id) from stg_blocks b
        where b.invoice_number = d.number and b.customer_id = d.customer_id
          and b.purchased_on <= $as_of) as paid_by
from documents d
where d.issued_on <= $as_of
