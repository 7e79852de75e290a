-- ledger.csv: one row per event, sorted by (customer_id, at, event, entry_id, block_id)
select
    safe_text(l.customer_id) as customer_id, safe_text(l.block_id) as block_id,
    safe_text(l.entry_id) as entry_id, event, instant_text(at_epoch) as at,
    minutes::varchar as minutes, money_text(cents) as amount, incidents::varchar as incidents
from mart_ledger l
order by l.customer_id, l.at_epoch, l.event, l.entry_id nulls first, l.block_id  -- ids, not safe text
