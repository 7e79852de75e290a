-- supersessions.csv: one row per superseded version of an entry or a block, all history
-- (SPEC §7); the version in force is in entries.csv / balances.csv
select
    kind, safe_text(id) as id, safe_text(source_file) as source_file, line::varchar as line,
    safe_text(superseded_by_file) as superseded_by_file, superseded_by_line::varchar as superseded_by_line,
    changed_columns
from supersessions
order by kind, id, source_file, line, superseded_by_file, superseded_by_line
