-- close_late_adjustments: one row per entry dated in a closed period (work date up to the
-- last closed period's end) whose charge differs from what the previous close froze:
-- charged since (`charged_after_close`), charged differently (`changed_after_close`) or no
-- longer charged (`uncharged_after_close`). Figures are the change against the frozen ones;
-- the entry's effect on the pools shows in this period's movements.
with params as (
    select * from close_params
),

charged_now as (
    select e.entry_id, e.customer_id, e.work_date, e.posting_epoch, e.covered_minutes,
           e.value_cents, e.overage_minutes, e.overage_cents
    from mart_entries e
    cross join params p
    where e.status = 'charged' and e.work_date <= p.closed_through
),

frozen as (
    select f.*
    from close_entries f
    cross join params p
    where f.run_id = p.previous_close_run_id
),

compared as (
    select
        coalesce(n.entry_id, f.entry_id) as entry_id,
        coalesce(n.customer_id, f.customer_id) as customer_id,
        coalesce(n.work_date, f.work_date) as work_date,
        coalesce(n.posting_epoch, f.posting_epoch) as posting_epoch,
        case when f.entry_id is null then 'charged_after_close'
             when n.entry_id is null then 'uncharged_after_close'
             else 'changed_after_close' end as reason,
        coalesce(n.covered_minutes, 0) - coalesce(f.covered_minutes, 0) as covered_minutes,
        coalesce(n.value_cents, 0) - coalesce(f.value_cents, 0) as value_cents,
        coalesce(n.overage_minutes, 0) - coalesce(f.overage_minutes, 0) as overage_minutes,
        coalesce(n.overage_cents, 0) - coalesce(f.overage_cents, 0) as overage_cents,
        n.entry_id is null or f.entry_id is null
            or n.posting_epoch is distinct from f.posting_epoch
            or n.covered_minutes is distinct from f.covered_minutes
            or n.value_cents is distinct from f.value_cents
            or n.overage_minutes is distinct from f.overage_minutes
            or n.overage_cents is distinct from f.overage_cents as differs
    from charged_now n
    full outer join frozen f using (entry_id)
),

final as (
    select
        c.entry_id, c.customer_id, c.work_date,
        strftime(timezone(p.tz, to_timestamp(c.posting_epoch)), '%Y-%m-%d')::date as posted_on,
        c.reason, c.covered_minutes, c.value_cents, c.overage_minutes, c.overage_cents
    from compared c
    cross join params p
    where c.differs
)

select * from final
order by customer_id, entry_id
