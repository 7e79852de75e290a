"""Issue 5 end to end: tracker exports in timelogs/ go through ingest and validation like
canonical time logs; re-exports and overlapping exports never duplicate an entry."""

import shutil
from datetime import date
from pathlib import Path

from tests.conftest import read_csv, write_inbox
from transforms.run.nightly import run_nightly

SAMPLES = Path(__file__).parent / "samples"
CUSTOMERS = "customer_id,name,aliases,currency\nacme,Acme GmbH,,EUR\nglobex,Globex Ltd,,EUR"


def _run(tmp_path, name, exports, customers=CUSTOMERS):
    inbox = write_inbox(tmp_path / f"in-{name}", customers=customers)
    (inbox / "timelogs").mkdir(exist_ok=True)
    for target, sample in exports.items():
        shutil.copy(SAMPLES / sample, inbox / "timelogs" / target)
    out = tmp_path / f"out-{name}"
    run_nightly(inbox, tmp_path / "w.duckdb", out, date(2026, 3, 31), reports_enabled=False)
    return read_csv(out / "entries.csv"), read_csv(out / "quarantine.csv")


def test_overlapping_toggl_exports__no_duplicates__later_export_supersedes(tmp_path):
    week1, q1 = _run(tmp_path, "1", {"toggl-w1.csv": "toggl_week1.csv"})
    both, q2 = _run(tmp_path, "2", {"toggl-w1.csv": "toggl_week1.csv", "toggl-w2.csv": "toggl_week2.csv"})
    again, q3 = _run(tmp_path, "3", {"toggl-w1.csv": "toggl_week1.csv", "toggl-w2.csv": "toggl_week2.csv"})
    assert q1 == q2 == q3 == []
    # week 1: 4 rows, two of them identical hotline calls that both survive (#0/#1 ids)
    assert len(week1) == 4 and sorted(e["customer_id"] for e in week1) == ["acme", "acme", "acme", "globex"]
    # week 2 repeats 3 of them (one with billable changed: same id, supersedes) and adds 1
    assert len(both) == 5 and again == both
    by_minutes = sorted((e["customer_id"], e["billable_minutes"], e["status"]) for e in both)
    assert by_minutes == [("acme", "15", "pending"), ("acme", "15", "pending"), ("acme", "60", "pending"),
                          ("acme", "70", "pending"), ("globex", "120", "not_billable")]


def test_unknown_client_in_export__quarantined_with_suggestion(tmp_path):
    entries, quarantine = _run(tmp_path, "1", {"toggl.csv": "toggl_week1.csv"},
                               customers="customer_id,name,currency\nacme,Acme GmbH,EUR")
    assert [(q["source_file"], q["line"], q["column"], q["value"], q["reason_code"], q["detail"]) for q in quarantine] == [
        ("timelogs/toggl.csv", "5", "customer_id", "Globex Ltd", "unknown_customer", "no customer 'Globex Ltd'")]
    assert len(entries) == 3
