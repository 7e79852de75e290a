"""Sharded nightly on this machine (issue 9): time with 1, 2 and 4 shards, memory per worker.

    .venv/bin/python -m bench.shards [--size 1m] [--shards 1,2,4]

Uses the cached inbox of bench/run.py (bench/work/inbox-<size>; run that first). For each
shard count, in this process and back to back: a nightly run (`run_nightly`, reports off) on
an empty warehouse, shards computed as Prefect tasks on a LocalCluster of 2 worker processes
(1 shard = the single-process path, no cluster). Each shard records the peak RSS of the
worker process while it computed that shard (the high-water mark is reset first). Writes bench/results/shards-<size>.json;
`python -m bench.report` puts the table in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench.run import AS_OF_FULL, DEFAULT_RESULTS, DEFAULT_WORK, TZ


def _vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measured_shard(shard_dir: Path) -> Path:
    """compute_shard, recording the worker's peak RSS during it (Linux: the high-water mark is
    reset first, since a forked worker inherits its parent's) in shard_dir/peak-rss-mib."""
    from transforms.reconcile.shards import compute_shard

    Path("/proc/self/clear_refs").write_text("5")
    result = compute_shard(shard_dir)
    (Path(shard_dir) / "peak-rss-mib").write_text(f"{_vm_hwm_mib():.1f}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shards", description=__doc__)
    parser.add_argument("--size", default="1m")
    parser.add_argument("--shards", default="1,2,4")
    args = parser.parse_args(argv)
    inbox = DEFAULT_WORK / f"inbox-{args.size}"
    if not inbox.exists():
        raise SystemExit(f"{inbox} missing: run `python -m bench.run --sizes {args.size}` first")

    from distributed import Client, LocalCluster

    from flows.sharded import dask_executor
    from transforms.run.nightly import run_nightly

    results = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        for n in [int(x) for x in args.shards.split(",")]:
            client.restart()
            tmp = Path(tempfile.mkdtemp(prefix=f"shards-{n}-"))
            start = time.perf_counter()
            shard_dir = tmp / "shards"
            executor = dask_executor(address=cluster.scheduler_address, shard_fn=measured_shard) if n > 1 else None
            peaks: list[float] = []
            if n > 1:  # keep the shard folders to read the peaks: collect them before cleanup
                def run_shards(dirs, _run=executor):
                    results = _run(dirs)
                    peaks.extend(float((Path(d) / "peak-rss-mib").read_text()) for d in dirs)
                    return results
                executor = run_shards
            report = run_nightly(inbox, tmp / "w.duckdb", tmp / "out", AS_OF_FULL, TZ, reports_enabled=False,
                                 shards=n, shard_dir=shard_dir, run_shards=executor)
            total = time.perf_counter() - start
            results.append({
                "shards": n, "total_seconds": round(total, 2), "phases": report.timings,
                "shard_peak_rss_mib": peaks,
                "main_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "entries": report.counts["entries"], "documents": report.counts["documents_issued"],
            })
            print(json.dumps(results[-1]))
            shutil.rmtree(tmp, ignore_errors=True)
    out = DEFAULT_RESULTS / f"shards-{args.size}.json"
    out.write_text(json.dumps({"size": args.size, "as_of": AS_OF_FULL.isoformat(), "cores": os.cpu_count(),
                               "load_average": os.getloadavg(), "runs": results}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
