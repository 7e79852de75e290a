-- (a log model for a batch of customers) one row per row a log model gives the customers
-- $customer_ids, by customer, then in the log's order: what their logs render. Placeholders in
-- braces, filled in by reports._jobs: model, the model's query; order, its order within a
-- customer. The batch's customers come in id order from $first to $last: DuckDB pushes that
-- range into the scans of the models' tables, which the list alone would not.
select * from ({model})
where customer_id between $first and $last and customer_id in (select unnest($customer_ids::varchar[]))
order by customer_id, {order}
