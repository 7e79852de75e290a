"""The nightly flow (ingest → validate → reconcile → documents → reports → publish) and backfill.

The steps and their order live in `transforms.run.nightly.nightly` and `close_month`; this flow
runs them as Prefect tasks (flows/tasks.py) and shows the run in the UI as artifacts (flows/artifacts.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from flows import artifacts
from flows.defaults import DEFAULT_OUT, DEFAULT_WAREHOUSE, default_inbox
from flows.logs import to_flow_run_log
from flows.tasks import prefect_step
from transforms.run.nightly import (RunReport, backfill, business_zone, check_backfill, last_complete_day,
                                    out_for, run_nightly)


def _nightly_name() -> str:
    as_of = flow_run.parameters.get("as_of")
    return f"nightly-{as_of or 'yesterday'}"


def _backfill_name() -> str:
    p = flow_run.parameters
    return f"backfill-{p.get('from_date')}-to-{p.get('to_date')}"


@flow(name="nightly", flow_run_name=_nightly_name, log_prints=True)
def nightly_flow(as_of: date | None = None, inbox: Path | None = None, warehouse: Path = DEFAULT_WAREHOUSE,
                 out: str = DEFAULT_OUT, tz: str | None = None, reports: bool = True, shards: int = 1,
                 dask_address: str | None = None, shard_dir: Path | None = None,
                 billing_starts: date | None = None, archive: Path | None = None,
                 recompute: bool = False) -> RunReport:
    """Reconcile one night, all or nothing, and publish its summary as artifacts.

    as_of: the run date; default the last complete day in the business time zone (a run at 02:00
    does yesterday).
    tz, billing_starts: the warehouse's settings, fixed by its first run (transforms/run/settings.py).
    out: the output folder; `{as_of}` in it becomes the run date.
    shards: > 1 computes customers in that many shards on a Dask cluster (`dask_address`, or a
    LocalCluster of this machine's cores); docs/sharding.md.
    recompute: ignore what earlier runs kept (typed rows, folds) and compute from scratch.
    """
    as_of = as_of or last_complete_day(business_zone(warehouse, tz))
    run_shards = None
    if shards > 1:
        from flows.sharded import dask_executor
        run_shards = dask_executor(address=dask_address)
    with to_flow_run_log():
        report = run_nightly(inbox or default_inbox(), warehouse, out_for(out, as_of), as_of, tz, reports,
                             step=prefect_step, flow_run_id=flow_run.id, shards=shards, shard_dir=shard_dir,
                             run_shards=run_shards, billing_starts=billing_starts, archive=archive,
                             recompute=recompute)
    artifacts.publish(report)
    return report


@flow(name="backfill", flow_run_name=_backfill_name)
def backfill_flow(from_date: date, to_date: date, inbox: Path | None = None,
                  warehouse: Path = DEFAULT_WAREHOUSE, out: str = DEFAULT_OUT, tz: str | None = None,
                  reports: bool = True, billing_starts: date | None = None) -> list[RunReport]:
    """Every night from `from_date` to `to_date` in order, each its own nightly flow run, exactly
    as if each had run on its night; stops at the first night that fails."""
    check_backfill(warehouse, from_date)
    reports_ = backfill(lambda night: nightly_flow(as_of=night, inbox=inbox, warehouse=warehouse, out=out,
                                                   tz=tz, reports=reports, billing_starts=billing_starts),
                        from_date, to_date)
    lines = [f"# Backfill {from_date} to {to_date}", "", "| night | run | documents issued | outputs |",
             "|---|---:|---|---|"]
    lines += [f"| {r.as_of} | {r.run_id} | {', '.join(r.documents) or '-'} | `{r.out}` |" for r in reports_]
    create_markdown_artifact(key="backfill", markdown="\n".join(lines) + "\n",
                             description=f"{len(reports_)} night(s) committed")
    return reports_
