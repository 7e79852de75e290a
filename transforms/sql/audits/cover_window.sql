-- No block is used outside its cover window (customer, service, dates, expiry instant).
select p.entry_id, p.block_id
from alloc_parts p
join mart_balances b using (block_id)
join int_entries e using (entry_id)
where b.customer_id <> e.customer_id
   or (b.service is not null and b.service <> e.service)
   or b.starts_on > e.work_date
   or (b.expires_on is not null and (e.work_date > b.expires_on or e.posting_epoch >= b.expiry_epoch))
   or e.status <> 'charged'
