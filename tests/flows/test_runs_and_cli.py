"""Run records, the reconciliation workbook, the CLI without Prefect, schedules, retry policy."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.conftest import write_inbox
from tests.flows.conftest import STORY, rows, table
from transforms.documents import documents
from transforms.run.nightly import call, run_close, run_nightly


def test_failed_run__rolled_back_then_recorded_with_its_error(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", **STORY)

    def failing_step(fn, *args, **kwargs):
        if fn is documents.issue_documents:
            raise RuntimeError("disk on fire")
        return call(fn, *args, **kwargs)

    with pytest.raises(RuntimeError, match="disk on fire"):
        run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31), step=failing_step)

    w = tmp_path / "w.duckdb"
    assert table(w, "select count(*) from files") == [(0,)]          # the ingest was rolled back
    assert table(w, "select run_id, command, as_of, outcome, error, counts from runs") == [
        (1, "nightly", date(2026, 1, 31), "failed", "RuntimeError: disk on fire", None)]
    inputs = json.loads(table(w, "select inputs from runs")[0][0])
    assert sorted(inputs) == ["customers.csv", "purchases.csv", "rates.csv", "timelogs/t.csv"]
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.run-*"))


def test_committed_run__record_and_run_json_name_inputs_counts_outcome(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", **STORY)
    report = run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31), reports_enabled=False)

    (command, as_of, outcome, started, ended, inputs, counts), = table(
        tmp_path / "w.duckdb", "select command, as_of, outcome, started_at, ended_at, inputs, counts from runs")
    run_json = json.loads((tmp_path / "out" / "run.json").read_text())
    assert (command, as_of, outcome) == ("nightly", date(2026, 1, 31), "committed") and started <= ended
    assert json.loads(inputs) == run_json["inputs"] and len(run_json["inputs"]["customers.csv"]) == 64
    assert json.loads(counts) == run_json["counts"] == report.counts
    assert run_json["outcome"] == "committed" and run_json["run_id"] == report.run_id


def test_reconciliation_xlsx__numbers_are_numbers_header_frozen_formula_text_defused(tmp_path):
    from openpyxl import load_workbook

    inbox = write_inbox(tmp_path / "inbox", customers="customer_id,name,currency\n=c2,Evil Corp,EUR",
                        purchases="block_id,customer_id,kind,service,quantity,amount_paid,purchased_on\n"
                                  "v1,=c2,value,@ops,100.00,90.00,2026-01-05")
    run_close(inbox, tmp_path / "w.duckdb", tmp_path / "close", "2026-01", reports_enabled=False)

    sheet = load_workbook(tmp_path / "close" / "reconciliation.xlsx")["Reconciliation"]
    assert sheet.freeze_panes == "A2" and sheet.print_title_rows == "$1:$1"
    assert (sheet.page_setup.orientation, sheet.page_setup.paperSize) == ("landscape", 9)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToHeight == 0  # one page wide
    header, row = [[c.value for c in r] for r in sheet.iter_rows(max_row=2)]
    assert header == ["Customer ID", "Customer", "Kind", "Service", "Unit", "Opening", "Purchased", "Used",
                      "Expired unused", "Closing", "Currency", "Deferred revenue", "Breakage (expired value)"]
    assert row == ["=c2", "Evil Corp", "Prepaid value", "@ops", "EUR", 0, 100, 0, 0, 100, "EUR", 90, 0]
    assert sheet["A2"].data_type == "s" and sheet["A2"].quotePrefix and sheet["D2"].quotePrefix
    assert sheet["G2"].data_type == "n" and sheet["L2"].number_format == "#,##0.00_0"
    assert rows(tmp_path / "close" / "reconciliation.csv")[0]["customer_id"] == "'=c2"


def test_reconciliation_xlsx__hours_in_hours__names__totals_per_currency__balances_and_breaches(tmp_path):
    from openpyxl import load_workbook

    inbox = write_inbox(
        tmp_path / "inbox", customers="customer_id,name,currency\nc1,Acme,EUR\nc2,Bolt,USD\nc3,Cole,EUR",
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,reorder_point\n"
                  "h1,c1,hours,10,1000.00,2026-01-05,\nh2,c2,hours,2,300.00,2026-01-05,\n"
                  "v3,c3,value,200.00,180.00,2026-01-05,160",
        rates="hourly_rate\n100",
        timelogs="entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
                 "e1,c1,ann,support,2026-01-06T09:00,90,2026-01-06T12:00\n"
                 "e2,c3,ann,support,2026-01-07T09:00,30,2026-01-07T12:00")
    run_close(inbox, tmp_path / "w.duckdb", tmp_path / "close", "2026-01", reports_enabled=False)

    book = load_workbook(tmp_path / "close" / "reconciliation.xlsx")
    assert book.sheetnames == ["Reconciliation", "Balances", "Breaches", "Late adjustments", "Close"]
    assert [list(r) for r in book["Reconciliation"].iter_rows(min_row=2, values_only=True)] == [
        ["c1", "Acme", "Hours", "any service", "hours", 0, 10, 1.5, 0, 8.5, "EUR", 850, 0],
        ["c2", "Bolt", "Hours", "any service", "hours", 0, 2, 0, 0, 2, "USD", 300, 0],
        ["c3", "Cole", "Prepaid value", "any service", "EUR", 0, 200, 50, 0, 150, "EUR", 135, 0],
        [None] * 13,
        ["Totals per currency"] + [None] * 12,
        [None, "Total EUR"] + [None] * 8 + ["EUR", 985, 0],
        [None, "Total USD"] + [None] * 8 + ["USD", 300, 0]]
    assert [list(r)[:10] for r in book["Balances"].iter_rows(min_row=2, values_only=True)] == [
        ["c1", "Acme", "h1", "Hours", "any service", "hours", 10, 1.5, 0, 8.5],
        ["c2", "Bolt", "h2", "Hours", "any service", "hours", 2, 0, 0, 2],
        ["c3", "Cole", "v3", "Prepaid value", "any service", "EUR", 200, 50, 0, 150]]
    assert [list(r) for r in book["Breaches"].iter_rows(min_row=2, values_only=True)] == [
        ["c3", "Cole", "Prepaid value", "any service", "EUR", 150, 160, None]]     # 150.00 left < 160.00


def test_cli_nightly_backfill_no_prefect__every_night_committed_in_order(tmp_path, capsys):
    from flows.cli import main

    inbox = write_inbox(tmp_path / "inbox", **STORY)
    code = main(["nightly", "--no-prefect", "--no-reports", "--inbox", str(inbox), "--warehouse",
                 str(tmp_path / "w.duckdb"), "--from", "2026-01-30", "--to", "2026-02-01",
                 "--out", str(tmp_path / "out-{as_of}")])
    assert code == 0
    assert "backfill 2026-01-30 to 2026-02-01: 3 night(s) committed" in capsys.readouterr().out
    assert table(tmp_path / "w.duckdb", "select as_of from runs order by run_id") == [
        (date(2026, 1, 30),), (date(2026, 1, 31),), (date(2026, 2, 1),)]
    assert sorted(p.name for p in tmp_path.glob("out-*")) == ["out-2026-01-30", "out-2026-01-31", "out-2026-02-01"]


def test_cli_backfill__night_in_closed_period__one_line_exit_2_nothing_run(tmp_path, capsys):
    from flows.cli import main

    inbox = write_inbox(tmp_path / "inbox", **STORY)
    common = ["--no-prefect", "--no-reports", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w.duckdb")]
    assert main(["close", "--period", "2026-01", "--out", str(tmp_path / "close"), *common]) == 0
    capsys.readouterr()
    assert main(["nightly", "--from", "2026-01-31", "--to", "2026-02-01", *common]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("prepaid: backfill stopped at 2026-01-31: 2026-01-31 is in a closed period")


def test_cli__inbox_missing__one_line_exit_2(tmp_path, capsys):
    from flows.cli import main

    assert main(["nightly", "--inbox", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert capsys.readouterr().err == f"prepaid: inbox {tmp_path / 'nope'} does not exist or is not a folder\n"


def test_cli_demo__no_server_configured__fast_path_without_prefect(tmp_path, monkeypatch, capsys):
    from flows import cli

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(cli, "use_prefect", lambda verbose: pytest.fail("demo started Prefect"))
    assert cli.main(["demo", "--warehouse", str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "demo")]) == 0
    assert "as of 2026-03-31" in capsys.readouterr().out


def test_serve_deployments__cron_in_business_time_zone_absolute_paths(tmp_path):
    from flows.deploy import deployments

    nightly, close, backfill = deployments(tmp_path / "inbox", tmp_path / "w.duckdb", "out/{as_of}",
                                           "out/close-{period}", "Europe/Berlin")
    assert [(d.name, [(s.schedule.cron, s.schedule.timezone) for s in d.schedules]) for d in (nightly, close, backfill)] == [
        ("prepaid-nightly", [("0 2 * * *", "Europe/Berlin")]),
        ("prepaid-close", [("0 6 1 * *", "Europe/Berlin")]),
        ("prepaid-backfill", [])]
    assert nightly.parameters["warehouse"] == str(tmp_path / "w.duckdb")
    assert nightly.parameters["out"].endswith("/out/{as_of}") and nightly.parameters["tz"] == "Europe/Berlin"


def test_io_retry_policy__only_os_errors_retry_and_only_io_tasks_have_retries():
    from prefect.states import Failed

    from flows import tasks

    assert tasks.transient_io(None, None, Failed(data=OSError("share unavailable")))
    assert not tasks.transient_io(None, None, Failed(data=ValueError("bad input")))
    retried = {t.name for t in tasks.TASKS.values() if t.retries}
    assert retried == {"ingest", "write-outputs", "reports", "archive", "publish", "write-reconciliation"}
    assert all(t.cache_policy is tasks.NONE for t in tasks.TASKS.values())


def test_summary_artifact_rows__money_as_exact_text_documents_and_breaches():
    from flows.artifacts import quarantine_markdown, summary_rows
    from transforms.run.nightly import RunReport

    report = RunReport(7, date(2026, 3, 31), None, None, counts={
        "customers": 1, "blocks": 2, "blocks_by_status": {"active": 2}, "entries": 3,
        "entries_by_status": {"charged": 3}, "minutes_charged": 90, "minutes_covered": 60,
        "minutes_overage": 30, "entries_unpriced": 0,
        "money_charged": {"EUR": {"value_used": "0.00", "overage": "45.00"}},
        "documents_total": {"EUR overage": {"count": 1, "total": "53.55"}}, "pools_in_breach": 1,
        "documents_issued": 1, "quarantined_rows": 2, "quarantine_by_reason": {"missing_value": 2}})
    figures = {r["figure"]: r["value"] for r in summary_rows(report)}
    assert figures["overage (EUR)"] == "45.00" and figures["documents EUR overage total"] == "1 = 53.55"
    assert figures["pools in breach"] == "1" and figures["documents issued"] == "1"
    assert "| `missing_value` | 2 |" in quarantine_markdown(report)
