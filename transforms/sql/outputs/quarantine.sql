-- quarantine.csv: one row per problem of a rejected input row or file
select
    safe_text(source_file) as source_file, line::varchar as line, safe_text("column") as "column",
    safe_text(value) as value, reason_code, safe_text(detail) as detail
from run_quarantine q
order by q.source_file, q.line, q."column", q.reason_code, q.value
