-- issued_lines: one row per line of the documents $numbers, in document and line order.
select * from document_lines
where number in (select unnest($numbers::varchar[]))
order by number, line_no
