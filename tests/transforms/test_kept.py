"""What a night keeps for the next: typed time-log rows per file version, and the fold."""

from __future__ import annotations

from datetime import date

from tests.conftest import write_inbox
from tests.flows.conftest import STORY, table
from transforms.kept import _batches
from transforms.nightly import run_nightly


def test_batches__files_whole_in_order__about_batch_rows_each():
    files = [(1, 0), (2, 150_000), (3, 100_000), (4, 10), (5, 300_000), (6, 5)]
    assert _batches(files) == [[1, 2], [3, 4], [5], [6]]
    assert _batches([]) == []


def test_second_night__types_only_the_new_file__recompute_types_all_again(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", **STORY)
    w = tmp_path / "w.duckdb"
    run_nightly(inbox, w, tmp_path / "out", date(2026, 2, 5), reports_enabled=False)
    (inbox / "timelogs" / "u.csv").write_text("entry_id,customer_id,user,service,started_at,duration_minutes\n"
                                              "e5,c1,ann,support,2026-02-06T09:00,15\n")
    run_nightly(inbox, w, tmp_path / "out", date(2026, 2, 6), reports_enabled=False)
    typed = "select f.source_file, k.tz from typed_timelog_files k join files f using (file_id) order by 1"
    kept_rows = table(w, "select count(*) from typed_timelogs")
    assert table(w, typed) == [("timelogs/t.csv", "UTC"), ("timelogs/u.csv", "UTC")]
    assert kept_rows == [(5,)]

    run_nightly(inbox, w, tmp_path / "out", date(2026, 2, 6), reports_enabled=False, recompute=True)
    assert table(w, typed) == [("timelogs/t.csv", "UTC"), ("timelogs/u.csv", "UTC")]
    assert table(w, "select count(*) from typed_timelogs") == [(5,)]
    assert table(w, "select entry_id, status from last_entries order by 1") == [
        ("e1", "charged"), ("e2", "charged"), ("e3", "charged"), ("e4", "pending"), ("e5", "pending")]
