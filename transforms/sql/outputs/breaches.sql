-- breaches.csv: one row per pool in breach, sorted by (customer_id, kind, service)
select
    safe_text(p.customer_id) as customer_id, p.kind, safe_text(p.service) as service,
    unit_text(p.kind, p.remaining_units) as remaining,
    case when p.kind = 'value' then money_text(p.reorder_point_units::bigint)
         else plain_decimal(p.reorder_point_units) end as reorder_point,
    t.topup_invoice_number
from mart_pools p
left join pool_topups t
  on t.customer_id = p.customer_id and t.kind = p.kind and t.service is not distinct from p.service
where p.in_breach
order by p.customer_id, p.kind, p.service nulls first
