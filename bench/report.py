"""Render BENCHMARKS.md (and bench/results/phases.png) from bench/results/*.json.

    .venv/bin/python -m bench.report            # re-render from the results present

Everything in BENCHMARKS.md is generated from the results files except bench/notes.md,
which is included verbatim at the end (the hand-written analysis: profile findings,
suggested fixes, before/after records).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASE_ORDER = ["ingest", "validate", "compute", "documents", "write_outputs", "reports"]
COMMAND = ".venv/bin/python -m bench.run --sizes 10k,100k,1m --profile"
GiB = 1024


def load_results(results: Path) -> list[dict]:
    out = []
    for path in results.glob("*.json"):
        if path.name == "prefect.json":
            continue
        data = json.loads(path.read_text())
        if "entries" in data and "summary" in data:
            out.append(data)
    return sorted(out, key=lambda r: r["entries"])


def phase_names(results: list[dict]) -> list[str]:
    seen = list(PHASE_ORDER)
    for r in results:
        for name in (r["summary"].get("phases") or {}):
            if name not in seen:
                seen.append(name)
    return [p for p in seen if any(p in (r["summary"].get("phases") or {}) for r in results)] or PHASE_ORDER


def _s(x, digits=2) -> str:
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}" if x >= 0.01 or x == 0 else f"{x:.3f}"


def _mib(x) -> str:
    return "–" if x is None else f"{x:,.0f}"


def peak_of(summary: dict) -> float:
    """Peak memory of the run: the process and its workers (sampled sum), or the process alone."""
    return max(summary.get("peak_tree_rss_mib") or 0, summary.get("peak_rss_mib") or 0)


def by_size(results: list[dict]) -> dict[int, dict]:
    return {r["entries"]: r for r in results}


# --- goals ------------------------------------------------------------------------------

GOAL_SIZE = 1_000_000
TEN_M = 10_000_000
FULL_NIGHT_LIMIT = 10          # × (input floor + output floor); aiming at 5×
INCREMENTAL_LIMIT = 0.10       # of the full run; aiming at 5%
RSS_1M_LIMIT = 1.5 * GiB
RSS_10M_LIMIT = 4 * GiB
REFERENCE_SPEEDUP = 5
NOTES = ROOT / "bench" / "notes.md"
WOULD_TAKE_HEADING = "### What it would take"
MISSING_PLAN = "*to be written: bench/notes.md, “What it would take”*"


def would_take(notes: Path = NOTES) -> dict[str, str]:
    """`- `key`: text` lines of the “What it would take” section of bench/notes.md, by key."""
    if not notes.exists():
        return {}
    plans, inside = {}, False
    for line in notes.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            inside = line.strip() == WOULD_TAKE_HEADING
            continue
        match = __import__("re").match(r"^- `([\w-]+)`:\s*(.*)$", line) if inside else None
        if match and match.group(2).strip():
            plans[match.group(1)] = match.group(2).strip()
    return plans


def notes_without_plans(text: str) -> str:
    """bench/notes.md without the “What it would take” section (it is in the goals table)."""
    out, skipping = [], False
    for line in text.splitlines():
        if line.startswith("#"):
            skipping = line.strip() == WOULD_TAKE_HEADING
        if not skipping:
            out.append(line)
    return "\n".join(out)


def goal_size(results: list[dict], key=lambda s: "nightly_seconds" in s) -> tuple[dict | None, bool]:
    """The 1M results, or else the largest size that has what `key` needs (and False)."""
    sizes = by_size(results)
    if GOAL_SIZE in sizes and key(sizes[GOAL_SIZE]["summary"]):
        return sizes[GOAL_SIZE], True
    done = [r for r in results if key(r["summary"]) and r["entries"] <= GOAL_SIZE]
    return (done[-1] if done else None), False


def verdict(ok: bool, at_goal: bool, size: str) -> str:
    if not at_goal:
        return f"not measured at 1M (would be {'met' if ok else 'not met'} at {size})"
    return "met" if ok else "not met"


def goals(results: list[dict]) -> list[dict]:
    """One row per goal: issue, key (for bench/notes.md), goal, measured, verdict."""
    rows = []

    def add(issue, key, goal, measured, outcome):
        rows.append({"issue": issue, "key": key, "goal": goal, "measured": measured, "verdict": outcome})

    # 1. the full night against its floor (input floor + output floor, same bench run)
    r, at = goal_size(results, lambda s: "ratio_to_floor_in_out" in s)
    goal = f"full night at 1M ≤ {FULL_NIGHT_LIMIT}× its floor (input + output floor), aiming at 5×"
    if r is None:
        add(19, "full_night", goal, "no finished run with both floors", "not measured")
    else:
        s = r["summary"]
        add(19, "full_night", goal,
            f"{r['size']}: {_s(s['nightly_seconds'])} s vs floor {_s(s['floor_seconds'], 3)} s in + "
            f"{_s(s['output_floor_seconds'])} s out = {_s(s['floor_in_out_seconds'])} s: "
            f"**{s['ratio_to_floor_in_out']:.1f}×** ({_n(s.get('documents_issued'))} documents)",
            verdict(s["ratio_to_floor_in_out"] <= FULL_NIGHT_LIMIT, at, r["size"]))
        if s.get("reconciliation_ratio_to_floor_in_out") is not None:
            add(19, "reconciliation", "… the reconciliation: the same night without writing documents' files",
                f"{r['size']}: {_s(s['reconciliation_seconds'])} s = **{s['reconciliation_ratio_to_floor_in_out']:.1f}×** "
                f"the floor; documents' files {_s(s['documents_files_seconds'])} s "
                f"({s['documents_files_share']:.0%} of the night, {s.get('documents_per_second') or 0:.0f} documents/s)",
                verdict(s["reconciliation_ratio_to_floor_in_out"] <= FULL_NIGHT_LIMIT, at, r["size"]))

    # 2. the incremental night
    r, at = goal_size(results, lambda s: "nightly_seconds" in s)
    inc = (r or {}).get("incremental", {}).get("summary", {}) if r else {}
    goal = f"incremental night (+1 day, entries / 250) ≤ {INCREMENTAL_LIMIT:.0%} of the full run at 1M, aiming at 5%"
    if r is None or "share_of_full" not in inc:
        add(19, "incremental", goal, (r or {}).get("incremental", {}).get("skipped", "not measured") if r
            else "no finished full run", "not measured")
    else:
        add(19, "incremental", goal,
            f"{r['size']}: +{r['incremental']['entries_added']:,} entries in {_s(inc['nightly_seconds'])} s = "
            f"**{inc['share_of_full']:.1%}** of {_s(r['summary']['nightly_seconds'])} s",
            verdict(inc["share_of_full"] <= INCREMENTAL_LIMIT, at, r["size"]))
        share = inc.get("reconciliation_share_of_full_reconciliation")
        rendered = inc.get("prepaid_logs_rendered")
        logs = "" if rendered is None else f"; {rendered:,} of {r['customers']:,} prepaid logs rendered"
        if share is not None:
            # like with like: both nights without writing their documents' files
            add(19, "incremental_reconciliation", "… both nights without writing their documents' files",
                f"{r['size']}: {_s(inc['reconciliation_seconds'])} s ({_s(inc['nightly_seconds'])} s with its "
                f"{inc.get('documents_issued', 0):,} documents' files) = **{share:.1%}** of "
                f"{_s(r['summary']['reconciliation_seconds'])} s{logs}",
                verdict(share <= INCREMENTAL_LIMIT, at, r["size"]))

    # 3. memory at 1M
    r, at = goal_size(results, lambda s: "peak_rss_mib" in s)
    goal = f"peak RSS ≤ {RSS_1M_LIMIT / GiB:.1f} GiB at 1M (the process and its workers)"
    if r is None:
        add(19, "memory_1m", goal, "no finished run", "not measured")
    else:
        peak = peak_of(r["summary"])
        add(19, "memory_1m", goal, f"{r['size']}: **{peak / GiB:.2f} GiB** ({_mib(r['summary']['peak_rss_mib'])} MiB "
            f"the process alone)", verdict(peak <= RSS_1M_LIMIT, at, r["size"]))

    # 4. a 10M night completes under 4 GiB
    goal = f"a 10M-entry night completes on this machine under {RSS_10M_LIMIT / GiB:.0f} GiB"
    ten = by_size(results).get(TEN_M)
    if ten is None:
        sizes = by_size(results)
        finished = [sizes[n] for n in (100_000, GOAL_SIZE) if n in sizes and "peak_rss_mib" in sizes[n]["summary"]]
        if len(finished) == 2:
            small, large = (peak_of(x["summary"]) for x in finished)
            projected = large + (large - small) / 900_000 * 9_000_000
            add(19, "memory_10m", goal, f"10M not run (`--with-10m`); extended linearly from 100k and 1M: "
                f"{projected / GiB:.1f} GiB", f"not measured (projected {'under' if projected < RSS_10M_LIMIT else 'over'})")
        else:
            add(19, "memory_10m", goal, "10M not run (`--with-10m`)", "not measured")
    else:
        s = ten["summary"]
        if "nightly_seconds" in s and ten.get("document_files") is False:
            # the documents issued but none of their files written (`--no-document-files`)
            peak = peak_of(s)
            add(19, "memory_10m", goal, f"the night without the documents' files (`--no-document-files`; "
                f"{ten.get('summary', {}).get('documents_issued') or 0:,} documents issued) completed in "
                f"{_s(s['nightly_seconds'])} s, peak **{peak / GiB:.2f} GiB**",
                ("met without the documents' files; the whole night not measured" if peak < RSS_10M_LIMIT
                 else "not met"))
        elif "nightly_seconds" in s:
            peak = peak_of(s)
            add(19, "memory_10m", goal, f"completed in {_s(s['nightly_seconds'])} s, peak **{peak / GiB:.2f} GiB**",
                "met" if peak < RSS_10M_LIMIT else "not met")
        else:
            how = outcome_of(s)
            reached = s.get("watched_peak_rss_mib")
            add(19, "memory_10m", goal, f"{how}; memory reached {reached / GiB:.2f} GiB" if reached else how,
                "not met")

    # 5. against the naive way
    r, at = next(((x, x["entries"] == GOAL_SIZE) for x in reversed(results)
                  if x["entries"] <= GOAL_SIZE and x.get("reference", {}).get("speedup") is not None), (None, False))
    goal = f"ingest + validate + compute at 1M ≥ {REFERENCE_SPEEDUP}× faster than tests/reference.py"
    if r is None:
        add(19, "reference", goal, "not measured", "not measured")
    else:
        ref = r["reference"]
        add(19, "reference", goal,
            f"{r['size']}: engine {_s(ref['engine_seconds'])} s vs reference {_s(ref['seconds'])} s: "
            f"**{ref['speedup']:.1f}×**; peak RSS {_mib(ref.get('engine_peak_rss_mib_after_compute'))} MiB vs "
            f"{_mib(ref.get('peak_rss_mib'))} MiB",
            verdict(ref["speedup"] >= REFERENCE_SPEEDUP, at, r["size"]))

    # issue 6, still meaningful: growth from 100k to 1M
    sizes = by_size(results)
    small, large = sizes.get(100_000), sizes.get(GOAL_SIZE)
    goal = "time grows no worse than linearly from 100k to 1M"
    if not (small and large and "nightly_seconds" in small["summary"] and "nightly_seconds" in large["summary"]):
        add(6, "linear", goal, "100k or 1M missing", "not measured")
    else:
        a, b = small["summary"], large["summary"]
        factor = b["nightly_seconds"] / a["nightly_seconds"]
        text = f"{_s(a['nightly_seconds'])} s → {_s(b['nightly_seconds'])} s = {factor:.1f}× for 10× the entries"
        if a.get("reconciliation_seconds") and b.get("reconciliation_seconds"):
            text += (f" (reconciliation {_s(a['reconciliation_seconds'])} s → {_s(b['reconciliation_seconds'])} s "
                     f"= {b['reconciliation_seconds'] / a['reconciliation_seconds']:.1f}×)")
        add(6, "linear", goal, text, "met" if factor <= 10 else "not met")
    return rows


def _n(v) -> str:
    return "–" if v is None else f"{v:,}"


def detail_tables(results: list[dict]) -> list[str]:
    """The figures behind the goals, per size."""
    lines = ["### The full night, its floor and the reconciliation", "",
             "| size | input floor s | output floor s (files, MiB) | full night s | × floor | documents "
             "(HTML / PDF / XML files) | documents' files s | share | reconciliation s | × floor |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        s, o = r["summary"], r.get("output_floor", {})
        if "nightly_seconds" not in s:
            lines.append(f"| {r['size']} | {_s(s['floor_seconds'], 3)} | – | did not finish | – | – | – | – | – | – |")
            continue
        out = s.get("outputs") or {}
        files = "/".join(_n(out.get(f"invoice_{x}_files")) for x in ("html", "pdf", "xml"))
        lines.append("| " + " | ".join([
            r["size"], _s(s["floor_seconds"], 3),
            f"{_s(o['seconds'])} ({o['files']:,}, {o['bytes'] / 2**20:,.0f})" if "seconds" in o else "–",
            _s(s["nightly_seconds"]), _x(s.get("ratio_to_floor_in_out")),
            f"{_n(s.get('documents_issued'))} ({files})", _s(s.get("documents_files_seconds")),
            _pct(s.get("documents_files_share")), _s(s.get("reconciliation_seconds")),
            _x(s.get("reconciliation_ratio_to_floor_in_out"))]) + " |")
    lines += ["", "Floor = input floor + output floor, both measured in the same bench run. Documents' files: "
              "`documents.write_documents` (each document rendered as HTML and PDF, and UBL XML when the "
              "customer has e-invoice details, into OUT and into the archive's incoming folder; inside "
              "`write_outputs`) plus `archive.store` (putting the archive's copies in place; inside `publish`); "
              "the reconciliation is the night without them.", ""]

    lines += ["### The incremental night", "",
              "| size | + entries | seconds | share of full | both without documents' files | "
              + " | ".join(f"{p} s" for p in INCREMENTAL_PHASES) + " | other s | peak RSS MiB |",
              "|---|---:|---:|---:|---:|" + "---:|" * (len(INCREMENTAL_PHASES) + 2)]
    for r in results:
        inc = r.get("incremental", {})
        s = inc.get("summary", {})
        if "nightly_seconds" not in s:
            continue
        phases = s.get("phases") or {}
        lines.append("| " + " | ".join(
            [r["size"], f"{inc['entries_added']:,}", _s(s["nightly_seconds"]), _pct(s.get("share_of_full")),
             _pct(s.get("reconciliation_share_of_full_reconciliation"))]
            + [_s(phases.get(p)) for p in INCREMENTAL_PHASES]
            + [_s(round(s["nightly_seconds"] - sum(v for k, v in phases.items() if k in INCREMENTAL_PHASES), 3)),
               _mib(peak_of(s))]) + " |")
    lines += ["", "The incremental night's own phases (`run.json` `timings_seconds`); *other* = the rest "
              "(connect, archive recovery, bookkeeping, the marts persisted, and closing the warehouse "
              "while the OUT the night replaced is removed).", ""]

    lines += ["### Memory", "",
              "| size | outcome | peak RSS MiB, process | process + workers | watched from outside | at the end of compute |",
              "|---|---|---:|---:|---:|---:|"]
    for r in results:
        s = r["summary"]
        outcome = outcome_of(s)
        lines.append(f"| {r['size']} | {outcome} | {_mib(s.get('peak_rss_mib'))} | "
                     f"{_mib(s.get('peak_tree_rss_mib'))} | {_mib(s.get('watched_peak_rss_mib'))} | "
                     f"{_mib(s.get('peak_rss_mib_after_compute'))} |")
    lines += ["", "*Watched from outside*: the summed RSS of the measuring process and its workers, sampled "
              "every 0.5 s by bench.run, so a run that dies or times out still has a figure.", ""]

    lines += ["### Against the naive way (tests/reference.py)", "",
              "| size | reference s (read + reconcile) | reference peak RSS MiB | engine ingest + validate + "
              "compute s | engine peak RSS MiB at the end of compute | engine faster by | rows equal (entries, balances) |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for r in results:
        ref = r.get("reference", {})
        if "seconds" not in ref:
            if ref:
                lines.append(f"| {r['size']} | {ref.get('skipped') or ref.get('failed') or 'timed out'} "
                             "| – | – | – | – | – |")
            continue
        agree = ref.get("agreement", {})
        same = ", ".join(f"{a['equal_rows']:,} of {a['reference_rows']:,}" for a in
                         (agree.get(k) for k in ("entries", "balances")) if a) or "–"
        lines.append(f"| {r['size']} | {_s(ref['seconds'])} ({_s(ref['read_seconds'])} + "
                     f"{_s(ref['reconcile_seconds'])}) | {_mib(ref.get('peak_rss_mib'))} | "
                     f"{_s(ref.get('engine_seconds'))} | {_mib(ref.get('engine_peak_rss_mib_after_compute'))} | "
                     f"{_x(ref.get('speedup'))} | {same} |")
    adapted = next((r["reference"].get("adapted") for r in reversed(results) if r.get("reference", {}).get("adapted")), None)
    grain = next((r["reference"].get("grain") for r in reversed(results) if r.get("reference", {}).get("grain")), None)
    lines += ["", "The reference runs in a fresh process on the same inbox"
              + (", called once per customer (customers are independent, so the rows are those of one call "
                 "over the whole inbox; one call is quadratic, as every entry scans every block and rate, and "
                 "would take hours at 1M)" if grain == "customer" else
                 ", called once over the whole inbox" if grain == "inbox" else "")
              + "; `bench/naive.py` resolves the ~2% "
              "of entries that name their customer by name or alias and applies authorizations.csv, which the "
              "reference's own reader does not do"
              + (f" (largest size: {adapted['customer_names_resolved']:,} names resolved, "
                 f"{adapted['authorizations_applied']:,} authorizations applied, "
                 f"{adapted['entries_dropped_unknown_customer']:,} entries dropped)" if adapted else "")
              + ". The engine's figure is the sum of its ingest, validate and compute phases in the full "
              "night above. *Rows equal*: reference rows equal to the engine's OUT on the columns both have.", ""]
    return lines


INCREMENTAL_PHASES = ("ingest", "validate", "compute", "documents", "write_outputs", "reports", "commit", "publish")


def outcome_of(s: dict) -> str:
    """How a full run ended, in words."""
    if "nightly_seconds" in s:
        return f"finished in {_s(s['nightly_seconds'])} s"
    if s.get("stopped_over_rss_limit_mib"):
        return f"stopped by the bench when it passed {s['stopped_over_rss_limit_mib'] / GiB:.1f} GiB (`--rss-limit`)"
    if s.get("failed"):
        return f"failed (exit {s.get('exit_code')})"
    return f"timed out after {_s(s.get('timed_out_after_seconds'))} s"


def _x(v) -> str:
    return "–" if v is None else f"{v:.1f}×"


def _pct(v) -> str:
    return "–" if v is None else f"{v:.1%}"


def goals_table(results: list[dict], plans: dict[str, str]) -> list[str]:
    lines = ["| issue | goal | measured | verdict | what it would take |", "|---|---|---|---|---|"]
    for g in goals(results):
        plan = plans.get(g["key"], MISSING_PLAN) if "not met" in g["verdict"] else ""
        lines.append(f"| {g['issue']} | {g['goal']} | {g['measured']} | **{g['verdict']}** | {plan} |")
    return lines


def render(results_dir: Path, markdown: Path) -> None:
    results = load_results(results_dir)
    prefect_path = results_dir / "prefect.json"
    prefect = json.loads(prefect_path.read_text()) if prefect_path.exists() else None
    plot_name = None
    if any("phases" in r["summary"] for r in results):     # a plot needs a finished run
        try:
            from bench.plot import plot
            plot(results, results_dir / "phases.png")
            plot_name = "phases.png"
        except ImportError as exc:  # matplotlib missing: table only
            print(f"no plot: {exc}", file=sys.stderr)
    rel = lambda p: Path(__import__("os").path.relpath(p, markdown.parent)).as_posix()
    phases = phase_names(results)
    lines = ["# Benchmarks", "",
             "Generated by `bench/report.py` from `bench/results/*.json` (do not edit by hand; the "
             "analysis at the end comes from `bench/notes.md`).", "",
             f"Command: `{COMMAND}` (add `--with-10m` for 10M entries; `python -m bench.report` re-renders).", ""]
    ran = sorted({r["command"] for r in results if r.get("command") and r["command"] != COMMAND})
    if ran:
        lines += ["These results were measured with " + "; ".join(f"`{c}`" for c in ran) + ".", ""]
    if results:
        # the machine of the goals' size (1M) when measured: sizes may come from different runs
        m = next((r for r in results if r["size"] == "1m"), results[-1])["machine"]
        lines += ["## Machine", "",
                  f"{m.get('cpu')}, {m.get('cores')} cores, {m.get('ram_gib')} GiB RAM; {m.get('platform')}; "
                  f"Python {m.get('python')}, DuckDB {m.get('duckdb')}, pandas {m.get('pandas')}, "
                  f"pandera {m.get('pandera')}, numpy {m.get('numpy')}. Code at commit, by size: "
                  + ", ".join(f"{r['size']} `{r['machine'].get('git', {}).get('commit')}`"
                              + (" with uncommitted changes" if r["machine"].get("git", {}).get("modified_files")
                                 else "") for r in results) + ".",
                  "", "The machine is shared (other test suites ran concurrently): load averages at the start "
                  "of each size: " + ", ".join(f"{r['size']} {r.get('load_average_start')}" for r in results)
                  + ". Small sizes are repeated and the median repetition is shown.", ""]
    lines += ["## What is measured", "",
              "- **Inputs**: `transforms.run.generate.generate_inbox(seed=1)`, 365 days from 2025-01-01 in 12 "
              "time-log files, customers = entries / 100 (3 blocks each: 1M entries → 10,000 customers, "
              "30,000 blocks, as in issue 3). Cached under `bench/work/` (git-ignored). The bench adds what "
              "a user's inbox has and the generator does not: the demo's `seller.toml` and every customer's "
              "German address, VAT id and Peppol id, so that every document is written as HTML, PDF and UBL XML.",
              "- **Floor**: in a fresh process, DuckDB (in-memory, all cores) runs, per input file kind "
              "(customers, purchases, rates, authorizations, and the 12 time logs as one list), "
              "`select count(*), max(c1), …, max(cN) from read_csv([...], all_varchar = true, header = true)`: "
              "every cell of every input CSV is tokenized and materialized as text, as the reconciler keeps "
              "raw input. Page cache is warm (the run reads the same files right after). The bare "
              "`count(*)` time is recorded too (`floor_count_only_seconds`).",
              "- **Nightly**: in a fresh process, `transforms.run.nightly.run_nightly(inbox, empty warehouse, "
              "out, as_of=2025-12-31, 'UTC', reports_enabled=True)` — no Prefect. Wall time from the call "
              "to its return (interpreter start-up and imports excluded; imports are `import_seconds` "
              "in the JSON). Phases are the run's own timings (`run.json`); *other* = total − phases "
              "(connect, run bookkeeping, marts persisted, summary, closing the warehouse while the OUT "
              "the run replaced is removed).",
              "- **Ratio** in the results table = nightly / input floor of the same repetition (floor "
              "measured right before it); the goal is judged against input + output floor.",
              "- **Output floor** (every size, right after its last full run): in a fresh process, "
              "every file of the full run's OUT is read into memory, then the same tree is written again "
              "with the exact bytes and one `os.sync()` — no computation, no rendering "
              "(`bench/measure.py:output_floor`). Any implementation of the output contract "
              "(docs/outputs.md) writes at least this.",
              "- **Peak RSS**: the larger of `getrusage(RUSAGE_SELF).ru_maxrss` of the measuring process "
              "and the peak of the summed RSS of the process and all its descendants (sampled every "
              "0.2 s from /proc; the prepaid logs are rendered in spawned worker processes). DuckDB runs "
              "in-process, so its memory is included. The JSON also has the process alone, the PSS sum "
              "and the largest child.",
              "- **Incremental night**: one more day, 2026-01-01, of entries / 250 new entries (same "
              "generator and seed, ids continuing after the history) as a new file "
              "`timelogs/part-13.csv`, plus their rows appended to `authorizations.csv`; run as of "
              "2026-01-01 on a copy of the warehouse and document archive the full run left.",
              "- **Documents' files and the reconciliation**: the time inside `documents.write_documents` "
              "(rendering every document's HTML, PDF and XML and writing them into OUT and the archive's "
              "incoming folder) and `archive.store` (moving those copies into place), taken by wrapping "
              "those two functions in the measuring process; the "
              "reconciliation is the night minus that time.",
              "- **The naive way**: `tests/reference.py` (the plain-Python reference of the differential "
              "test) reads the same inbox and reconciles it, once per customer, in a fresh process "
              "(`bench/naive.py`); no documents, no logs, no files written.",
              "- **Close**: `prepaid close --period 2025-12 --no-prefect --force` (through `flows.cli.main`, "
              "timed around the call) on a copy of the warehouse the full run left. `--force` because "
              "the generator leaves about 10% of billable entries never authorized, so every period has "
              "pending entries and a close would refuse.", ""]
    if results:
        header = (["size", "entries", "customers", "input MB", "floor s", "nightly s", "× floor"]
                  + [f"{p} s" for p in phases] + ["other s", "peak RSS MiB", "incremental s", "close s"])
        lines += ["## Results", "", "| " + " | ".join(header) + " |",
                  "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
        for r in results:
            s = r["summary"]
            inc = r.get("incremental", {}).get("summary", {})
            close = r.get("close", {})
            if "nightly_seconds" in s:
                spread = (f" ({_s(s['nightly_min_seconds'])}–{_s(s['nightly_max_seconds'])})"
                          if s["reps"] > 1 else "")
                nightly = f"{_s(s['nightly_seconds'])}{spread}"
                ratio = f"{s['ratio_to_floor']:.1f}"
                phase_cells = [_s(s["phases"].get(p)) for p in phases]
                other, peak = _s(s["other_seconds"]), _mib(peak_of(s))
            else:
                if s.get("timed_out_after_seconds"):
                    nightly = f"> {s['timed_out_after_seconds']:.0f} (timed out)"
                    ratio = f"> {s['timed_out_after_seconds'] / s['floor_seconds']:.0f}"
                else:
                    nightly, ratio = f"failed (exit {s.get('exit_code')})", "–"
                done = s.get("phases_finished_before_timeout", {})
                phase_cells = [_s(done[p]) if p in done else "…" for p in phases]
                other, peak = "–", _mib(s.get("watched_peak_rss_mib"))
            if "nightly_seconds" in inc and "nightly_seconds" in s:
                incremental = f"{_s(inc['nightly_seconds'])} ({inc['nightly_seconds'] / s['nightly_seconds']:.0%})"
            else:
                incremental = "–"
            if "seconds" in close:
                close_cell = _s(close["seconds"]) + ("" if close.get("exit_code") == 0
                                                     else f" (failed, exit {close.get('exit_code')})")
            else:
                close_cell = "skipped" if "skipped" in close else "–"
            lines.append("| " + " | ".join(
                [r["size"], f"{r['entries']:,}", f"{r['customers']:,}", f"{r['input_bytes'] / 1e6:.1f}",
                 _s(s["floor_seconds"], 3), nightly, ratio] + phase_cells
                + [other, peak, incremental, close_cell]) + " |")
        lines += ["", "Times in seconds (median repetition; min–max of the repetitions in brackets). "
                  "Incremental: seconds and share of the full run at the same size.", ""]
        changed = [r["size"] for r in results if r.get("code_changed_during_run")]
        lines += [f"All sizes ran on the same code (`code_sha256` of transforms/, flows/, schemas/, templates/: "
                  f"{', '.join(sorted({r['machine']['git'].get('code_sha256', '?') for r in results}))})"
                  + (f"; other engineers changed that code while {', '.join(changed)} was being measured "
                     "(the full runs used the digest above; the later incremental/close/profile runs of that "
                     "size may include their changes)." if changed else "."), ""]
        skipped = {r.get("close", {}).get("skipped") for r in results} - {None}
        if skipped:
            lines += ["Close: " + "; ".join(sorted(skipped)) + ".", ""]
        if plot_name:
            lines += [f"![time vs entries per phase]({rel(results_dir / plot_name)})", ""]

        lines += ["## Goals (issue 19; one row kept from issue 6)", "",
                  "Each goal is judged at 1M entries (10M for the memory goal); when that size was not "
                  "measured, the largest size measured is shown and the verdict says so. A goal not met "
                  "says what meeting it would take (kept by hand in bench/notes.md, "
                  "“What it would take”, one line per goal key: "
                  + ", ".join(f"`{g['key']}`" for g in goals(results)) + ").", ""]
        lines += goals_table(results, would_take())
        lines += [""]
        lines += detail_tables(results)

        lines += ["## Scaling", "", "Growth factor of each phase between consecutive sizes "
                  "(linear = the entry ratio).", ""]
        finished = [r for r in results if "phases" in r["summary"]]
        if len(finished) >= 2:
            head = ["from → to", "entries ×", "total ×"] + [f"{p} ×" for p in phases] + ["peak RSS ×"]
            lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
            for a, b in zip(finished, finished[1:]):
                pa, pb = a["summary"]["phases"], b["summary"]["phases"]
                cells = [f"{a['size']} → {b['size']}", f"{b['entries'] / a['entries']:.0f}",
                         f"{b['summary']['nightly_seconds'] / a['summary']['nightly_seconds']:.1f}"]
                for p in phases:
                    cells.append(f"{pb[p] / pa[p]:.1f}" if pa.get(p) and pb.get(p) is not None and pa[p] >= 0.01 else "–")
                cells.append(f"{peak_of(b['summary']) / peak_of(a['summary']):.1f}")
                lines.append("| " + " | ".join(cells) + " |")
            lines += [""]
        else:
            lines += ["(needs two finished sizes)", ""]

        lines += ["## Outputs checked", "", "| size | entries.csv rows | generated entries | quarantine rows | "
                  "balances.csv rows | documents issued | invoice HTML files | report files |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in finished:
            o = r["summary"].get("outputs") or {}
            rows = o.get("rows", {})
            counts = r["summary"].get("counts") or {}
            n = lambda v: "–" if v is None else f"{v:,}"
            lines.append(f"| {r['size']} | {n(rows.get('entries'))} | {r['generated']['entries']:,} | "
                         f"{n(rows.get('quarantine'))} | {n(rows.get('balances'))} | "
                         f"{n(counts.get('documents_issued'))} | {n(o.get('invoice_html_files'))} | "
                         f"{n(o.get('report_files'))} |")
        lines += [""]

    if prefect:
        lines += ["## Prefect (measured separately)", ""]
        if "first_flow_seconds" in prefect:
            lines += [f"In a fresh process with an empty `PREFECT_HOME` and no `PREFECT_API_URL`: `import prefect` "
                      f"{prefect['import_seconds']} s; the first no-op flow run {prefect['first_flow_seconds']} s "
                      f"(starts Prefect's temporary API server); a second no-op flow run "
                      f"{prefect['second_flow_seconds']} s; peak RSS {_mib(prefect.get('peak_rss_mib'))} MiB "
                      "(the temporary server is a separate process, not included). These costs come on top of "
                      "the nightly times above when the run goes through a Prefect flow.", ""]
        else:
            lines += [f"Could not be measured: {prefect.get('failed')}", ""]

    hostile_path = results_dir / "hostile-200k.json"
    if hostile_path.exists():
        hostile = json.loads(hostile_path.read_text())
        lines += ["## The 200,000-row hostile time log (issue 7)", "",
                  "`.venv/bin/python -m bench.hostile` (`bench/hostile.py`): the inbox of "
                  "`tests/reliability/test_load.py` (hostile text in every free-text column, a two-line "
                  "description in every 9th row, 1 row in 1,000 with a negative duration, 1 in 997 with an "
                  "unknown customer) and the generated inbox of the same size without hostile text, each "
                  "measured in fresh processes: the floor (DuckDB reads every cell), then `run_ingest` "
                  "(ingest + validation, quarantine stored) on an empty warehouse. Median repetition.", "",
                  "| inbox | rows | input MB | floor s | ingest + validate s | × floor | µs per row |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name, inbox in hostile["inboxes"].items():
            m = inbox["median"]
            lines.append(f"| {name} | {inbox['rows']:,} | {inbox['input_bytes'] / 1e6:.1f} | "
                         f"{m['floor']['seconds']:.3f} | {m['ingest']['seconds']:.2f} | {m['ratio_to_floor']:.1f} | "
                         f"{m['ingest']['seconds'] / inbox['rows'] * 1e6:.1f} |")
        lines += [""]

    profiled = [r for r in results if r.get("profile", {}).get("by_project_function")]
    if profiled:
        lines += ["## Profile hot spots (pyinstrument)", "",
                  "One extra full run per size under pyinstrument (5 ms sampling), with the prepaid logs "
                  "rendered in-process up to 100k entries (`reports.PARALLEL_FROM` raised for this run only) so that the "
                  "profiler sees inside them; its reports phase is therefore the serial cost. Time of every sample is "
                  "given to the deepest function of the project on its stack, so time inside DuckDB, pandas "
                  "or Jinja lands on the project function that called it. Full trees: "
                  + ", ".join(f"[{r['profile']['text']}]({rel(results_dir / r['profile']['text'])})"
                              for r in profiled) + ".", ""]
        for r in profiled:
            p = r["profile"]
            lines += [f"### {r['size']} (profiled run {_s(p['seconds'])} s"
                      + ("" if p.get("reports_in_process", True) else
                         "; reports in worker processes, seen as waiting in `write_reports`") + ")", "",
                      "| project function | seconds | share |", "|---|---:|---:|"]
            for row in p["by_project_function"][:12]:
                lines.append(f"| `{row['function']}` | {_s(row['seconds'])} | "
                             f"{row['seconds'] / p['profiled_seconds']:.0%} |")
            lines += [""]
    if NOTES.exists():
        lines += [notes_without_plans(NOTES.read_text(encoding="utf-8")).rstrip(), ""]
    markdown.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    results = ROOT / "bench" / "results"
    render(results, ROOT / "BENCHMARKS.md")
    print(f"rendered {ROOT / 'BENCHMARKS.md'}")
