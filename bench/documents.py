"""Documents per second of a night's files (issue 19): HTML, PDF and XML of every document.

    .venv/bin/python -m bench.documents [--entries 100000] [--work bench/work/documents]

Generates (once) an inbox of `--entries` time entries (customers = entries / 100), gives it
the billing details bench/run.py gives its inbox (so every document has its XML, as in the
bench's night), runs one night as of the last day of history without prepaid logs, and prints
the documents issued, the `write_outputs` phase of OUT/run.json (the CSVs and every document's
files) and documents per second. Then, on the committed warehouse, it writes the run's
document files again into a scratch folder, with the archive's copies as the night writes them
(`archive.write_run_documents` alone, `--rewrites` times), and prints that rate too, with the
CPU seconds per document of this process and its workers: the documents cost with nothing
else. `--reuse` skips the night and rewrites from the warehouse a previous invocation left (to
compare code versions on one warehouse).
On a machine shared with other work, the wall-clock rates follow the load; CPU per document less so.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time
from pathlib import Path

from bench.measure import discard
from bench.run import AS_OF_FULL, DAYS, FILES, SEED, START, TZ, add_billing_details, empty_trash
from transforms import warehouse
from transforms.documents import archive
from transforms.run.generate import generate_inbox
from transforms.run.nightly import run_nightly

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "documents")
    parser.add_argument("--rewrites", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="skip the night: rewrite from the last one's warehouse")
    args = parser.parse_args()
    logging.getLogger("prepaid").addHandler(logging.NullHandler())   # one warning per customer otherwise
    work = args.work / str(args.entries)
    inbox = work / "inbox"
    if not (inbox / "customers.csv").exists():
        generate_inbox(inbox, max(1, args.entries // 100), args.entries, SEED, start=START, days=DAYS, files=FILES)
    add_billing_details(inbox)      # the night's documents, e-invoices included, as bench.run has them
    if not args.reuse:
        for stale in ("warehouse.duckdb", "warehouse.duckdb.wal", "out", "warehouse-documents", "again"):
            discard(work / stale)
        run_nightly(inbox, work / "warehouse.duckdb", work / "out", AS_OF_FULL, TZ, reports_enabled=False)
        seconds = json.loads((work / "out" / "run.json").read_text())["timings_seconds"]["write_outputs"]
    con = warehouse.connect(work / "warehouse.duckdb", read_only=True)
    run_id, count = con.execute("select run_id, count(*) from documents group by run_id").fetchone()
    if not args.reuse:
        print(f"night: {count} documents, write_outputs {seconds:.1f} s, {count / seconds:.1f} documents/s",
              flush=True)
    for _ in range(args.rewrites):
        discard(work / "again")
        start, cpu = time.perf_counter(), _cpu()
        names = archive.write_run_documents(con, work / "again" / "invoices", run_id, work / "again" / "copies")
        spent, cpu = time.perf_counter() - start, _cpu() - cpu
        print(f"write_run_documents alone: {count} documents, {len(names)} files, {spent:.1f} s, "
              f"{count / spent:.1f} documents/s, {1000 * cpu / count:.1f} ms CPU a document "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    con.close()
    empty_trash(args.work)


def _cpu() -> float:
    """CPU seconds of this process and of its ended children (the pool's workers, once joined)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


if __name__ == "__main__":
    main()
