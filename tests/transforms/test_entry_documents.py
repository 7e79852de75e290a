"""`entry_document_numbers`: the numbers of the documents that billed each entry, kept by each
night for the entries its own documents bill (documents.keep_entry_documents), and read by
`document_views` instead of aggregating every document line."""

from datetime import date

import duckdb
import pytest

from transforms.documents import documents
from transforms.warehouse import sql


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute(sql("documents_schema.sql"))
    con.execute("create table stg_blocks (customer_id varchar, kind varchar, service varchar, "
                "purchased_on date, invoice_number varchar)")   # read by pool_topups
    return con


def issue(con, run_id: int, issued_on: str, *documents_: tuple[str, str, list[str]]) -> None:
    """Documents of a run, in issue order: (number, kind, entry ids of its lines)."""
    for seq, (number, kind, entries) in enumerate(documents_, 1):
        con.execute("insert into documents (number, kind, customer_id, issued_on, currency, net_cents, tax_cents, "
                    "total_cents, tax_rate_percent, run_id, seq) values (?, ?, 'c1', ?, 'EUR', 0, 0, 0, 0, ?, ?)",
                    [number, kind, issued_on, run_id, seq])
        for line_no, entry in enumerate(entries, 1):
            con.execute("insert into document_lines (number, line_no, entry_id, amount_cents) values (?, ?, ?, 0)",
                        [number, line_no, entry])


def kept(con) -> list[tuple]:
    return con.execute("select * from entry_document_numbers order by entry_id").fetchall()


def views(con, as_of: str, use_kept: bool = True) -> list[tuple]:
    documents.document_views(con, date.fromisoformat(as_of), use_kept)
    return con.execute("select * from entry_documents order by entry_id").fetchall()


def test_keep__each_night_updates_the_entries_its_documents_bill__numbers_in_issue_order(con):
    issue(con, 1, "2026-01-31", ("INV-2026-000001", "overage", ["e1", "e2"]), ("INV-2026-000002", "topup", [None]))
    documents.keep_entry_documents(con, 1, date(2026, 1, 31))
    assert kept(con) == [("e1", "INV-2026-000001"), ("e2", "INV-2026-000001")]
    # night 2: a credit note corrects e1 on a line of its own and again on a second line; e3 is new
    issue(con, 2, "2026-02-28", ("CN-2026-000001", "credit_note", ["e1", "e1"]), ("INV-2026-000003", "overage", ["e3"]))
    documents.keep_entry_documents(con, 2, date(2026, 2, 28))
    assert kept(con) == [("e1", "INV-2026-000001|CN-2026-000001"), ("e2", "INV-2026-000001"),
                         ("e3", "INV-2026-000003")]
    assert views(con, "2026-02-28") == kept(con)
    assert views(con, "2026-02-28", use_kept=False) == kept(con)


def test_views__as_of_before_later_documents__the_numbers_of_its_date(con):
    issue(con, 1, "2026-01-31", ("INV-2026-000001", "overage", ["e1"]))
    issue(con, 2, "2026-02-28", ("CN-2026-000001", "credit_note", ["e1"]), ("INV-2026-000002", "overage", ["e2"]))
    documents.keep_entry_documents(con, 2, date(2026, 2, 28))
    assert views(con, "2026-01-31") == [("e1", "INV-2026-000001")]     # a close of January after February's night
    assert views(con, "2026-02-28") == [("e1", "INV-2026-000001|CN-2026-000001"), ("e2", "INV-2026-000002")]


def test_warehouse_from_before_the_table__filled_whole_on_its_first_run(con):
    issue(con, 1, "2026-01-31", ("INV-2026-000001", "overage", ["e1"]))
    issue(con, 2, "2026-02-28", ("INV-2026-000002", "overage", ["e2"]))
    assert kept(con) == []
    documents.keep_entry_documents(con, 2, date(2026, 2, 28))            # a night: every document, not run 2's
    assert kept(con) == [("e1", "INV-2026-000001"), ("e2", "INV-2026-000002")]
    for table in ("entry_document_numbers", "entry_document_numbers_through"):
        con.execute(f"delete from {table}")
    assert views(con, "2026-02-28") == [("e1", "INV-2026-000001"), ("e2", "INV-2026-000002")]   # a close
    assert kept(con) == [("e1", "INV-2026-000001"), ("e2", "INV-2026-000002")]


def test_documents_stored_without_keeping_the_table__next_run_builds_it_again(con):
    """Run 2 was a version of the program without the table (a downgrade, then the upgrade
    again): the table holds run 1's documents only, and the next night or close sees it."""
    issue(con, 1, "2026-01-31", ("INV-2026-000001", "overage", ["e1"]))
    documents.keep_entry_documents(con, 1, date(2026, 1, 31))
    issue(con, 2, "2026-02-28", ("CN-2026-000001", "credit_note", ["e1"]))
    assert views(con, "2026-02-28") == [("e1", "INV-2026-000001|CN-2026-000001")]         # a close
    issue(con, 3, "2026-03-31", ("INV-2026-000002", "overage", ["e2"]))
    con.execute("delete from entry_document_numbers_through")
    con.execute("insert into entry_document_numbers_through values (1)")
    con.execute("delete from entry_document_numbers where entry_id = 'e1'")
    con.execute("insert into entry_document_numbers values ('e1', 'INV-2026-000001')")     # as run 1 left it
    documents.keep_entry_documents(con, 3, date(2026, 3, 31))                               # a night
    assert kept(con) == [("e1", "INV-2026-000001|CN-2026-000001"), ("e2", "INV-2026-000002")]


def test_keep__rebuild__made_from_every_document(con):
    issue(con, 1, "2026-01-31", ("INV-2026-000001", "overage", ["e1"]))
    documents.keep_entry_documents(con, 1, date(2026, 1, 31))
    issue(con, 2, "2026-02-28", ("INV-2026-000002", "overage", ["e2"]))
    con.execute("delete from entry_document_numbers")
    con.execute("insert into entry_document_numbers values ('e1', 'wrong'), ('e9', 'gone')")
    documents.keep_entry_documents(con, 2, date(2026, 2, 28))
    assert kept(con) == [("e1", "wrong"), ("e2", "INV-2026-000002"), ("e9", "gone")]    # run 2's entries only
    documents.keep_entry_documents(con, 2, date(2026, 2, 28), rebuild=True)
    assert kept(con) == [("e1", "INV-2026-000001"), ("e2", "INV-2026-000002")]


def test_keep__first_night_with_documents_builds_whole__later_nights_update_their_entries(con, monkeypatch):
    """A first night bills every entry it bills for the first time: the table is made whole
    (selecting them all by id needed more than DuckDB's memory limit on a 10M first night)."""
    whole = []
    original = documents._entry_numbers_whole
    monkeypatch.setattr(documents, "_entry_numbers_whole", lambda c, as_of: (whole.append(as_of), original(c, as_of)))
    documents.keep_entry_documents(con, 1, date(2026, 1, 30))                  # a night that issued nothing
    issue(con, 2, "2026-01-31", ("INV-2026-000001", "overage", ["e1", "e2"]))
    documents.keep_entry_documents(con, 2, date(2026, 1, 31))
    issue(con, 3, "2026-02-28", ("CN-2026-000001", "credit_note", ["e1"]))
    documents.keep_entry_documents(con, 3, date(2026, 2, 28))
    assert whole == [date(2026, 1, 30), date(2026, 1, 31)]
    assert kept(con) == [("e1", "INV-2026-000001|CN-2026-000001"), ("e2", "INV-2026-000001")]
