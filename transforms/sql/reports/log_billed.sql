-- log_billed: one row per line of the overage invoices and credit notes issued to a customer
-- up to $as_of: the work billed, with its document (the Billed work sheet). Ordered by
-- issued_on, number, line_no. Parameters: $as_of (the run date).
select d.customer_id, d.number, d.kind, d.issued_on, l.line_no, l.entry_id,
       l.work_date, l."user", l.service, l.description, l.minutes, l.rate_cents, l.amount_cents
from documents d join document_lines l using (number)
where d.kind <> 'topup' and d.issued_on <= $as_of
