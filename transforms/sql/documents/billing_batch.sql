-- billing_batch: one row per billing row (billing_rows, kept as a temp table for the run) of
-- the customers from $first to $last (in id order), in customer and entry order: documents are
-- planned one batch of customers at a time, since a customer's documents depend only on its own
-- entries. The table is stored in that order, so the range reads only its part of the table.
select * from doc_billing_rows
where customer_id between $first and $last
order by customer_id, entry_id
