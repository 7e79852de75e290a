-- einvoice_parties: one row per customer of run $run_id's documents that carry seller details,
-- with the seller and buyer details of one of them (a run stores the same for all of a customer's).
select customer_id, any_value(seller) as seller, any_value(buyer) as buyer
from documents
where run_id = $run_id and seller is not null
group by customer_id
order by customer_id
