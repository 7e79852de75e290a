"""The month-end close flow and the reopen flow (rules: transforms/close/close.py)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from flows import artifacts
from flows.defaults import DEFAULT_CLOSE_OUT, DEFAULT_WAREHOUSE, close_out, default_inbox
from flows.logs import to_flow_run_log
from flows.tasks import prefect_step
from transforms.run.nightly import ReopenReport, RunReport, business_zone, run_close, run_reopen, today_in
from transforms.units import period_of, previous_period


def _close_name() -> str:
    return f"close-{flow_run.parameters.get('period') or 'last-month'}"


@flow(name="close", flow_run_name=_close_name)
def close_flow(period: str | None = None, inbox: Path | None = None, warehouse: Path = DEFAULT_WAREHOUSE,
               out: str = DEFAULT_CLOSE_OUT, tz: str | None = None, force: bool = False,
               reports: bool = True) -> RunReport:
    """Close a month: reconcile as of its last day, freeze the reconciliation, lock it (no
    document is issued: the next nightly run bills what the close finds unbilled).

    period: YYYY-MM; default the month before today in `tz` (the schedule runs on the 1st).
    Refuses while entries dated in the period are pending, unless `force`. A period closed
    already is left as it is (the run reports its frozen close).
    """
    period = period or previous_period(period_of(today_in(business_zone(warehouse, tz))))
    with to_flow_run_log():
        report = run_close(inbox or default_inbox(), warehouse, close_out(out, period), period, tz, force,
                           reports, step=prefect_step, flow_run_id=flow_run.id)
    if report.already_closed is not None:
        create_markdown_artifact(key="close-summary", markdown=f"# Close {period}\n\n{report.already_closed}: "
                                 "nothing changed.\n", description=f"Close of {period}: already closed")
    else:
        artifacts.publish(report)
    return report


@flow(name="reopen", flow_run_name=lambda: f"reopen-{flow_run.parameters.get('period')}")
def reopen_flow(period: str, reason: str | None = None, warehouse: Path = DEFAULT_WAREHOUSE) -> ReopenReport:
    """Reopen the last closed period (recorded); corrections then go through documents."""
    with to_flow_run_log():
        report = run_reopen(warehouse, period, reason, step=prefect_step, flow_run_id=flow_run.id)
    create_markdown_artifact(key="reopen", markdown=f"# Reopened {period}\n\nRun {report.run_id} reopened "
                             f"{period} (closed by run {report.closed_by_run_id}). Reason: {reason or '-'}\n",
                             description=f"Reopen of {period}")
    return report
