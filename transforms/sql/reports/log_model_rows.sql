-- log_model_rows (temp table, one per log model, made by reports._fingerprint_logs and joined by
-- log_fingerprints.sql): one row per customer, with a digest of the rows one log model gives it,
-- `<rows>:<sum>`: how many, and the sum of DuckDB's 64-bit hash of each row (a HUGEINT: it
-- never wraps). A sum does not depend on the order of the rows; the log orders them by their
-- own columns (reports.LOG_MODELS), so the same rows make the same log. A row that changes
-- changes the sum, unless its new hash happens to equal its old one: 1 chance in 2^64. An
-- ordered aggregate of each row's SHA-256 did this before, 2,000 customers a query because it
-- could not spill; these few numbers a customer let one query serve them all. Each model has a
-- query of its own: the five in one query ran out of DuckDB's 640 MB on a 10M first night.
-- Placeholders in braces, filled in by reports._fingerprint_logs: table, the table; model, the
-- model's query; name, the digest's column; customers, the filter (the same as
-- log_fingerprints.sql's).
create or replace temp table {table} as
select customer_id, count(*)::varchar || ':' || sum(hash(r))::varchar as {name}
from ({model}) r {customers}
group by customer_id
