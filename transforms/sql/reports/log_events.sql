-- log_events: one row per ledger event of a customer (a purchase, work deducted from a block,
-- a block's unused rest expiring: the Log sheet and prepaid-log.csv), with its block's pool
-- and, for work, its time entry. change_units: the event's quantity in the block's unit.
-- Within a customer the log orders them by instant, then purchase before deduction before
-- expiry, then entry (none first) and block.
select l.customer_id, l.at_epoch, l.event, l.block_id, b.kind, b.service as pool_service,
       l.entry_id, e.work_date, e."user", e.service, e.description,
       coalesce(l.minutes, l.cents, l.incidents) as change_units
from mart_ledger l
join mart_balances b using (block_id)
left join mart_entries e using (entry_id)
