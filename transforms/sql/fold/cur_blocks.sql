-- cur_blocks: one row per block known as of the run date, as the allocation fold reads it,
-- with its precedence within the customer (SPEC §4).
select
    customer_id, block_id, kind, service, (starts_on - date '1970-01-01')::bigint as starts_day,
    (expires_on - date '1970-01-01')::bigint as expires_day, expiry_epoch, quantity_units as quantity,
    (purchased_on - date '1970-01-01')::bigint as purchased_day, precedence
from int_blocks
