-- billing_batch: one row per billing row (billing_rows, kept as a temp table for the run) of
-- the customers $customer_ids, in customer and entry order: documents are planned one batch
-- of customers at a time, since a customer's documents depend only on its own entries.
select * from doc_billing_rows
where customer_id in (select unnest($customer_ids::varchar[]))
order by customer_id, entry_id
