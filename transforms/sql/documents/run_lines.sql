-- run_lines: one row per line of the documents issued by run $run_id, in issue order.
select l.* from document_lines l join documents d using (number)
where d.run_id = $run_id order by d.seq, l.line_no
