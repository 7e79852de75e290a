"""What a night keeps for the next: typed time-log rows per file version, and the fold."""

from __future__ import annotations

from datetime import date

import pandas as pd

from tests.conftest import write_inbox
from tests.flows.conftest import STORY, table
from transforms import warehouse
from transforms.ingest import ingest
from transforms.run.nightly import run_nightly
from transforms.validate import kept
from transforms.validate.kept import _batches
from transforms.validate.validate import validate


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


def test_entries__decided_in_sql__versions_names_currencies_and_authorizations(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", customers="customer_id,name,aliases,currency\n"
                        "c1,Customer One,,EUR\nc2,Acme,,USD\nc3,Acme Ltd,acme,USD", timelogs={
        "a.csv": "entry_id,customer_id,user,service,started_at,duration_minutes,project,currency\n"
                 "e1,c1,ann,support,2026-01-10T09:00,120,,EUR\n"
                 "e2,c1,ann,support,2026-01-11T09:00,x,Web,\n"
                 "e3,customer one,bob,support,2026-01-12T09:00,30,Web,eur\n"
                 "e4,Nobody,bob,support,2026-01-12T09:00,30,,\n"
                 "e5,ACME,bob,support,2026-01-12T09:00,30,,\n"
                 "e6,c2,bob,support,2026-01-12T09:00,30,,EUR",
        "b.csv": "entry_id,customer_id,user,service,started_at,ended_at\n"
                 "e1,c1,ann,monitoring,2026-01-10T09:00,2026-01-10T10:00\n"
                 "e3,Customer One,bob,support,2026-01-12T09:00,2026-01-12T09:30"},
        authorizations="entry_id,authorized_at\ne3,2026-01-13T08:00\ne9,2026-01-13T08:00")
    con = warehouse.connect(tmp_path / "w.duckdb")
    ingest.ingest(con, inbox, 1)
    raw = {kind: warehouse.current_raw(con, kind) for kind in warehouse.RAW_KINDS if kind != "timelogs"}
    in_warehouse = validate(raw, "UTC", kept.typed_timelogs(con, "UTC"))
    without = validate({**raw, "timelogs": warehouse.current_raw(con, "timelogs")}, "UTC")

    entries = without.entries[["entry_id", "customer_id", "service", "duration_seconds", "source_file", "line"]]
    assert entries.values.tolist() == [["e1", "c1", "monitoring", 3600, "timelogs/b.csv", 2],
                                       ["e3", "c1", "support", 1800, "timelogs/b.csv", 3]]
    assert list(without.entries["authorized_at"]) == [pd.NaT, pd.Timestamp("2026-01-13 08:00", tz="UTC")]
    assert con.execute("select entry_id, customer_id, service, authorized_at::varchar from valid_entries "
                       "order by 1").fetchall() == [("e1", "c1", "monitoring", None),
                                                    ("e3", "c1", "support", "2026-01-13 08:00:00+00")]
    assert (in_warehouse.entry_count, dict(in_warehouse.entry_services)) == (2, {"monitoring": 1, "support": 1})
    assert without.supersessions.values.tolist() == in_warehouse.supersessions.values.tolist() == [
        ["entry", "e1", "timelogs/a.csv", 2, "timelogs/b.csv", 2, "service|ended_at|duration_minutes|currency"],
        ["entry", "e3", "timelogs/a.csv", 4, "timelogs/b.csv", 3,
         "customer_id|ended_at|duration_minutes|project|currency"]]
    quarantine = [tuple(r) for r in without.quarantine[["line", "column", "value", "reason_code", "detail"]].values]
    assert quarantine == [
        (3, "entry_id", "e9", "unknown_entry", "no valid time entry has this entry_id"),   # authorizations.csv
        (3, "duration_minutes", "x", "unparseable_value", "duration_minutes 'x' cannot be read"),
        (5, "customer_id", "Nobody", "unknown_customer", "no customer 'Nobody'"),
        (6, "customer_id", "ACME", "ambiguous_customer", "'ACME' matches customers c2, c3"),
        (7, "currency", "EUR", "currency_mismatch", "customer's currency is USD")]
    pd.testing.assert_frame_equal(in_warehouse.quarantine, without.quarantine)


