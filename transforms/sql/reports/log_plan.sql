-- log_plan: one row per customer of log_fingerprints: its fingerprint and parts, whether the
-- log in prepaid_log_cache is still its log (`unchanged`: same fingerprint), and, when the
-- cache holds a log of the customer, the SHA-256 of its two files, how they were placed and
-- that log's parts (else nulls). reports.write_reports keeps an unchanged log, and keeps from
-- a changed one the sheets whose part is the same. A cached log counts when rendered no later
-- than $as_of (a log never dates its figures after the run's date) and $use_cache (false:
-- every log is rendered afresh, whole).
select f.customer_id, f.fingerprint, f.parts, coalesce(c.fingerprint = f.fingerprint, false) as unchanged,
       c.xlsx_sha256, c.csv_sha256, c.placed, c.parts as cached_parts
from log_fingerprints f
left join prepaid_log_cache c on c.customer_id = f.customer_id and c.as_of <= $as_of and $use_cache
