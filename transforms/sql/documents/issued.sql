-- issued: one row per issued document, with the issue date of the invoice a credit note
-- corrects (what its files print); the caller filters (a run, a number) and orders.
select d.*, c.issued_on as corrects_issued_on
from documents d
left join documents c on c.number = d.corrects
