"""Documents (SPEC §6): overage and top-up invoices, credit notes, numbering."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb


def issue_documents(con: duckdb.DuckDBPyConnection, as_of: date, tz: str) -> list[str]:
    con.execute("create or replace temp table entry_documents (entry_id varchar, document_numbers varchar)")
    con.execute("create or replace temp table pool_topups (customer_id varchar, kind varchar, "
                "service varchar, topup_invoice_number varchar)")
    return []


def write_documents(con: duckdb.DuckDBPyConnection, target: Path, run_id: int) -> None:
    return None
