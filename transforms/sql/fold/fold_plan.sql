-- fold_plan: one row per customer whose fold runs tonight. `refold`: its blocks changed, a kept
-- posting changed or went, or a new posting comes before the last kept one (a late
-- authorization, a backdated entry): folded again from the start. `resume`: only new postings,
-- all after the last kept one: folded on from where the kept fold stopped. Every other customer
-- keeps its parts and results as they are.
with changed_blocks as (
    select customer_id from (select * from cur_blocks except select * from fold_blocks)
    union
    select customer_id from (select * from fold_blocks except select * from cur_blocks)
),

gone as (
    select customer_id from (select * from fold_postings except select * from cur_postings)
),

added as (
    select * from cur_postings except select * from fold_postings
),

backdated as (
    select a.customer_id
    from added a
    join fold_last l using (customer_id)
    where a.posting_epoch < l.posting_epoch
       or (a.posting_epoch = l.posting_epoch and a.started_epoch < l.started_epoch)
       or (a.posting_epoch = l.posting_epoch and a.started_epoch = l.started_epoch
           and a.entry_id <= l.entry_id)
),

refold as (
    select customer_id from changed_blocks
    union select customer_id from gone
    union select customer_id from backdated
)

select customer_id, 'refold' as action from refold
union all
select distinct customer_id, 'resume' as action
from added
where customer_id not in (select customer_id from refold)
