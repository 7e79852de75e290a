-- log_plan: one row per customer of log_fingerprints: its fingerprint and, when the log in
-- prepaid_log_cache is still its log, the SHA-256 of its two files and how they were placed
-- (else nulls): cached with the same fingerprint, rendered no later than $as_of (a log never
-- dates its figures after the run's date), and $use_cache (false: every log is rendered
-- afresh).
select f.customer_id, f.fingerprint, c.xlsx_sha256, c.csv_sha256, c.placed
from log_fingerprints f
left join prepaid_log_cache c on c.customer_id = f.customer_id and c.fingerprint = f.fingerprint
                             and c.as_of <= $as_of and $use_cache
