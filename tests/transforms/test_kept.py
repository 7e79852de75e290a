"""What a night keeps for the next: typed time-log rows per file version, and the fold."""

from __future__ import annotations

from datetime import date

import pandas as pd

from tests.conftest import write_inbox
from tests.flows.conftest import STORY, table
from transforms import ingest, kept, warehouse
from transforms.kept import _batches
from transforms.nightly import run_nightly
from transforms.validate import TYPED_TIMELOG_COLUMNS, type_timelogs


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


def test_read_back__kept_rows__equal_the_typed_rows_with_one_string_per_value(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", timelogs={
        "a.csv": "entry_id,customer_id,user,service,started_at,duration_minutes,project,currency\n"
                 "e1,c1,ann,support,2026-01-10T09:00,120,,EUR\n"
                 "e2,c1,ann,support,2026-01-11T09:00,x,Web,\n"
                 "e3,Customer One,bob,support,2026-01-12T09:00,30,Web,eur",
        "b.csv": "entry_id,customer_id,user,service,started_at,ended_at\n"
                 "e1,c1,ann,monitoring,2026-01-10T09:00,2026-01-10T10:00"})
    con = warehouse.connect(tmp_path / "w.duckdb")
    ingest.ingest(con, inbox, 1)
    files = [f for (f,) in con.execute("select file_id from files where kind = 'timelogs' order by 1").fetchall()]
    typed, _, _ = type_timelogs(warehouse.raw_rows(con, "timelogs", files), "UTC")
    first = kept.typed_timelogs(con, "UTC").rows       # typed now, then read back
    second = kept.typed_timelogs(con, "UTC").rows      # only read back
    expected = typed[TYPED_TIMELOG_COLUMNS].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, expected, check_dtype=False)
    pd.testing.assert_frame_equal(second, first)
    assert list(second["project"].map(type)) == [type(pd.NA), str, str, type(pd.NA)]
    assert list(second["currency"]) == ["EUR", None, "eur", None]
    assert second["user"][0] is second["user"][1] is second["user"][3]
    assert second["service"][0] is second["service"][2]
