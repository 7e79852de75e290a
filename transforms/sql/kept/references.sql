-- The distinct customer references of the kept time-log rows (blank is no reference), for
-- kept.Entries to resolve against the customers in force.
select distinct customer_id from typed_timelogs where customer_id <> '' order by customer_id
