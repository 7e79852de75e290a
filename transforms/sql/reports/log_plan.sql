-- log_plan: one row per customer of log_fingerprints: its fingerprint; when the log in
-- prepaid_log_cache is still its log, the SHA-256 of its two files and how they were placed
-- (else nulls); its parts and, when the cache holds an earlier log of the customer, that log's
-- parts, how its files were placed and their SHA-256 (else nulls: reports.write_reports keeps
-- the sheets whose part is the same from those files). A cached log counts when rendered no
-- later than $as_of (a log never dates its figures after the run's date) and $use_cache
-- (false: every log is rendered afresh, whole).
select f.customer_id, f.fingerprint, k.xlsx_sha256, k.csv_sha256, k.placed, f.parts, c.parts as cached_parts,
       c.placed as cached_placed, c.xlsx_sha256 as cached_xlsx_sha256, c.csv_sha256 as cached_csv_sha256
from log_fingerprints f
left join prepaid_log_cache c on c.customer_id = f.customer_id and c.as_of <= $as_of and $use_cache
left join prepaid_log_cache k on k.customer_id = c.customer_id and k.fingerprint = f.fingerprint
