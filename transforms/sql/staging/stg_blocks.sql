-- stg_blocks (temp table): one row per prepaid block in force (valid_blocks: the latest valid
-- version of each block_id), as the models read it: the reorder point an exact decimal, the day
-- bounds as UTC epoch seconds of local midnight in the business time zone $tz (`purchase_epoch`:
-- the purchase day begins; `expiry_epoch`: the day after expires_on begins, null for a block
-- without end). In validation order.
create or replace temp table stg_blocks as
select block_id, customer_id, kind, service, quantity_units, amount_paid_cents, purchased_on,
       starts_on, expires_on, reorder_point_units::decimal(38,12) as reorder_point_units,
       auto_invoice, invoice_number,
       day_start_epoch(purchased_on, $tz) as purchase_epoch,
       day_start_epoch(expires_on + 1, $tz) as expiry_epoch
from valid_blocks
