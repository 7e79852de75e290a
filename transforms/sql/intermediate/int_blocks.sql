-- int_blocks: one row per block known as of the run date (purchased_on <= as_of), with its
-- precedence within the customer (SPEC §4: kind, service-specific first, expires_on
-- ascending with none last, starts_on, purchased_on, block_id).
with blocks as (
    select * from stg_blocks
),

params as (
    select $as_of::date as as_of
),

known as (
    select b.*
    from blocks b cross join params
    where b.purchased_on <= params.as_of
),

final as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by case kind when 'unlimited' then 0 when 'incidents' then 1
                               when 'hours' then 2 else 3 end,
                     (service is null)::int,
                     expires_on asc nulls last,
                     starts_on, purchased_on, block_id
        ) as precedence
    from known
)

select * from final
