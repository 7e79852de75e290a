-- timelog_verdicts (temp view): one row per kept time-log row, with what the other files say
-- of it: `reference`, the customer reference it gives; `customer_id`, the customer that names
-- (timelog_references, resolved by kept.Entries) and the reference's issue if it names none
-- or several; whether a currency it names is not its customer's (timelog_customers).
-- `accepted`: no issue of its own or of these. A view: each query that reads it joins two
-- small tables to the kept rows instead of keeping a copy of the history.
create or replace temp view timelog_verdicts as
select t.* exclude (customer_id), t.customer_id as reference, r.customer_id,
       r.reason_code as reference_issue, r.detail as reference_detail, c.currency as customer_currency,
       coalesce(t.currency <> '' and upper(t.currency) <> c.currency, false) as currency_mismatch,
       t.local_ok and r.customer_id is not null
           and not coalesce(t.currency <> '' and upper(t.currency) <> c.currency, false) as accepted
from typed_timelogs t
left join timelog_references r on r.reference = t.customer_id
left join timelog_customers c on c.customer_id = r.customer_id
