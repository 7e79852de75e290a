-- pools: one row per (customer_id, kind, service) pool of hours, value and incidents blocks.
-- A pool is in breach when it has a block that is not expired and its remaining (over
-- non-expired blocks, not-started included) is strictly below the reorder point of its
-- latest block (by purchased_on, block_id; expired ones included) that has one.
with balances as (
    select * from mart_balances where kind <> 'unlimited'
),

latest_with_reorder as (
    select customer_id, kind, service, reorder_point_units, auto_invoice, block_id,
           purchased_on
    from balances
    where reorder_point_units is not null
    qualify row_number() over (
        partition by customer_id, kind, service order by purchased_on desc, block_id desc
    ) = 1
),

pools as (
    select
        customer_id, kind, service,
        coalesce(sum(remaining_units) filter (where not is_expired), 0)::bigint as remaining_units,
        count(*) filter (where not is_expired) as live_blocks
    from balances
    group by customer_id, kind, service
),

final as (
    select
        p.customer_id, p.kind, p.service, p.remaining_units, p.live_blocks,
        l.reorder_point_units, l.auto_invoice, l.block_id as reorder_block_id,
        p.live_blocks > 0 and l.reorder_point_units is not null
            and p.remaining_units < l.reorder_point_units as in_breach
    from pools p
    left join latest_with_reorder l
      on l.customer_id = p.customer_id and l.kind = p.kind
     and l.service is not distinct from p.service
)

select * from final
