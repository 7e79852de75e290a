-- log_fingerprints (temp table, created empty by reports._fingerprint_logs and filled by this
-- query): one row per customer whose log is written. `parts`: for each log model, in the order
-- of reports.LOG_MODELS, the SHA-256 of what its sheets show: $renderer (what renders a log
-- besides its rows), the customer's name, currency and language, the business time zone $tz,
-- and a digest of the rows the model gives the customer (log_model_rows.sql). `fingerprint`:
-- the SHA-256 of the parts, everything the log shows except the date of its figures. The same
-- fingerprint means the same log, byte for byte, and the same part the same sheets (but for
-- the chance log_model_rows.sql gives). reports._fingerprint_logs fills in three placeholders
-- (names in braces; their values span lines, so no comment names them that way): customers,
-- the filter of the customers asked for (none when all are); joins, a left join of each log
-- model's table (log_model_rows.sql, its column named t0, t1, ...); parts, the SHA-256 of each of them as
-- sha256(concat_ws(chr(29), context, coalesce(tN, ''))), comma-separated.
insert into log_fingerprints
select customer_id, sha256(array_to_string(parts, ' ')) as fingerprint, parts
from (select customer_id, [{parts}] as parts
      from (select *, concat_ws(chr(29), $renderer::varchar, to_json(name), to_json(currency),
                                to_json(coalesce(language, 'en')), $tz::varchar) as context
            from stg_customers {customers}) {joins})
