-- stg_entries (temp table): one row per time entry in force (valid_entries, sql/kept/), as the
-- models read it: instants as UTC epoch seconds, the local date of its start in the business
-- time zone $tz. In entry_id order.
create or replace temp table stg_entries as
select entry_id, customer_id, "user", service, timezone($tz, started_at)::date as work_date,
       epoch_ms(started_at) // 1000 as started_epoch, duration_seconds, billable, billed_elsewhere,
       incident_id, epoch_ms(authorized_at) // 1000 as authorized_epoch, description, project, task,
       source_file, line
from valid_entries
order by entry_id
