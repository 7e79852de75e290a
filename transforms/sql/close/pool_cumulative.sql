-- close_pool_cumulative: one row per (customer_id, kind, service) pool as of the run date,
-- unlimited blocks pooled by (customer, service) like the others. Cumulative figures over
-- every known block, in block units (minutes for hours and unlimited, cents for value, counts
-- for incidents): purchased, used, expired, and closing = the sum of balances.csv `remaining`
-- (so closing = purchased - used - expired). Money in cents: deferred revenue at the run date
-- and breakage of every block expired by then. Unlimited pools: purchased, expired and
-- closing are null, used is the minutes covered.
with balances as (
    select * from mart_balances
),

customers as (
    select customer_id, currency from stg_customers
),

params as (
    select $as_of::date as as_of
),

blocks as (
    select
        b.customer_id, b.kind, b.service, b.purchased_units, b.used_units, b.expired_units,
        b.remaining_units, b.breakage_cents,
        -- money not yet earned: quantity blocks pro rata of what remains, half up to cents;
        -- unlimited blocks straight line over their cover days, the days after the run date
        case when b.kind = 'unlimited' then
                 (2 * b.amount_paid_cents::hugeint
                    * least(greatest(b.expires_on - p.as_of, 0), b.expires_on - b.starts_on + 1)
                  + (b.expires_on - b.starts_on + 1))
                 // (2 * (b.expires_on - b.starts_on + 1))
             when b.purchased_units > 0 then
                 (2 * b.remaining_units::hugeint * b.amount_paid_cents + b.purchased_units)
                 // (2 * b.purchased_units)
             else 0 end as deferred_revenue_cents
    from balances b
    cross join params p
),

final as (
    select
        b.customer_id, b.kind, b.service, c.currency,
        sum(b.purchased_units)::bigint as cum_purchased_units,
        sum(b.used_units)::bigint as cum_used_units,
        sum(b.expired_units)::bigint as cum_expired_units,
        sum(b.remaining_units)::bigint as closing_units,
        sum(b.deferred_revenue_cents)::bigint as deferred_revenue_cents,
        sum(b.breakage_cents)::bigint as cum_breakage_cents
    from blocks b
    left join customers c using (customer_id)
    group by b.customer_id, b.kind, b.service, c.currency
)

select * from final
