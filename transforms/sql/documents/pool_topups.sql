-- pool_topups: one row per pool whose latest top-up invoice issued by $as_of is still open:
-- no purchase up to $as_of names it, and none of the pool was bought on or after its date.
-- A top-up is issued again only when its pool has no open one (the same breach episode).
with latest as (
    select customer_id, pool_kind, pool_service, number, issued_on
    from documents where kind = 'topup' and issued_on <= $as_of
    qualify row_number() over (
        partition by customer_id, pool_kind, pool_service order by run_id desc, seq desc) = 1
)

select l.customer_id, l.pool_kind as kind, l.pool_service as service, l.number as topup_invoice_number
from latest l
where not exists (
    select 1 from stg_blocks b
    where b.purchased_on <= $as_of
      and (b.invoice_number = l.number
           or (b.customer_id = l.customer_id and b.kind = l.pool_kind
               and b.service is not distinct from l.pool_service
               and b.purchased_on >= l.issued_on))
)
order by l.customer_id, l.pool_kind, l.pool_service nulls first
