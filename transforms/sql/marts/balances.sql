-- balances: one row per known block as of the run date, quantities in the block's unit
-- (minutes for hours and unlimited, cents for value, counts for incidents).
-- purchased = used + expired + remaining for every block with a quantity.
with blocks as (
    select * from int_blocks
),

params as (
    select $as_of::date as as_of
),

usage as (
    select block_id, sum(minutes)::bigint as minutes, sum(cents)::bigint as cents,
           sum(incidents)::bigint as incidents
    from alloc_parts
    group by block_id
),

state as (
    select
        b.*,
        case b.kind when 'value' then coalesce(u.cents, 0)
                    when 'incidents' then coalesce(u.incidents, 0)
                    else coalesce(u.minutes, 0) end as used_units,
        coalesce(b.expires_on <= p.as_of, false) as is_expired,
        b.starts_on > p.as_of as is_not_started
    from blocks b
    cross join params p
    left join usage u using (block_id)
),

final as (
    select
        customer_id, block_id, kind, service,
        quantity_units as purchased_units,
        used_units,
        case when kind = 'unlimited' then null
             when is_expired then quantity_units - used_units else 0 end as expired_units,
        case when kind = 'unlimited' then null
             when is_expired then 0 else quantity_units - used_units end as remaining_units,
        starts_on, expires_on, purchased_on,
        case when is_expired then 'expired'
             when is_not_started then 'not_started'
             when kind <> 'unlimited' and quantity_units - used_units = 0 then 'exhausted'
             else 'active' end as status,
        is_expired,
        amount_paid_cents,
        case when is_expired and kind <> 'unlimited' and quantity_units > 0
             then (2 * (quantity_units - used_units) * amount_paid_cents + quantity_units)
                  // (2 * quantity_units)
             else 0 end as breakage_cents,
        reorder_point_units, auto_invoice, purchase_epoch, expiry_epoch, precedence
    from state
)

select * from final
