"""The Prefect flows, run against one session-scoped test server: nightly on the demo inbox,
backfill against night-by-night runs, the close flow, the CLI through Prefect."""

from __future__ import annotations

import filecmp
import json
from datetime import date
from pathlib import Path

from tests.conftest import write_inbox
from tests.flows.conftest import rows, table
from transforms.run.nightly import run_nightly

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
CSV_OUTPUTS = ("balances", "entries", "ledger", "breaches", "quarantine", "invoices", "invoice_lines")


def prefect_records(flow_run_id: str):
    """(task run names in start order, artifacts by key) of one flow run, read from the server."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    async def read():
        async with get_client() as client:
            tasks = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=50)
            # the API itself: the 3.8.8 client's read_artifacts sends nulls this server refuses
            response = await client._client.post(
                "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}}})
            artifacts = response.json()
        return tasks, artifacts

    tasks, artifacts = asyncio.run(read())
    return [t.name.rsplit("-", 1)[0] for t in tasks], {a["key"]: a["data"] for a in artifacts}


def test_nightly_flow__demo_inbox__steps_in_order_outputs_as_plain_run_and_artifacts(prefect_server, tmp_path):
    from flows.nightly import nightly_flow

    report = nightly_flow(as_of=date(2026, 3, 31), inbox=DEMO, warehouse=tmp_path / "w.duckdb",
                          out=str(tmp_path / "flow"))
    plain = run_nightly(DEMO, tmp_path / "plain.duckdb", tmp_path / "plain", date(2026, 3, 31))

    for name in CSV_OUTPUTS:
        assert filecmp.cmp(tmp_path / "flow" / f"{name}.csv", tmp_path / "plain" / f"{name}.csv", shallow=False), name
    assert report.counts == plain.counts and report.documents == plain.documents
    flow_run_id = table(tmp_path / "w.duckdb", "select flow_run_id from runs where outcome = 'committed'")[0][0]
    tasks, artifacts = prefect_records(flow_run_id)
    assert tasks == ["ingest", "validate", "stage", "reconcile", "documents", "write-outputs", "reports", "archive", "publish"]
    summary = {r["figure"]: r["value"] for r in json.loads(artifacts["nightly-summary"])}
    assert summary["documents issued"] == str(len(plain.documents)) == "15"
    assert summary["pools in breach"] == "7" and summary["minutes charged"] == "22098"
    assert "| `unknown_customer` | 1 |" in artifacts["nightly-quarantine"]
    assert f"Outputs in {tmp_path / 'flow'}:" in artifacts["nightly-report"]
    assert "   3,772  paid from prepaid value (money) blocks" in artifacts["nightly-report"]


def flow_run_log(flow_run_id: str) -> list[str]:
    """The messages of a flow run's log (its tasks' included), in order, read from the server."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()   # the handler sends in the background

    async def read():
        async with get_client() as client:
            response = await client._client.post("/logs/filter", json={
                "logs": {"flow_run_id": {"any_": [str(flow_run_id)]}}, "sort": "TIMESTAMP_ASC", "limit": 200})
            return [log["message"] for log in response.json()]

    return asyncio.run(read())


def test_nightly_flow__phase_lines_and_summary_in_the_flow_run_log(prefect_server, tmp_path):
    from flows.nightly import nightly_flow
    from transforms.run.summary import final_line

    report = nightly_flow(as_of=date(2026, 1, 31), inbox=write_inbox(tmp_path / "inbox", **NIGHTLY_CUSTOMER),
                          warehouse=tmp_path / "w.duckdb", out=str(tmp_path / "out"), reports=False)
    messages = flow_run_log(report.flow_run_id)

    phases = [m.split(":")[0] for m in messages if m.split(":")[0] in (
        "ingest", "validate", "compute", "documents", "write_outputs", "reports", "publish")]
    assert phases == ["ingest", "validate", "compute", "documents", "write_outputs", "reports", "publish"]
    summary = next(m for m in messages if m.startswith("nightly run 1 as of 2026-01-31: committed\n"))
    assert summary.endswith("\n" + final_line(report))


