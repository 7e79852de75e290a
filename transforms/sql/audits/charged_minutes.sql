-- Every charged minute is covered by a block, priced into a value block, or overage:
-- covered_minutes + overage_minutes + minutes bought with value <= billable minutes, and
-- covered minutes equal what non-value blocks covered.
with parts as (
    select p.entry_id, sum(p.minutes) as block_minutes
    from alloc_parts p join mart_balances b using (block_id)
    where b.kind <> 'value'
    group by p.entry_id
)
select e.entry_id, e.billable_minutes, e.covered_minutes, e.overage_minutes
from mart_entries e
left join parts using (entry_id)
where e.status = 'charged'
  and (e.covered_minutes <> coalesce(parts.block_minutes, 0)
       or e.covered_minutes + e.overage_minutes > e.billable_minutes
       or (e.value_cents = 0 and e.covered_minutes + e.overage_minutes <> e.billable_minutes))