def _typed(tmp_path, timelog: str, tz: str) -> tuple[list[tuple], list[tuple], list[bool]]:
    """typed_timelogs' rows and issues of one time log, typed on a warehouse's first night, and
    which rows were plain (typed from SQL)."""
    inbox = write_inbox(tmp_path / "inbox", timelogs=timelog)
    con = warehouse.connect(tmp_path / "w.duckdb")
    con.execute("set TimeZone = 'UTC'")
    ingest.ingest(con, inbox, 1)
    kept.typed_timelogs(con, tz)
    rows = con.execute("""select line, started_at::varchar, ended_at::varchar, authorized_at::varchar, billable,
                                 billed_elsewhere, duration_seconds, local_ok
                          from typed_timelogs order by line""").fetchall()
    issues = con.execute("""select line, "column", value, reason_code, detail from typed_timelog_issues
                            order by line, "column", reason_code""").fetchall()
    con.execute("create or replace temp table _wanted_files as select file_id from files where kind = 'timelogs'")
    plain = [p for _, p in con.execute(f"select line, plain from ({kept._cells_sql()}) order by line").fetchall()]
    return rows, issues, plain


def test_plain_rows__local_times_dst_and_durations__typed_exactly(tmp_path):
    header = "entry_id,customer_id,user,service,started_at,ended_at,duration_minutes,billable,authorized_at\n"
    rows, issues, plain = _typed(tmp_path, header +
                          "e1,c1,ann,support,2026-03-29T01:30:00,2026-03-29T03:30,,YES,\n"       # over the DST gap
                          "e2,c1,ann,support,2026-03-29T02:30,,0.025,No,2026-03-30 08:00:07.9\n"  # in the gap
                          "e3,c1,ann,support,2026-10-25T02:30:00,2026-10-25T02:40:00,10,,\n",     # in the overlap
                          "Europe/Berlin")
    assert rows == [
        (2, "2026-03-29 00:30:00+00", "2026-03-29 01:30:00+00", None, True, False, 3600, True),
        (3, "2026-03-29 01:30:00+00", None, "2026-03-30 06:00:07+00", False, False, 2, True),
        (4, "2026-10-25 00:30:00+00", "2026-10-25 00:40:00+00", None, True, False, 600, True)]
    assert (issues, plain) == ([], [True, True, True])


def test_plain_and_other_rows__offsets_bad_cells_conflicts__same_as_type_timelogs(tmp_path):
    header = "entry_id,customer_id,user,service,started_at,ended_at,duration_minutes,billable\n"
    rows, issues, plain = _typed(tmp_path, header +
                          "e1,c1,ann,support,2026-01-05T09:00+02:00,2026-01-05T09:30:00,,\n"  # offset
                          "e2,c1,ann,support,2026-01-05T09:00,2026-01-05T09:30,45,\n"         # conflict
                          "e3,c1,ann,support,2026-01-05T09:00,2026-01-06T09:01,,\n"           # over 24 h
                          "e4,c1,ann,support,2026-01-05T09:30,2026-01-05T09:00,,\n"           # negative
                          "e5,c1,ann,support,1899-12-31T23:30:00,,30,\n"                      # out of range
                          "e6,c1,ann,support,2026-02-30T09:00,,30,ſi\n"                      # no such day
                          "e6,,ann,support,2026-01-05T09:00,,30,\n",                          # repeated, blank
                          "UTC")
    assert [(line, started, duration, ok) for line, started, _, _, _, _, duration, ok in rows] == [
        (2, "2026-01-05 07:00:00+00", 9000, True), (3, "2026-01-05 09:00:00+00", 1800, False),
        (4, "2026-01-05 09:00:00+00", 86460, False), (5, "2026-01-05 09:30:00+00", -1800, False),
        (6, None, 1800, False), (7, None, 1800, False), (8, "2026-01-05 09:00:00+00", 1800, False)]
    assert issues == [
        (3, "duration_minutes", "45", "duration_conflict",
         "ended_at − started_at is 30 min, duration_minutes says 45"),
        (4, "ended_at", "2026-01-06T09:01", "implausible_duration", "duration of 86460 s is over 24 hours (86400 s)"),
        (5, "ended_at", "2026-01-05T09:00", "negative_duration", "ended_at: negative duration"),
        (6, "started_at", "1899-12-31T23:30:00", "out_of_range", "started_at must lie in the years 1900–2199"),
        (7, "billable", "ſi", "unparseable_value", "billable 'ſi' cannot be read"),
        (7, "started_at", "2026-02-30T09:00", "unparseable_value",
         "started_at '2026-02-30T09:00' cannot be read (expected a date and time as YYYY-MM-DDTHH:MM, "
         "seconds and a UTC offset optional)"),
        (8, "entry_id", "e6", "duplicate_id", "entry_id already used by an earlier row")]
    # a conflict, over 24 h and negative are found after SQL, on the time zone's instants
    assert plain == [False, True, True, True, False, False, False]
