-- (a part of log_fingerprints.sql) one row per customer of the batch: the rows one log model
-- gives it, each as JSON, one a line, in the log's order; the text itself breaks ties, so that
-- the order is total. Placeholders in braces, filled in by reports._fingerprint_logs: model,
-- the model's query; order, its order within a customer; name, the column; customers, the
-- batch's filter (the same as log_fingerprints.sql's).
left join (select customer_id, string_agg(row_json, chr(10) order by {order}, row_json) as {name}
           from (select to_json(r) as row_json, r.* from ({model}) r {customers})
           group by customer_id)
     using (customer_id)
