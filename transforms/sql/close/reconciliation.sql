-- reconciliation.csv: one row per (customer_id, kind, service) pool of the close, sorted by
-- (customer_id, kind, service); units as balances.csv, money with 2 decimals. Unlimited
-- pools: used minutes and deferred revenue only.
select
    safe_text(customer_id) as customer_id, kind, safe_text(service) as service,
    unit_text(kind, opening_units) as opening, unit_text(kind, purchased_units) as purchased,
    unit_text(kind, used_units) as used, unit_text(kind, expired_units) as expired,
    unit_text(kind, closing_units) as closing,
    money_text(deferred_revenue_cents) as deferred_revenue, money_text(breakage_cents) as breakage
from close_pools
where run_id = (select run_id from close_params)
order by customer_id, kind, service nulls first
