-- close_pending: one row per pending entry dated in the period being closed: billable, not
-- quarantined, not billed elsewhere, and with no authorization at all (an entry authorized
-- after the period's end is not pending: it is posted, by its authorized_at, in a later period).
with entries as (
    select * from int_entries
),

params as (
    select * from close_params
),

final as (
    select e.entry_id, e.customer_id, e.work_date
    from entries e
    cross join params p
    where e.status = 'pending'
      and e.posting_epoch is null
      and e.work_date between p.period_start and p.period_end
)

select * from final
order by entry_id
