-- last_run: the run date and business time zone of the last committed nightly run (one row;
-- none before the first).
select as_of, tz from runs
where as_of is not null and outcome = 'committed'
order by run_id desc
limit 1
