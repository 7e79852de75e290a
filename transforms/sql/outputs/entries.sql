-- entries.csv: one row per valid time entry (entry_rows.sql), sorted by entry_id (the id, not
-- its spreadsheet-safe text)
select * exclude (sort_id) from entry_rows order by sort_id
