-- log_pending: one row per time entry of a customer whose work is not charged yet, waiting
-- for authorization or for an hourly rate (the Pending sheet). Ordered by entry_id.
select customer_id, entry_id, status, unpriced, work_date, "user", service, description, billable_minutes
from mart_entries
where status = 'pending' or unpriced
