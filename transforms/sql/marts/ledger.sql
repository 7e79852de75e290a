-- ledger: one row per event on a block: purchase, deduction (one per entry and block),
-- expiry. Quantities are signed movements in the block's unit columns: minutes (hours,
-- unlimited and incidents blocks: minutes covered), amount in cents (value blocks),
-- incidents (incidents blocks). Purchases are positive, deductions and expiries negative.
with blocks as (
    select * from mart_balances
),

entries as (
    select entry_id, posting_epoch from int_entries
),

purchases as (
    select customer_id, block_id, null::varchar as entry_id, 'purchase' as event,
           purchase_epoch as at_epoch,
           case when kind = 'hours' then purchased_units end as minutes,
           case when kind = 'value' then purchased_units end as cents,
           case when kind = 'incidents' then purchased_units end as incidents
    from blocks
),

deductions as (
    select b.customer_id, p.block_id, p.entry_id, 'deduction' as event,
           e.posting_epoch as at_epoch,
           case when b.kind <> 'value' then -p.minutes end as minutes,
           case when b.kind = 'value' then -p.cents end as cents,
           case when b.kind = 'incidents' then -p.incidents end as incidents
    from alloc_parts p
    join blocks b using (block_id)
    join entries e using (entry_id)
),

expiries as (
    select customer_id, block_id, null::varchar as entry_id, 'expiry' as event,
           expiry_epoch as at_epoch,
           case when kind = 'hours' then -expired_units end as minutes,
           case when kind = 'value' then -expired_units end as cents,
           case when kind = 'incidents' then -expired_units end as incidents
    from blocks
    where is_expired
),

final as (
    select * from purchases
    union all select * from deductions
    union all select * from expiries
)

select * from final
