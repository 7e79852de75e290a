-- fold_last: one row per customer with kept postings: its last posting in posting order, where
-- a resumed fold goes on from.
select customer_id, posting_epoch, started_epoch, entry_id
from fold_postings
qualify row_number() over (
    partition by customer_id order by posting_epoch desc, started_epoch desc, entry_id desc) = 1
