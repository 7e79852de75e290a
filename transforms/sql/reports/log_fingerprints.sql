-- log_fingerprints (temp table, created empty by reports._fingerprint_logs and filled by this
-- query): one row per customer whose log is written, with the SHA-256 of everything its log
-- shows except the date of its figures: $renderer (what renders a log besides its rows), the
-- customer's name, currency and language, the business time zone $tz, and a digest of the
-- rows of every log model (log_model_rows.sql). The same fingerprint means the same log, byte
-- for byte (but for the chance log_model_rows.sql gives). reports._fingerprint_logs fills in
-- three placeholders (names in braces; their values span lines, so no comment names them that
-- way): customers, the filter of the customers asked for (none when all are); joins, one
-- log_model_rows.sql per log model, in the order of reports.LOG_MODELS, naming its column t0,
-- t1, ...; texts, those columns as coalesce(tN, '').
insert into log_fingerprints
select customer_id, sha256(concat_ws(chr(29), $renderer::varchar, to_json(name), to_json(currency),
                                     to_json(coalesce(language, 'en')), $tz::varchar, {texts})) as fingerprint
from (select * from stg_customers {customers}) {joins}
