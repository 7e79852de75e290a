"""The SQL models of documents (transforms/sql/documents/): named, with their grain, complete."""

import duckdb

from transforms.documents.documents import BUYER_COLUMNS
from transforms.warehouse import SQL_DIR, sql


def test_document_models__every_file__opens_with_its_name_and_grain():
    paths = sorted(SQL_DIR.glob("documents/*.sql"))
    assert [p.stem for p in paths] == ["billing_batch", "billing_rows", "breached_pools", "credit_reasons",
                                       "customers", "einvoice_parties", "entry_documents", "issued",
                                       "issued_lines", "pool_topups", "prior_lines", "run_documents", "run_lines"]
    for path in paths:
        assert path.read_text(encoding="utf-8").startswith(f"-- {path.stem}: one row per "), path.name


def test_customers_model__selects_the_billing_columns_and_every_buyer_column_kept_with_a_document():
    con = duckdb.connect()
    names = ["customer_id", "name", "currency", "invoice_cadence", "tax_rate_percent", *BUYER_COLUMNS]
    con.execute(f"create table stg_customers ({', '.join(f'{n} varchar' for n in [*names, 'notes'])})")
    columns = [d[0] for d in con.execute(sql("documents/customers.sql")).description]
    assert columns == names
