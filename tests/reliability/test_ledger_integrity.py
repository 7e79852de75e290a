"""Ledger integrity under real operator habits (issue 17, SPEC §2, §6, §8, §9).

Each test reproduces one way the books used to go wrong: a backdated night, a close between
nights, a correction file named to sort first, a broken record in a time log, a forgotten or
mistyped `--tz`, a changed or moved purchase, a tracker export in another currency.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from tests.conftest import read_csv, write_inbox
from tests.reliability.helpers import snapshot
from transforms.run.nightly import run_close, run_nightly

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
CORRECTED_T5257 = ("T-005257,C-1001,carla,consulting,2026-03-10T08:55:00,2026-03-10T09:25:00,30,true,,"
                   "2026-03-12T09:17:29,Managed IT,,IT budget planning 2026")


def demo_inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    shutil.copytree(DEMO, inbox)
    return inbox


def nightly(inbox: Path, warehouse: Path, out: Path, as_of: str, *extra: str) -> int:
    return main(["nightly", "--no-prefect", "--no-reports", "--inbox", str(inbox), "--warehouse", str(warehouse),
                 "--out", str(out), "--as-of", as_of, *extra])


def documents(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select number, kind, issued_on::varchar, total_cents, corrects from documents "
                           "order by run_id, seq").fetchall()
    finally:
        con.close()


# --- 1. documents move forward only ---------------------------------------------------------

def test_backdated_nightly__refused_with_both_dates__warehouse_and_outputs_unchanged(tmp_path, capsys):
    inbox, warehouse = demo_inbox(tmp_path), tmp_path / "w.duckdb"
    assert nightly(inbox, warehouse, tmp_path / "o1", "2026-03-31") == 0
    before = snapshot(warehouse)
    capsys.readouterr()

    assert nightly(inbox, warehouse, tmp_path / "o2", "2026-03-15") == 2

    assert capsys.readouterr().err == (
        "prepaid: nightly as of 2026-03-15 refused: the last committed nightly run is as of 2026-03-31, "
        "and documents move forward only; run as of 2026-03-31 or later\n")
    assert snapshot(warehouse) == before
    assert not (tmp_path / "o2").exists()
    assert not any(kind == "credit_note" for _, kind, *_ in documents(warehouse))


def test_backfill_starting_before_the_last_night__refused_before_any_night_runs(tmp_path, capsys):
    inbox, warehouse = demo_inbox(tmp_path), tmp_path / "w.duckdb"
    assert nightly(inbox, warehouse, tmp_path / "o1", "2026-03-31") == 0
    capsys.readouterr()
    assert main(["nightly", "--no-prefect", "--no-reports", "--inbox", str(inbox), "--warehouse", str(warehouse),
                 "--out", str(tmp_path / "b-{as_of}"), "--from", "2026-03-30", "--to", "2026-04-02"]) == 2
    assert capsys.readouterr().err == (
        "prepaid: backfill from 2026-03-30 refused: the last committed nightly run is as of 2026-03-31, "
        "and documents move forward only; backfill from 2026-03-31 or later\n")
    assert list(tmp_path.glob("b-*")) == []


def test_nightly_close_nightly__close_issues_nothing__no_credit_note_and_no_second_invoice(tmp_path):
    # e1 was worked on 31 December and authorized on 1 January: charged as of 2026-01-01, pending
    # as of the period end 2025-12-31 (so the close needs --force)
    inbox = write_inbox(
        tmp_path / "in",
        customers="customer_id,name,currency,invoice_cadence\nc1,One,EUR,nightly",
        rates="customer_id,hourly_rate\nc1,60.00",
        timelogs="entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
                 "e1,c1,ann,support,2025-12-31T20:00,90,2026-01-01T09:00")
    warehouse = tmp_path / "w.duckdb"
    run_nightly(inbox, warehouse, tmp_path / "n1", date(2026, 1, 1), reports_enabled=False)
    close = run_close(inbox, warehouse, tmp_path / "close", "2025-12", force=True, reports_enabled=False,
                      today=date(2026, 1, 2))
    run_nightly(inbox, warehouse, tmp_path / "n2", date(2026, 1, 2), reports_enabled=False)

    assert close.documents == [] and read_csv(tmp_path / "close" / "invoices.csv") == []
    assert documents(warehouse) == [("INV-2026-000001", "overage", "2026-01-01", 9000, None)]
    assert read_csv(tmp_path / "n2" / "invoices.csv") == []
    # the close reconciles as of its own date: e1 is pending there, billed by no document then
    assert [(r["entry_id"], r["status"], r["document_numbers"]) for r in read_csv(tmp_path / "close" / "entries.csv")] \
        == [("e1", "pending", "")]


# --- 2. history order: the version received later wins -------------------------------------

def test_correction_file_named_to_sort_first__wins_and_is_credited(tmp_path):
    inbox, warehouse = demo_inbox(tmp_path), tmp_path / "w.duckdb"
    run_nightly(inbox, warehouse, tmp_path / "o1", date(2026, 3, 31), reports_enabled=False)
    header = (inbox / "timelogs" / "2026-03.csv").read_text(encoding="utf-8").splitlines()[0]
    (inbox / "timelogs" / "2026-03-corrections.csv").write_text(f"{header}\n{CORRECTED_T5257}\n", encoding="utf-8")

    run_nightly(inbox, warehouse, tmp_path / "o2", date(2026, 4, 1), reports_enabled=False)

    out = tmp_path / "o2"
    entry = next(r for r in read_csv(out / "entries.csv") if r["entry_id"] == "T-005257")
    assert (entry["billable_minutes"], entry["overage_amount"], entry["document_numbers"]) == \
        ("30", "72.50", "INV-2026-000002|CN-2026-000001")
    assert read_csv(out / "invoices.csv") == [dict(
        number="CN-2026-000001", kind="credit_note", customer_id="C-1001", issued_on="2026-04-01", currency="EUR",
        net="-72.50", tax="-13.78", total="-86.28", corrects="INV-2026-000002")]
    assert read_csv(out / "supersessions.csv") == [dict(
        kind="entry", id="T-005257", source_file="timelogs/2026-03.csv", line="42",
        superseded_by_file="timelogs/2026-03-corrections.csv", superseded_by_line="2",
        changed_columns="ended_at|duration_minutes")]


def test_same_run__files_in_name_order__the_later_name_wins(tmp_path, reconcile):
    header = "entry_id,customer_id,user,service,started_at,duration_minutes\n"
    out = reconcile("2026-01-31", timelogs={"a.csv": header + "e1,c1,ann,dev,2026-01-05T09:00,30",
                                            "b.csv": header + "e1,c1,ann,dev,2026-01-05T09:00,45"})
    assert out.entry("e1", "billable_minutes") == {"billable_minutes": "45"}
    assert out.rows("supersessions") == [dict(kind="entry", id="e1", source_file="timelogs/a.csv", line="2",
                                              superseded_by_file="timelogs/b.csv", superseded_by_line="2",
                                              changed_columns="duration_minutes")]


# --- 3. a broken record costs only itself ---------------------------------------------------

def test_time_log_with_a_nul_row_and_an_unterminated_quote__every_other_row_is_an_entry(tmp_path, capsys):
    rows = [f"e{i},c1,ann,dev,2026-01-05T09:00,30,ok" for i in range(1, 11)]
    rows[3] = "e4,c1,ann,dev,2026-01-05T09:00,30,a\x00b"
    rows[6] = 'e7,c1,ann,dev,2026-01-05T09:00,30,"never closed'
    inbox = write_inbox(tmp_path / "in", timelogs="entry_id,customer_id,user,service,started_at,"
                                                  "duration_minutes,description\n" + "\n".join(rows))
    assert main(["ingest", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w.duckdb")]) == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        "quarantined: 2 input line(s):", "  nul_byte: 1 line(s)", "  unterminated_quote: 1 line(s)"]

    run_nightly(inbox, tmp_path / "w2.duckdb", tmp_path / "out", date(2026, 1, 31), reports_enabled=False)

    assert [r["entry_id"] for r in read_csv(tmp_path / "out" / "entries.csv")] == \
        ["e1", "e10", "e2", "e3", "e5", "e6", "e8", "e9"]
    assert [(q["line"], q["column"], q["reason_code"]) for q in read_csv(tmp_path / "out" / "quarantine.csv")] == \
        [("5", "description", "nul_byte"), ("8", "", "unterminated_quote")]


def test_demo_march_log_with_a_broken_quote_appended__keeps_all_its_entries(tmp_path, capsys):
    inbox = demo_inbox(tmp_path)
    with open(inbox / "timelogs" / "2026-03.csv", "a", encoding="utf-8") as fh:
        fh.write('T-009999,C-1001,anna,support,2026-03-31T09:00:00,,30,true,,,,,"Printer queue\n')
    assert main(["ingest", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "  timelogs: 383 new row(s)" in out.splitlines()   # every row of the three logs
    assert "  unterminated_quote: 1 line(s)" in out.splitlines()


def test_file_rejected_whole__console_counts_every_line_it_lost(tmp_path, capsys):
    inbox = write_inbox(tmp_path / "in", timelogs="entry_id,customer_id,user,started_at,duration_minutes\n"
                                                  + "\n".join(f"e{i},c1,ann,2026-01-05T09:00,30" for i in range(396)))
    assert main(["ingest", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w.duckdb")]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == ["quarantined: 396 input line(s):",
                                                         "  missing_column: 396 line(s)"]


# --- 4. the business time zone is a setting of the warehouse --------------------------------

def test_time_zone__fixed_by_the_first_run__another_refused__omitted_uses_the_stored_one(tmp_path, capsys):
    inbox, warehouse = demo_inbox(tmp_path), tmp_path / "w.duckdb"
    assert nightly(inbox, warehouse, tmp_path / "o1", "2026-03-30", "--tz", "Europe/Berlin") == 0
    capsys.readouterr()

    assert nightly(inbox, warehouse, tmp_path / "o2", "2026-03-31", "--tz", "UTC") == 2
    assert capsys.readouterr().err == (
        "prepaid: the business time zone of this warehouse is Europe/Berlin (set by run 1); --tz UTC would "
        "re-read history: change it with `prepaid settings --tz UTC --reason TEXT`\n")

    assert nightly(inbox, warehouse, tmp_path / "o3", "2026-03-31") == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select command, as_of::varchar, tz, outcome from runs order by run_id").fetchall() == [
            ("nightly", "2026-03-30", "Europe/Berlin", "committed"),
            ("nightly", "2026-03-31", "UTC", "refused"),
            ("nightly", "2026-03-31", "Europe/Berlin", "committed")]
    finally:
        con.close()


def test_unknown_time_zone__one_line_exit_2(tmp_path, capsys):
    assert nightly(demo_inbox(tmp_path), tmp_path / "w.duckdb", tmp_path / "o", "2026-03-31",
                   "--tz", "Europe/Berln") == 2
    assert capsys.readouterr().err == ("prepaid: unknown time zone 'Europe/Berln': use an IANA name such as "
                                       "Europe/Berlin, America/New_York or UTC\n")
    assert not (tmp_path / "w.duckdb").exists()


def test_settings_command__changes_the_zone_only_with_a_reason__recorded(tmp_path, capsys):
    inbox, warehouse = demo_inbox(tmp_path), tmp_path / "w.duckdb"
    assert nightly(inbox, warehouse, tmp_path / "o1", "2026-03-31") == 0
    capsys.readouterr()
    assert main(["settings", "--warehouse", str(warehouse), "--tz", "Europe/Vienna"]) == 2
    assert capsys.readouterr().err == "prepaid: changing a setting is recorded: say why with --reason TEXT\n"

    assert main(["settings", "--warehouse", str(warehouse), "--tz", "Europe/Vienna",
                 "--reason", "the firm moved to Vienna"]) == 0
    assert capsys.readouterr().out == "business time zone: UTC -> Europe/Vienna (recorded: the firm moved to Vienna)\n"
    assert nightly(inbox, warehouse, tmp_path / "o2", "2026-03-31", "--tz", "Europe/Vienna") == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select run_id, name, value, reason from setting_changes order by run_id").fetchall() == [
            (1, "tz", "UTC", "fixed by the warehouse's first run"),
            (1, "billing_starts", None, "fixed by the warehouse's first run"),
            (2, "tz", "Europe/Vienna", "the firm moved to Vienna")]
    finally:
        con.close()


# --- 5. changed and moved purchases; tracker currency ---------------------------------------

PURCHASES = "block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
CUSTOMERS = "customer_id,name,currency\nc1,One,EUR\nc2,Two,EUR"


@pytest.fixture
def nights(tmp_path):
    """Successive nights on one warehouse, each with its own purchases.csv."""
    runs = iter(range(1, 100))

    def night(purchases: str, as_of: str) -> Path:
        n = next(runs)
        inbox = write_inbox(tmp_path / "in", customers=CUSTOMERS, purchases=PURCHASES + purchases)
        run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / f"o{n}", date.fromisoformat(as_of),
                    reports_enabled=False)
        return tmp_path / f"o{n}"

    return night


def test_changed_block__supersedes_and_is_listed_with_its_changed_columns(nights):
    nights("b1,c1,hours,10,900.00,2026-01-02", "2026-01-31")
    out = nights("b1,c1,hours,20,1700.00,2026-01-02", "2026-02-01")
    assert [(r["block_id"], r["customer_id"], r["purchased"]) for r in read_csv(out / "balances.csv")] == \
        [("b1", "c1", "1200")]
    assert read_csv(out / "supersessions.csv") == [dict(
        kind="block", id="b1", source_file="purchases.csv", line="2", superseded_by_file="purchases.csv",
        superseded_by_line="2", changed_columns="quantity|amount_paid")]


def test_block_moved_to_another_customer_or_kind__quarantined__the_earlier_version_stays(nights):
    nights("b1,c1,hours,10,900.00,2026-01-02\nb2,c1,hours,5,450.00,2026-01-02", "2026-01-31")
    out = nights("b1,c2,hours,10,900.00,2026-01-02\nb2,c1,incidents,5,450.00,2026-01-02", "2026-02-01")
    assert [(r["block_id"], r["customer_id"], r["kind"], r["purchased"]) for r in read_csv(out / "balances.csv")] == \
        [("b1", "c1", "hours", "600"), ("b2", "c1", "hours", "300")]
    assert [(q["line"], q["column"], q["value"], q["reason_code"], q["detail"])
            for q in read_csv(out / "quarantine.csv")] == [
        ("2", "customer_id", "c2", "conflicting_values",
         "block 'b1' has customer_id 'c2' since purchases.csv line 2 (an earlier version); a block cannot move "
         "to another customer or kind (the earlier version stays)"),
        ("3", "kind", "incidents", "conflicting_values",
         "block 'b2' has kind 'incidents' since purchases.csv line 3 (an earlier version); a block cannot move "
         "to another customer or kind (the earlier version stays)")]
    assert read_csv(out / "supersessions.csv") == []


def test_tracker_export_priced_in_usd_for_a_eur_customer__row_quarantined(reconcile):
    out = reconcile(
        "2026-03-31",
        customers="customer_id,name,currency\nc1,Acme GmbH,EUR\nc2,Initech,USD",
        timelogs="User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,"
                 "Duration,Tags,Amount (USD)\n"
                 "Anna,a@x.example,Acme GmbH,Support,Remote,Printer,Yes,2026-03-02,09:00:00,2026-03-02,10:30:00,"
                 "01:30:00,,135.00\n"
                 "Anna,a@x.example,Initech,Support,Remote,VPN,Yes,2026-03-03,09:00:00,2026-03-03,10:00:00,"
                 "01:00:00,,90.00")
    assert [(q["line"], q["column"], q["value"], q["reason_code"], q["detail"]) for q in out.quarantine] == \
        [("2", "currency", "USD", "currency_mismatch", "customer's currency is EUR")]
    assert [r["customer_id"] for r in out.rows("entries")] == ["c2"]


# --- the billing cutover (a setting like the time zone) -------------------------------------

def test_billing_starts__work_before_it_is_deducted_but_never_invoiced__fixed_by_the_first_run(tmp_path, capsys):
    inbox = write_inbox(
        tmp_path / "in",
        customers="customer_id,name,currency,invoice_cadence\nc1,One,EUR,nightly",
        purchases=PURCHASES + "b1,c1,hours,1,90.00,2025-12-01",
        rates="customer_id,hourly_rate\nc1,60.00",
        timelogs="entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
                 "e1,c1,ann,dev,2026-01-10T09:00,90,2026-01-10T12:00\n"
                 "e2,c1,ann,dev,2026-02-10T09:00,30,2026-02-10T12:00")
    warehouse = tmp_path / "w.duckdb"
    assert nightly(inbox, warehouse, tmp_path / "o1", "2026-02-28", "--billing-starts", "2026-02-01") == 0

    entries = {r["entry_id"]: r for r in read_csv(tmp_path / "o1" / "entries.csv")}
    assert [(e, r["covered_minutes"], r["overage_amount"], r["document_numbers"]) for e, r in entries.items()] == [
        ("e1", "60", "30.00", ""), ("e2", "0", "30.00", "INV-2026-000001")]
    assert [(r["number"], r["total"]) for r in read_csv(tmp_path / "o1" / "invoices.csv")] == \
        [("INV-2026-000001", "30.00")]
    capsys.readouterr()
    assert nightly(inbox, warehouse, tmp_path / "o2", "2026-03-01", "--billing-starts", "2026-01-01") == 2
    assert capsys.readouterr().err == (
        "prepaid: the billing cutover date of this warehouse is 2026-02-01 (set by run 1); --billing-starts "
        "2026-01-01 would re-read history: change it with `prepaid settings --billing-starts 2026-01-01 "
        "--reason TEXT`\n")
