-- log_blocks: one row per block of a customer as of the run date (the Summary sheet), its
-- quantities in the block's unit. Within a customer the log orders them by block_id.
select customer_id, block_id, kind, service, purchased_units, used_units, expired_units,
       remaining_units, starts_on, expires_on, status, amount_paid_cents, breakage_cents
from mart_balances
