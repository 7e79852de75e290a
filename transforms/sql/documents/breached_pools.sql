-- breached_pools: one row per pool in breach whose latest block with a reorder point has
-- auto_invoice, with that block (what a top-up invoice re-orders) and its validity in days.
select p.customer_id, p.kind, p.service, b.block_id, b.purchased_units as quantity_units,
       b.amount_paid_cents,
       case when b.expires_on is not null then datediff('day', b.starts_on, b.expires_on) + 1 end
           as valid_days
from mart_pools p
join mart_balances b on b.block_id = p.reorder_block_id
where p.in_breach and p.auto_invoice
order by p.customer_id, p.kind, p.service nulls first
