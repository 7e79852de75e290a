-- cached_logs: one row per customer of $customer_ids with a log in prepaid_log_cache: the
-- bytes of its XLSX and CSV files, by customer_id.
select customer_id, xlsx, csv from prepaid_log_cache
where customer_id in (select unnest($customer_ids::varchar[]))
order by customer_id
