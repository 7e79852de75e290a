-- valid_entries (temp table): one row per entry_id, its version in force (SPEC §2): the last
-- accepted row in history order (file versions in ingest order, then lines), with the
-- customer its reference names. In entry_id order.
create or replace temp table valid_entries as
select source_file, line, entry_id, "user", service, started_at, ended_at, billable, incident_id,
       authorized_at, project, task, description, billed_elsewhere, duration_seconds, customer_id
from timelog_verdicts
where accepted
qualify row_number() over (partition by entry_id order by file_id desc, line desc) = 1
order by entry_id
