"""SPEC §8 under load: a 200,000-row time log with hostile text in every free-text column and a
sprinkling of bad rows is ingested and validated in one run; every row is accounted for.

The test asserts outputs only; it prints how long ingest + validation took (see
docs/reliability.md for figures).
"""

from __future__ import annotations

import csv
import time
from datetime import date
from pathlib import Path

import duckdb

from transforms.run.generate import generate_inbox
from transforms.run.nightly import run_ingest

ENTRIES = 200_000
HOSTILE = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)",
           "<script>alert(1)</script>", "../../x", "a/b", "Grüße, \"quoted\"\nsecond line"]
ONE_LINE = HOSTILE[:-1]
NEGATIVE_EVERY, UNKNOWN_EVERY = 1000, 997   # rows i (1-based) with i % n == 0 are made bad


def hostile_inbox(inbox: Path) -> dict[str, int]:
    """A generated inbox whose time log carries hostile text; returns the expected outcome."""
    generate_inbox(inbox, 200, ENTRIES, 7, start=date(2025, 1, 1), days=365, files=1)
    (inbox / "authorizations.csv").unlink()  # keep the quarantine about time entries only
    path = inbox / "timelogs" / "part-01.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    col = {name: header.index(name) for name in header}
    negative = unknown = 0
    for i, row in enumerate(rows[1:], start=1):
        text = HOSTILE[i % len(HOSTILE)]
        row[col["description"]] = text
        row[col["project"]] = ONE_LINE[(i + 1) % len(ONE_LINE)]
        row[col["task"]] = ONE_LINE[(i + 2) % len(ONE_LINE)]
        row[col["incident_id"]] = row[col["incident_id"]] and ONE_LINE[(i + 3) % len(ONE_LINE)]
        if i % NEGATIVE_EVERY == 0:
            row[col["ended_at"]], row[col["duration_minutes"]] = "", "-5"
            negative += 1
        elif i % UNKNOWN_EVERY == 0:
            row[col["customer_id"]] = HOSTILE[i % 2]
            unknown += 1
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return {"negative_duration": negative, "unknown_customer": unknown,
            "accepted": ENTRIES - negative - unknown}


def test_200k_hostile_time_log__ingested_and_validated__every_row_accounted_for(tmp_path):
    expected = hostile_inbox(tmp_path / "inbox")
    started = time.perf_counter()
    summary, counts = run_ingest(tmp_path / "inbox", tmp_path / "w.duckdb")
    seconds = time.perf_counter() - started
    print(f"\n200,000-row hostile time log: ingest + validate in {seconds:.1f} s")

    assert summary.rows_added["timelogs"] == ENTRIES
    assert counts["entries"] == expected["accepted"]
    assert counts["quarantine_by_reason"] == {"negative_duration": expected["negative_duration"],
                                              "unknown_customer": expected["unknown_customer"]}
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        quarantined_lines = con.execute(
            "select count(distinct line) from quarantine where source_file = 'timelogs/part-01.csv'").fetchone()[0]
        lines = con.execute("select min(line), max(line), count(*) from raw_timelogs").fetchone()
        texts = con.execute("select count(*) from raw_timelogs where description = ?", [HOSTILE[-1]]).fetchone()[0]
    finally:
        con.close()
    assert counts["entries"] + quarantined_lines == ENTRIES
    # a two-line description in every 9th row: physical line numbers still run to the last row
    assert lines == (2, 1 + ENTRIES + ENTRIES // len(HOSTILE), ENTRIES)
    assert texts == ENTRIES // len(HOSTILE)  # hostile text stored verbatim
