-- keep_rendered: the logs just rendered (the temp table _rendered, one row per customer), with
-- their parts (log_fingerprints), replace those customers' rows of prepaid_log_cache, in the
-- run's transaction.
delete from prepaid_log_cache where customer_id in (select customer_id from _rendered);
insert into prepaid_log_cache
select r.customer_id, r.fingerprint, r.as_of::date, r.xlsx::blob, r.csv::blob, r.xlsx_sha256, r.csv_sha256,
       r.placed, f.parts
from _rendered r
join log_fingerprints f using (customer_id);
