-- ledger.csv: one row per event, sorted by (customer_id, at, event, entry_id, block_id)
select
    safe_text(customer_id) as customer_id, safe_text(block_id) as block_id,
    safe_text(entry_id) as entry_id, event, instant_text(at_epoch) as at,
    minutes::varchar as minutes, money_text(cents) as amount, incidents::varchar as incidents
from mart_ledger
order by customer_id, at_epoch, event, entry_id nulls first, block_id
