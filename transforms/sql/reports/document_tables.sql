-- document_tables: one row, how many tables named document_lines the connection sees: 0 in a
-- warehouse that never issued documents (it only ever ingested), whose logs list none.
select count(*) as tables from duckdb_tables() where table_name = 'document_lines'
