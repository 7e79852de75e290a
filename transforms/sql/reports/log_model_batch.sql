-- (a log model for a batch of customers) one row per row a log model gives the customers
-- from $first to $last (in id order) whose logs the run renders, by customer, then in the
-- log's order: what their logs render. The rows come from the model's table of the run
-- (log_rows.sql), stored in that order, so the range reads only its part of the table.
-- Placeholders in braces, filled in by reports._jobs: table, that table; order, the model's
-- order within a customer.
select * from {table}
where customer_id between $first and $last
order by customer_id, {order}
