"""Computing shards on a Dask cluster through Prefect (issue 9).

`dask_executor(address, workers)` returns a shard executor for
`transforms.reconcile.shards.reconcile_sharded`: each shard folder becomes one Prefect task run on the
cluster (a LocalCluster of worker processes when no address is given). A shard whose worker
dies is rescheduled by Dask and retried by Prefect; results are whole-or-nothing per shard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from prefect import flow, task
from prefect.cache_policies import NONE

from flows.extras import require_dask
from transforms.reconcile.shards import compute_shard


@task(name="compute-shard", retries=2, retry_delay_seconds=1, cache_policy=NONE, persist_result=False)
def compute_shard_task(shard_dir: str, shard_fn: Callable[[Path], Path] = compute_shard) -> str:
    """Compute one customer shard (reads and writes Parquet in its shard folder)."""
    return str(shard_fn(Path(shard_dir)))


def task_runner(address: str | None, workers: int):
    require_dask()
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


def dask_executor(address: str | None = None, workers: int = 2,
                  shard_fn: Callable[[Path], Path] = compute_shard) -> Callable[[list[Path]], list[Path]]:
    """A shard executor that runs each shard as a Prefect task on a Dask cluster."""

    @flow(name="compute-shards", task_runner=task_runner(address, workers), persist_result=False)
    def compute_shards(shard_dirs: list[str]) -> list[str]:
        futures = [compute_shard_task.submit(d, shard_fn) for d in shard_dirs]
        return [f.result() for f in futures]

    def run(shard_dirs: list[Path]) -> list[Path]:
        return [Path(p) for p in compute_shards([str(d) for d in shard_dirs])]

    return run
