-- log_rows_<model> (temp table, one per log model, made by reports._stage_log_rows): one row
-- per row a log model gives a customer whose log the run renders, by customer, then in the
-- log's order. Each model runs over the whole history once a run; the batches of logs then
-- read their customers' range of this table (log_model_batch.sql) instead of running the
-- model again for each batch. Placeholders in braces, filled in by reports._stage_log_rows:
-- table, the table's name; model, the model's query; customers, the filter of the customers
-- to render (none when all are); order, the model's order within a customer.
create or replace temp table {table} as
select * from ({model}) {customers}
order by customer_id, {order}
