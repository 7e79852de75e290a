-- balances.csv: one row per known block, sorted by (customer_id, block_id)
select
    safe_text(b.customer_id) as customer_id, safe_text(b.block_id) as block_id, kind,
    safe_text(b.service) as service,
    unit_text(kind, purchased_units) as purchased, unit_text(kind, used_units) as used,
    unit_text(kind, expired_units) as expired, unit_text(kind, remaining_units) as remaining,
    starts_on::varchar as starts_on, expires_on::varchar as expires_on, status
from mart_balances b
order by b.customer_id, b.block_id  -- the ids, not their spreadsheet-safe text
