"""The 200,000-row hostile time log of issue 7 against the benchmark (issue 6).

    .venv/bin/python -m bench.hostile [--reps 3]

Builds the inbox of `tests/reliability/test_load.py` (200 customers, 200,000 entries in one
file; hostile text in every free-text column, a two-line description in every 9th row, one
row in 1,000 with a negative duration and one in 997 with an unknown customer) under
bench/work/inbox-hostile-200k, then, each in a fresh process, measures back to back:

- the floor: DuckDB reading every cell of the inbox's CSVs (as bench/run.py does);
- `run_ingest` on an empty warehouse: ingest + validation (the quarantine is stored), timed
  around the call, with the run's own phase timings;
- the same for the ordinary generated inbox of the same size (no hostile text), so that the
  cost of hostile text shows as the difference.

Writes bench/results/hostile-200k.json; `python -m bench.report` puts the table in
BENCHMARKS.md. The outputs are asserted by the test suite, not here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from datetime import datetime, timezone
from pathlib import Path

from bench.run import DEFAULT_RESULTS, DEFAULT_WORK, input_groups, load_average, machine_info, measure


def build(work: Path) -> dict[str, Path]:
    from tests.reliability.test_load import ENTRIES, hostile_inbox
    from transforms.run.generate import generate_inbox
    from datetime import date

    inboxes = {"hostile": work / "inbox-hostile-200k", "ordinary": work / "inbox-ordinary-200k"}
    if not (inboxes["hostile"] / "timelogs" / "part-01.csv").exists():
        shutil.rmtree(inboxes["hostile"], ignore_errors=True)
        hostile_inbox(inboxes["hostile"])
    if not (inboxes["ordinary"] / "timelogs" / "part-01.csv").exists():
        shutil.rmtree(inboxes["ordinary"], ignore_errors=True)
        generate_inbox(inboxes["ordinary"], 200, ENTRIES, 7, start=date(2025, 1, 1), days=365, files=1)
        (inboxes["ordinary"] / "authorizations.csv").unlink()
    return inboxes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    work, results = DEFAULT_WORK, DEFAULT_RESULTS
    work.mkdir(parents=True, exist_ok=True)
    log = work / "measurements.log"
    inboxes = build(work)
    result = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": machine_info(), "load_average_start": load_average(), "inboxes": {}}
    for name, inbox in inboxes.items():
        reps = []
        for _ in range(args.reps):
            floor = measure({"kind": "floor", "groups": input_groups(inbox)}, args.timeout, log)
            warehouse = work / f"{name}-200k.duckdb"
            warehouse.unlink(missing_ok=True)
            run = measure({"kind": "ingest", "inbox": str(inbox), "warehouse": str(warehouse)}, args.timeout, log)
            reps.append({"floor": floor, "ingest": run,
                         "ratio_to_floor": round(run["seconds"] / floor["seconds"], 2)})
            print(f"[{name}] floor {floor['seconds']:.3f}s, ingest + validate {run['seconds']:.2f}s "
                  f"({reps[-1]['ratio_to_floor']}× floor)", flush=True)
        middle = sorted(reps, key=lambda r: r["ingest"]["seconds"])[len(reps) // 2]
        result["inboxes"][name] = {
            "inbox": str(inbox), "reps": reps, "median": middle,
            "input_bytes": middle["floor"]["bytes"], "rows": middle["floor"]["rows"],
            "seconds_median": statistics.median(r["ingest"]["seconds"] for r in reps),
        }
    result["load_average_end"] = load_average()
    out = results / "hostile-200k.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
