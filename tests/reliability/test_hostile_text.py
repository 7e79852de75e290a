"""SPEC §8: text from inputs is data. Formula-looking cells are never evaluable in CSV or
XLSX outputs, HTML escapes everything, and customer ids never escape OUT as paths.

One run (reports on) over an inbox whose every free-text field, id and even file name is
hostile; customers are billed nightly so invoices carry the text.
"""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import date
from pathlib import Path

import pytest
from markupsafe import escape
from openpyxl import load_workbook

from tests.reliability.helpers import FORMULA_STARTS, evaluable_cells, read_csv, safe
from transforms.run.nightly import run_nightly

HOSTILE = [
    '=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)",
    "<script>alert(1)</script>", "../../x", "a/b",
    "nonchar \uffff\ufffe",    # valid UTF-8, but no XML 1.0 character: an XLSX must escape it
]
CUSTOMER_IDS = HOSTILE  # every hostile text is also a customer id: `../../x`, `a/b`, ...


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def hostile_inbox(inbox: Path) -> None:
    files = {
        "customers.csv": _csv([["customer_id", "name", "aliases", "currency", "invoice_cadence", "tax_rate_percent"]]
                              + [[c, f"{c} name", "", "EUR", "nightly", "19"] for c in CUSTOMER_IDS]),
        "purchases.csv": _csv([["block_id", "customer_id", "kind", "service", "quantity", "amount_paid",
                                "purchased_on", "reorder_point", "auto_invoice", "remarks"]]
                              + [[f"{c}#b", c, "hours", h, "1", "100.00", "2026-01-01", "0.5", "true", h]
                                 for c, h in zip(CUSTOMER_IDS, HOSTILE)]),
        "rates.csv": "hourly_rate\n60.00\n",
        # entries: every hostile text in every text column; two per customer, so invoices have lines
        f"timelogs/{HOSTILE[2]}.csv": _csv(
            [["entry_id", "customer_id", "user", "service", "started_at", "duration_minutes", "authorized_at",
              "incident_id", "project", "task", "description"]]
            + [[f"{h}#{i}", c, h, h, "2026-01-05T09:00", "90", "2026-01-06T00:00", h, h, h, h]
               for i, (c, h) in enumerate((c, h) for c in CUSTOMER_IDS for h in HOSTILE[:2] + HOSTILE[5:6])]
            # rejected rows: hostile values must reach quarantine.csv safely as well
            + [[f"{h}#bad", h + " nobody", h, h, "2026-01-05T09:00", h, "", "", "", "", h] for h in HOSTILE]),
        f"timelogs/{HOSTILE[4]}.csv": _csv(
            [["entry_id", "customer_id", "user", "service", "started_at", "duration_minutes", HOSTILE[0]],
             ["late#1", CUSTOMER_IDS[0], "ann", "support", "2026-01-06T09:00", "15", HOSTILE[1]]]),
        "authorizations.csv": _csv([["entry_id", "authorized_at", "authorized_by"]]
                                   + [[h, "2026-01-07T00:00", h] for h in HOSTILE]),
    }
    for name, text in files.items():
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """(root folder, OUT) of one run; `before` lists every file that existed before it."""
    root = tmp_path_factory.mktemp("hostile")
    hostile_inbox(root / "inbox")
    before = {p for p in root.rglob("*")}
    out = root / "nested" / "out"
    run_nightly(root / "inbox", root / "w.duckdb", out, date(2026, 1, 31), "UTC", reports_enabled=True)
    return root, out, before


def test_hostile_text__every_csv_output_cell_starting_with_formula_char_is_prefixed(hostile_run):
    _, out, _ = hostile_run
    csv_files = sorted(out.rglob("*.csv"))
    assert {p.name for p in csv_files} >= {"balances.csv", "entries.csv", "ledger.csv", "breaches.csv",
                                           "quarantine.csv", "invoices.csv", "invoice_lines.csv"}
    assert {p: evaluable_cells(p) for p in csv_files} == {p: [] for p in csv_files}


