-- keep_rendered: the logs just rendered (the temp table _rendered, one row per customer)
-- replace those customers' rows of prepaid_log_cache, in the run's transaction.
delete from prepaid_log_cache where customer_id in (select customer_id from _rendered);
insert into prepaid_log_cache
select customer_id, fingerprint, as_of::date, xlsx::blob, csv::blob, xlsx_sha256, csv_sha256, placed
from _rendered;
