-- (a part of log_fingerprints.sql) one row per customer of the batch: the SHA-256 of each row
-- one log model gives it (the row as JSON), joined in the log's order; the hash itself breaks
-- ties, so that the order is total. Hashing each row first keeps the ordered aggregate to 64
-- characters a row, however long the row's text. Placeholders in braces, filled in by
-- reports._fingerprint_logs: model, the model's query; order, its order within a customer;
-- name, the column; customers, the batch's filter (the same as log_fingerprints.sql's).
left join (select customer_id, string_agg(row_sha, '' order by {order}, row_sha) as {name}
           from (select sha256(to_json(r)) as row_sha, r.* from ({model}) r {customers})
           group by customer_id)
     using (customer_id)
