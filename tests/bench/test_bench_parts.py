"""Parts of the benchmark harness on their own: the reference's reader of a generated inbox
(bench/naive.py), the memory limit of a measurement, the goals table's plans, and the trash
that keeps deletions out of the measurements."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from bench import naive, report, run

CUSTOMERS = ("customer_id,name,aliases,currency\n"
             "c1,Acme GmbH,ACME|Acme Corp,EUR\n"
             "c2,Twin,,EUR\n"
             "c3,twin,,EUR\n")
TIMELOG = ("entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
           "e1,c1,ann,support,2025-03-03T09:00,30,\n"
           "e2,acme corp,ann,support,2025-03-03T10:00,30,2025-03-04T09:00\n"
           "e3,TWIN,ann,support,2025-03-03T11:00,30,\n")


def write(folder: Path) -> Path:
    (folder / "timelogs").mkdir(parents=True)
    (folder / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (folder / "timelogs" / "part-01.csv").write_text(TIMELOG, encoding="utf-8")
    (folder / "authorizations.csv").write_text(
        "entry_id,authorized_at,authorized_by\ne1,2025-03-05T08:00,m\ne1,2025-03-06T08:00,m\n", encoding="utf-8")
    return folder


def test_naive_read__alias_and_authorizations__resolved_like_the_engine(tmp_path):
    (_, _, _, entries), adapted = naive.read(write(tmp_path / "inbox"), "UTC")
    by_id = {e["entry_id"]: e for e in entries}
    assert sorted(by_id) == ["e1", "e2"]                      # e3: "twin" names two customers
    assert by_id["e2"]["customer_id"] == "c1"
    assert by_id["e1"]["authorized_at"] == datetime(2025, 3, 6, 8, tzinfo=timezone.utc)   # the last row wins
    assert adapted == {"entries_read": 3, "customer_names_resolved": 1, "entries_dropped_unknown_customer": 1,
                       "authorizations_applied": 1}


def test_measure__process_tree_over_rss_limit__stopped_and_recorded(tmp_path):
    result = run.measure({"kind": "hold", "mib": 200, "seconds": 60}, 120, tmp_path / "log",
                         allow_failure=True, rss_limit_mib=150)
    assert result["stopped_over_rss_limit_mib"] == 150
    assert result["watched_peak_rss_mib"] > 150
    assert "seconds" not in result and result["process_seconds"] < 60


def test_measure__process_under_rss_limit__result_with_the_memory_watched(tmp_path):
    result = run.measure({"kind": "hold", "mib": 100, "seconds": 2}, 120, tmp_path / "log", rss_limit_mib=1024)
    assert result["held_mib"] == 100
    assert 100 < result["watched_peak_rss_mib"] < 1024


def test_would_take__lines_of_its_section_only__by_key(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("## Analysis\n- `full_night`: not this one\n### What it would take\n"
                     "- `full_night`: lazy PDFs\n- `incremental`:\n### Later\n- `memory_1m`: nor this\n",
                     encoding="utf-8")
    assert report.would_take(notes) == {"full_night": "lazy PDFs"}
    assert report.notes_without_plans(notes.read_text()) == "## Analysis\n- `full_night`: not this one\n### Later\n- `memory_1m`: nor this"


def test_reference_per_customer__two_customers_sharing_a_global_rate__same_rows_as_one_call():
    from datetime import date

    from tests.reference import read_inbox, reconcile_reference

    inputs = read_inbox(
        "UTC",
        customers="customer_id,currency,requires_authorization\nc1,EUR,false\nc2,EUR,false\n",
        purchases=("block_id,customer_id,kind,quantity,amount_paid,purchased_on,reorder_point\n"
                   "b1,c1,hours,1,100.00,2025-01-01,2\nb2,c2,value,50.00,50.00,2025-01-01,\n"),
        rates="customer_id,service,user,hourly_rate\n,,,60.00\nc2,,,90.00\n",
        timelogs=("entry_id,customer_id,user,service,started_at,duration_minutes\n"
                  "e1,c1,ann,support,2025-01-02T09:00,90\ne2,c2,bob,support,2025-01-02T09:00,60\n"
                  "e3,c1,ann,support,2025-01-03T09:00,30\n"))
    whole = reconcile_reference(*inputs, date(2025, 1, 31), "UTC")
    assert naive.reconcile_per_customer(*inputs, date(2025, 1, 31), "UTC") == whole
    assert [r["overage_amount"] for r in whole["entries"]] == ["30.00", "40.00", "30.00"]


def test_fresh__run_folders_moved_into_trash_beside_them__empty_trash_deletes_them(tmp_path):
    runs = tmp_path / "work" / "1m"
    (runs / "out-full" / "reports").mkdir(parents=True)
    (runs / "out-full" / "run.json").write_text("{}")
    (runs / "full.duckdb").write_text("warehouse")
    run._fresh(runs / "full.duckdb", runs / "out-full")
    assert [p.name for p in runs.iterdir()] == [".trash"]
    trash = runs / ".trash"
    assert sorted(p.name.rsplit(".", 1)[0] for p in trash.iterdir()) == ["full.duckdb", "out-full"]
    assert (next(trash.glob("out-full.*")) / "run.json").read_text() == "{}"
    run.empty_trash(tmp_path / "work")
    assert list(runs.iterdir()) == []
