-- run_documents: one row per document issued by run $run_id, in issue order.
select d.* from documents d where d.run_id = $run_id order by d.seq