# Three nights of a customer billed nightly: each night issues its own overage invoice.
NIGHTLY_CUSTOMER = dict(
    customers="customer_id,name,currency,invoice_cadence,tax_rate_percent\nc1,One,EUR,nightly,19",
    purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,reorder_point,auto_invoice\n"
              "b1,c1,hours,1,100.00,2026-03-01,0.5,true",
    rates="customer_id,hourly_rate\nc1,90.00",
    timelogs="entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
             "e1,c1,ann,support,2026-03-02T09:00,45,2026-03-02T17:00\n"
             "e2,c1,ann,support,2026-03-03T09:00,30,2026-03-03T17:00\n"
             "e3,c1,bob,support,2026-03-04T09:00,50,2026-03-04T17:00",
)


def test_backfill_flow__three_nights__same_warehouse_outputs_and_numbers_as_night_by_night(prefect_server, tmp_path):
    from flows.nightly import backfill_flow

    inbox = write_inbox(tmp_path / "inbox", **NIGHTLY_CUSTOMER)
    backfill_flow(from_date=date(2026, 3, 2), to_date=date(2026, 3, 4), inbox=inbox,
                  warehouse=tmp_path / "a.duckdb", out=str(tmp_path / "a"), reports=False)
    for night in (2, 3, 4):
        run_nightly(inbox, tmp_path / "b.duckdb", tmp_path / "b", date(2026, 3, night), reports_enabled=False)

    for name in CSV_OUTPUTS:
        assert filecmp.cmp(tmp_path / "a" / f"{name}.csv", tmp_path / "b" / f"{name}.csv", shallow=False), name
    same = ["select * from documents order by number", "select * from document_lines order by number, line_no",
            "select run_id, command, as_of, outcome, inputs_sha256, counts from runs order by run_id",
            "select * from last_balances order by block_id", "select * from last_entries order by entry_id"]
    for query in same:
        assert table(tmp_path / "a.duckdb", query) == table(tmp_path / "b.duckdb", query), query
    numbers = table(tmp_path / "a.duckdb", "select number, kind, issued_on from documents order by number")
    assert [n for n, _, _ in numbers] == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]


def test_close_flow__demo_january__identity_per_row_and_closing_equals_balances(prefect_server, tmp_path):
    from flows.close import close_flow

    report = close_flow(period="2026-01", inbox=DEMO, warehouse=tmp_path / "w.duckdb",
                        out=str(tmp_path / "close-{period}"), reports=False)
    out = tmp_path / "close-2026-01"
    assert report.out == out and report.close.pools > 0
    recon = rows(out / "reconciliation.csv")
    balances = rows(out / "balances.csv")
    unit = lambda text: int(text.replace(".", "")) if text else 0   # minutes, counts or cents: exact
    for r in recon:
        if r["kind"] == "unlimited":
            assert r["opening"] == r["purchased"] == r["expired"] == r["closing"] == r["breakage"] == ""
            continue
        assert unit(r["opening"]) + unit(r["purchased"]) - unit(r["used"]) - unit(r["expired"]) == unit(r["closing"]), r
        pool = [b for b in balances if (b["customer_id"], b["kind"], b["service"]) == (r["customer_id"], r["kind"], r["service"])]
        assert sum(unit(b["remaining"]) for b in pool) == unit(r["closing"]), r
    tasks, artifacts = prefect_records(str(report_flow_run_id(tmp_path / "w.duckdb")))
    assert tasks[:5] == ["ingest", "validate", "stage", "close-baseline", "reconcile"]
    assert "close-period" in tasks and "write-reconciliation" in tasks
    assert "close-reconciliation" in artifacts


def report_flow_run_id(warehouse: Path) -> str:
    return table(warehouse, "select flow_run_id from runs where outcome = 'committed' order by run_id desc")[0][0]


def test_cli_close__through_prefect__refused_one_line_exit_2(prefect_server, tmp_path, capsys, monkeypatch):
    from flows.cli import main
    from tests.flows.conftest import STORY

    monkeypatch.setenv("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    inbox = write_inbox(tmp_path / "inbox", **STORY)
    args = ["close", "--period", "2026-02", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w.duckdb"),
            "--out", str(tmp_path / "close"), "--no-reports"]
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()
    # the phases that ran, one line each, then the refusal in one line
    assert [line.split(" ")[3].rstrip(":") for line in err[:-1]] == ["ingest", "validate", "close_baseline", "compute"]
    assert err[-1].startswith("prepaid: close of 2026-02 refused: 1 pending")

    assert table(tmp_path / "w.duckdb", "select command, outcome from runs") == [("close", "refused")]
    assert not (tmp_path / "close").exists()
