-- stg_rates (temp table): one row per valid hourly rate of the current rate files (valid_rates), as
-- the models read it; a blank customer, service, user or validity bound is null (the rate applies
-- to any). In file order.
create or replace temp table stg_rates as
select customer_id, service, "user", hourly_rate_cents, valid_from, valid_to
from valid_rates
