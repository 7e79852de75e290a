"""SPEC §8, fuzzed: random bytes and random near-valid CSV inboxes never make ingest,
validation or a nightly run raise, and never lose a row: every data record is accepted,
quarantined, superseded or an identical re-export, exactly once (tests/reliability/helpers.py).
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from openpyxl import load_workbook

from tests.reliability.helpers import account_run, account_validated, evaluable_cells
from transforms.ingest.csvio import read_records
from transforms.ingest.ingest import ingest
from transforms.run.nightly import run_nightly
from transforms.validate import validate as validate_mod
from transforms.warehouse import RAW_KINDS, connect, current_raw

def fuzz(max_examples: int, shrink: bool = False) -> settings:
    """Settings of a fuzz test. Whole-inbox examples take a second each: no shrinking (a
    failure reports the example as drawn, at once, instead of minutes of shrinking)."""
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
    return settings(max_examples=max_examples, deadline=None, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NASTY = ["", " ", "-1", "-0", "0", "1e3", "NaN", "1,5", "١٢", "９", "99999999999999999", "true", "maybe",
         "2026-02-30", "2026-01-05", "2026-01-05T25:00", "0000-01-01T00:00", "9999-12-31", "1899-12-31T23:00Z",
         "=1+1", "@SUM(1)", "<b>", '"', '""', "'", "\\",
         "a\nb", "a\r\nb", "\t", ";", ",", "|", "\u00a0", "\ufeff", "\uffff", "a\x0bb", "\x1d",
         "x" * 300, "c1", "C1", "acme", "e1"]
GOOD = {
    "customer_id": ["c1", "c2", "Acme", "beta"], "name": ["Acme", "Beta", "acme"], "aliases": ["", "A|B", "beta"],
    "currency": ["EUR", "USD"], "rounding_increment_minutes": ["", "1", "15"],
    "rounding_mode": ["", "up", "down", "nearest"], "minimum_entry_minutes": ["", "0", "15"],
    "requires_authorization": ["", "true", "no"], "invoice_cadence": ["", "nightly", "monthly"],
    "tax_rate_percent": ["", "0", "19", "7.5"],
    "block_id": ["b1", "b2", "b3"], "kind": ["hours", "value", "unlimited", "incidents"], "service": ["", "support"],
    "quantity": ["", "10", "2.5", "500.00", "3"], "amount_paid": ["0", "100.00", "950"],
    "purchased_on": ["2026-01-01", "2026-01-20"], "starts_on": ["", "2026-01-02"], "expires_on": ["", "2026-03-31", "9999-12-31"],
    "reorder_point": ["", "1", "0.5"], "auto_invoice": ["", "true", "false"], "invoice_number": ["", "INV-1"],
    "remarks": ["", "paid"], "user": ["", "ann", "bob"], "hourly_rate": ["60.00", "0", "95.5"],
    "valid_from": ["", "2026-01-01"], "valid_to": ["", "2026-12-31"],
    "entry_id": ["e1", "e2", "e3", "e4"], "started_at": ["2026-01-05T09:00", "2026-01-06 10:30", "2026-01-07T08:00Z", "0001-01-01T00:00"],
    "ended_at": ["", "2026-01-05T10:00", "2026-01-06T12:00:30+01:00"], "duration_minutes": ["", "30", "12.5", "0"],
    "billable": ["", "yes", "0"], "incident_id": ["", "INC-1"], "authorized_at": ["", "2026-01-08T00:00", "2026-02-10"],
    "project": ["", "p"], "task": ["", "t"], "description": ["", "fix", "x, y"], "billed_elsewhere": ["", "no"],
    "authorized_by": ["", "boss"],
}
GOOD["service"] = ["", "support", "dev"]


@st.composite
def near_valid_csv(draw, kind: str) -> tuple[bytes, int]:
    """(file bytes, number of non-blank data rows written) of a mostly valid file of `kind`."""
    columns = list(validate_mod.COLUMNS[kind])
    columns = [c for c in columns if draw(st.integers(0, 19)) > 0]           # now and then a column is missing
    if draw(st.booleans()):
        columns.append(draw(st.sampled_from(["notes", "extra", columns[0] if columns else "x"])))
    columns = draw(st.permutations(columns))
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row = [draw(st.sampled_from(GOOD.get(c, [""]))) if draw(st.integers(0, 5)) else
               draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=8))) for c in columns]
        shape = draw(st.integers(0, 14))
        if shape == 0 and row:
            row = row[:-1]
        elif shape == 1:
            row = row + ["surplus"]
        rows.append(row)
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    # csv.writer quotes a bare CR only when it is part of the line terminator: quote all then
    quoting = csv.QUOTE_ALL if any("\r" in c for r in rows for c in r) else draw(
        st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=quoting,
               lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([columns] + rows)
    text = buffer.getvalue()
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text
    if draw(st.integers(0, 9)) == 0:
        text += "\n\n"
    written = sum(1 for r in rows if any(c.strip() for c in r))
    return text.encode("utf-8"), written


@st.composite
def near_valid_inbox(draw) -> dict[str, tuple[bytes, int]]:
    files = {"customers.csv": draw(near_valid_csv("customers"))}
    for name, kind in (("purchases.csv", "purchases"), ("rates.csv", "rates"), ("authorizations.csv", "authorizations")):
        if draw(st.booleans()):
            files[name] = draw(near_valid_csv(kind))
    for i in range(draw(st.integers(1, 3))):
        files[f"timelogs/t{i}.csv"] = draw(near_valid_csv("timelogs"))
    if draw(st.integers(0, 7)) == 0:  # a file that is not CSV at all
        files["timelogs/t9.csv"] = (draw(st.binary(max_size=200)), -1)
    return files


def write(inbox: Path, files: dict[str, tuple[bytes, int]]) -> None:
    for name, (data, _) in files.items():
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def rows_read_as_written(files: dict[str, tuple[bytes, int]]) -> list[str]:
    """The reader finds exactly the non-blank rows that were written (files it can read)."""
    problems = []
    for name, (data, written) in files.items():
        content = read_records(data)
        if written >= 0 and content.problem is None and len(content.records) != written:
            problems.append(f"{name}: wrote {written} rows, read {len(content.records)}")
    return problems


@fuzz(300, shrink=True)
@given(st.one_of(st.binary(max_size=400),
                 st.text(alphabet=st.sampled_from(list(',;\t"\r\n x1é\x00\uffff')), max_size=200).map(str.encode)))
def test_read_records__any_bytes__never_raises_and_records_are_trimmed_in_line_order(data):
    content = read_records(data)
    if content.problem is None:
        assert content.header
        lines = [r.line for r in content.records]
        assert lines == sorted(set(lines)) and all(line >= 2 for line in lines)
        assert all(c == c.strip() for r in content.records for c in r.cells)
        assert all(any(r.cells) for r in content.records)


@fuzz(20)
@given(near_valid_inbox())
def test_ingest_and_validate__near_valid_inboxes__never_raise_never_lose_a_row(files):
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp) / "inbox"
        write(inbox, files)
        con = connect(Path(tmp) / "w.duckdb")
        try:
            ingest(con, inbox, run_id=1)
            inputs = validate_mod.validate({kind: current_raw(con, kind) for kind in RAW_KINDS}, "Europe/Berlin")
            accounting = account_validated(inbox, con, inputs)
        finally:
            con.close()
    assert rows_read_as_written(files) == []
    assert accounting.problems() == []


@fuzz(8)
@given(near_valid_inbox())
def test_nightly_run__near_valid_inboxes__completes_loses_no_row_writes_no_formula(files):
    with tempfile.TemporaryDirectory() as tmp:
        inbox, out = Path(tmp) / "inbox", Path(tmp) / "out"
        write(inbox, files)
        run_nightly(inbox, Path(tmp) / "w.duckdb", out, date(2026, 1, 31), "UTC", reports_enabled=True)
        con = connect(Path(tmp) / "w.duckdb", read_only=True)
        try:
            accounting = account_run(inbox, con, out)
        finally:
            con.close()
        formulas = {p.name: evaluable_cells(p) for p in out.rglob("*.csv")}
        # every prepaid log parses (a character XML cannot hold would make it unreadable) and
        # holds no formula
        formulas |= {f"{p.parent.name}/{p.name}": [c.coordinate for ws in load_workbook(p).worksheets
                                                   for row in ws.iter_rows() for c in row if c.data_type == "f"]
                     for p in out.rglob("*.xlsx")}
    assert accounting.problems() == []
    assert {name: cells for name, cells in formulas.items() if cells} == {}