def test_hostile_text__is_kept_as_data_in_csv_outputs_not_dropped(hostile_run):
    _, out, _ = hostile_run
    lines = read_csv(out / "invoice_lines.csv")
    assert {safe(h) for h in HOSTILE[:2] + HOSTILE[5:6]} <= {r["description"] for r in lines}
    assert {safe(c) for c in CUSTOMER_IDS} == {r["customer_id"] for r in read_csv(out / "invoices.csv")}
    assert {safe(c) for c in CUSTOMER_IDS} == {r["customer_id"] for r in read_csv(out / "balances.csv")}
    quarantined = {(r["column"], r["value"]) for r in read_csv(out / "quarantine.csv")}
    assert {("duration_minutes", safe(h)) for h in HOSTILE} <= quarantined


def test_hostile_text__html_invoices_escape_every_input_text(hostile_run):
    _, out, _ = hostile_run
    pages = {p.name: p.read_text(encoding="utf-8") for p in sorted((out / "invoices").glob("*.html"))}
    numbers = [r["number"] + ".html" for r in read_csv(out / "invoices.csv")]
    assert sorted(pages) == sorted(numbers) and len(pages) >= len(CUSTOMER_IDS)
    for name, html in pages.items():
        assert "<script>" not in html, name
        assert 'HYPERLINK("' not in html, name  # quotes are escaped too
    overage = "".join(pages[r["number"] + ".html"] for r in read_csv(out / "invoices.csv") if r["kind"] == "overage")
    for text in HOSTILE[:2] + HOSTILE[5:6]:
        assert str(escape(text)) in overage
    for c in CUSTOMER_IDS:
        assert str(escape(f"{c} name")) in overage


def test_hostile_text__xlsx_prepaid_logs_have_no_formula_cells(hostile_run):
    _, out, _ = hostile_run
    books = sorted((out / "reports").glob("*/prepaid-log.xlsx"))
    assert len(books) == len(CUSTOMER_IDS)
    texts = set()
    for path in books:
        workbook = load_workbook(path)
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.parent.name, sheet.title, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        # as Excel reads it: openpyxl leaves the _xHHHH_ escapes of characters
                        # XML cannot hold (U+FFFF) undecoded
                        texts.add(re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), cell.value))
                        if cell.value.startswith(FORMULA_STARTS):
                            assert cell.data_type == "s" and cell.quotePrefix, (sheet.title, cell.coordinate)
    assert {f"{c}#b" for c in CUSTOMER_IDS} <= texts  # block ids are shown, as text


def test_hostile_customer_ids__every_written_path_is_inside_out(hostile_run):
    root, out, before = hostile_run
    written = {p for p in root.rglob("*")} - before
    warehouse = {root / "w.duckdb", root / "w.duckdb.wal"}
    archive = root / "w-documents"      # beside the warehouse; its names come from document numbers
    outside = sorted(str(p) for p in written - warehouse
                     if not (p == out or p == out.parent or out in p.parents or p == archive or archive in p.parents))
    assert outside == []
    archived = [p.relative_to(archive).as_posix() for p in archive.rglob("*") if p.is_file()]
    assert archived and all(re.fullmatch(r"\.runs/\d+|(INV|CN)-\d{4}/\d{4}-\d\d-\d\d/(INV|CN)-\d{4}-\d{6}\.(html|pdf|xml)", name)
                            for name in archived), archived
    assert not any(p.is_symlink() for p in out.rglob("*"))
    real_out = os.path.realpath(out)
    assert all(os.path.realpath(p).startswith(real_out + os.sep) for p in out.rglob("*"))
    folders = sorted(p for p in (out / "reports").iterdir())
    assert len(folders) == len(CUSTOMER_IDS) and all(p.is_dir() and p.parent == out / "reports" for p in folders)
    assert not any(name in {".", ".."} or "/" in name for name in (p.name for p in folders))
