-- log_rows_<model> (temp table, one per log model, made by reports._stage_log_rows): one row
-- per row a log model gives a customer whose log the run renders, by customer, then in the
-- log's order. Each model runs over the whole history once a run, into a table of its rows
-- (unsorted: a sort in the model's own query ran out of memory at 10M), which this sorts; the
-- batches of logs then read their customers' range of this table (log_model_batch.sql) instead
-- of running the model again for each batch. Placeholders in braces, filled in by
-- reports._stage_log_rows: table, the table's name; rows, the table of the model's rows;
-- order, the model's order within a customer.
create or replace temp table {table} as
select * from {rows}
order by customer_id, {order}
