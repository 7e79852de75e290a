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


def goals(results: list[dict]) -> list[tuple[str, str, str]]:
    """(goal, measurement, verdict) for each goal of issue 6."""
    sizes = by_size(results)
    rows = []
    one_m = sizes.get(1_000_000)

    # 1. 1M end to end <= 5x floor
    if one_m is None:
        rows.append(("1M entries end to end ≤ 5× the floor", "1M not measured", "not measured"))
    else:
        s = one_m["summary"]
        if "nightly_seconds" in s:
            ratio = s["ratio_to_floor"]
            rows.append(("1M entries end to end ≤ 5× the floor",
                         f"{_s(s['nightly_seconds'])} s vs floor {_s(s['floor_seconds'], 3)} s = "
                         f"{ratio:.1f}× (without reports {s['ratio_to_floor_without_reports']:.1f}×)",
                         "met" if ratio <= 5 else "not met"))
            out = one_m.get("output_floor", {})
            if "seconds" in out:
                limit = 5 * s["floor_seconds"]
                both = s["floor_seconds"] + out["seconds"]
                rows.append(("… is it within physical reach? (output floor)",
                             f"writing the run's {out['files']:,} output files ({out['bytes'] / 2**20:,.0f} MiB; "
                             f"one per invoice and two per customer, as SPEC §7 asks) with no computation "
                             f"takes {_s(out['seconds'])} s alone, more than 5 × {_s(s['floor_seconds'], 3)} s "
                             f"= {_s(limit)} s" if out["seconds"] > limit else
                             f"output floor {_s(out['seconds'])} s", 
                             "out of reach (proven)" if out["seconds"] > limit else "within reach"))
                rows.append(("… against input floor + output floor",
                             f"{_s(s['nightly_seconds'])} s vs {_s(both)} s = {s['nightly_seconds'] / both:.1f}×",
                             "met" if s["nightly_seconds"] <= 5 * both else "not met"))
        else:
            bound = s["timed_out_after_seconds"] / s["floor_seconds"]
            rows.append(("1M entries end to end ≤ 5× the floor",
                         f"did not finish in {s['timed_out_after_seconds']:.0f} s; floor "
                         f"{_s(s['floor_seconds'], 3)} s, so > {bound:.0f}×",
                         "not met" if bound > 5 else "not measured"))

    # 2. incremental <= 10% of the full run at 1M
    if one_m is None or "nightly_seconds" not in one_m["summary"]:
        rows.append(("incremental night ≤ 10% of the full run at 1M history", "no finished 1M run",
                     "not measured"))
    else:
        inc = one_m.get("incremental", {}).get("summary", {})
        if "nightly_seconds" in inc:
            share = inc["nightly_seconds"] / one_m["summary"]["nightly_seconds"]
            rows.append(("incremental night ≤ 10% of the full run at 1M history",
                         f"+{one_m['incremental']['entries_added']:,} entries: {_s(inc['nightly_seconds'])} s "
                         f"= {share:.0%} of {_s(one_m['summary']['nightly_seconds'])} s",
                         "met" if share <= 0.10 else "not met"))
        else:
            rows.append(("incremental night ≤ 10% of the full run at 1M history",
                         one_m.get("incremental", {}).get("skipped", "did not finish"), "not measured"))

    # 3. 10M under 4 GiB
    ten_m = sizes.get(10_000_000)
    largest = max((r for r in results if "peak_rss_mib" in r["summary"]), key=lambda r: r["entries"], default=None)
    if ten_m is None and largest is not None and peak_of(largest["summary"]) >= 4 * GiB:
        rows.append(("10M entries under 4 GiB peak memory",
                     f"10M not run; {largest['size']} already peaks at {peak_of(largest['summary']) / GiB:.2f} GiB",
                     "not met"))
    elif ten_m is None and {100_000, 1_000_000} <= set(sizes) and all(
            "peak_rss_mib" in sizes[n]["summary"] for n in (100_000, 1_000_000)):
        small, large = (peak_of(sizes[n]["summary"]) for n in (100_000, 1_000_000))
        projected = large + (large - small) / 900_000 * 9_000_000
        rows.append(("10M entries under 4 GiB peak memory",
                     f"10M not run (`--with-10m`; it would not fit this machine's memory): peak "
                     f"{small / GiB:.2f} GiB at 100k, {large / GiB:.2f} GiB at 1M; extended linearly "
                     f"to 10M: {projected / GiB:.0f} GiB",
                     "not met (projected)" if projected >= 4 * GiB else "not measured"))
    elif ten_m is None:
        rows.append(("10M entries under 4 GiB peak memory",
                     "10M not run (`--with-10m`)", "not measured"))
    elif "peak_rss_mib" in ten_m["summary"]:
        peak = peak_of(ten_m["summary"])
        rows.append(("10M entries under 4 GiB peak memory", f"peak RSS {peak / GiB:.2f} GiB",
                     "met" if peak < 4 * GiB else "not met"))
    else:
        rows.append(("10M entries under 4 GiB peak memory", "the 10M run did not finish", "not measured"))

    # 4. linear growth 100k -> 1M
    small = sizes.get(100_000)
    if small is None or one_m is None or "nightly_seconds" not in small["summary"]:
        rows.append(("time grows no worse than linearly from 100k to 1M", "100k or 1M missing",
                     "not measured"))
    elif "nightly_seconds" in one_m["summary"]:
        factor = one_m["summary"]["nightly_seconds"] / small["summary"]["nightly_seconds"]
        rows.append(("time grows no worse than linearly from 100k to 1M",
                     f"{_s(small['summary']['nightly_seconds'])} s → {_s(one_m['summary']['nightly_seconds'])} s "
                     f"= {factor:.1f}× for 10× the entries", "met" if factor <= 10 else "not met"))
        engine = lambda s: s["nightly_seconds"] - s["phases"].get("reports", 0)
        factor = engine(one_m["summary"]) / engine(small["summary"])
        rows.append(("… the same without the reports phase (ingest … write_outputs)",
                     f"{_s(engine(small['summary']))} s → {_s(engine(one_m['summary']))} s = {factor:.1f}×",
                     "met" if factor <= 10 else "not met"))
    else:
        factor = one_m["summary"]["timed_out_after_seconds"] / small["summary"]["nightly_seconds"]
        rows.append(("time grows no worse than linearly from 100k to 1M",
                     f"1M did not finish in {one_m['summary']['timed_out_after_seconds']:.0f} s: "
                     f"> {factor:.0f}× the 100k time", "not met" if factor > 10 else "not measured"))

    # 5. validation must not dominate
    if one_m is not None and "phases" in one_m["summary"]:
        p = one_m["summary"]["phases"]
        rows.append(("validation does not cost more than the computation (1M)",
                     f"validate {_s(p.get('validate'))} s vs compute {_s(p.get('compute'))} s",
                     "met" if p.get("validate", 0) <= p.get("compute", 0) else "not met"))
    else:
        at = max((r for r in results if "phases" in r["summary"]), key=lambda r: r["entries"], default=None)
        if at is None:
            rows.append(("validation does not cost more than the computation", "no finished run", "not measured"))
        else:
            p = at["summary"]["phases"]
            rows.append((f"validation does not cost more than the computation (1M; largest finished: {at['size']})",
                         f"{at['size']}: validate {_s(p.get('validate'))} s vs compute {_s(p.get('compute'))} s",
                         ("not met" if p.get("validate", 0) > p.get("compute", 0) else "met") + f" at {at['size']}"))
    return rows


def render(results_dir: Path, markdown: Path) -> None:
    results = load_results(results_dir)
    prefect_path = results_dir / "prefect.json"
    prefect = json.loads(prefect_path.read_text()) if prefect_path.exists() else None
    plot_name = None
    if results:
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
    if results:
        m = results[-1]["machine"]
        lines += ["## Machine", "",
                  f"{m.get('cpu')}, {m.get('cores')} cores, {m.get('ram_gib')} GiB RAM; {m.get('platform')}; "
                  f"Python {m.get('python')}, DuckDB {m.get('duckdb')}, pandas {m.get('pandas')}, "
                  f"pandera {m.get('pandera')}, numpy {m.get('numpy')}. Code at commit "
                  f"`{m.get('git', {}).get('commit')}`"
                  + (f" with uncommitted changes in {', '.join(m['git']['modified_files'])}"
                     if m.get("git", {}).get("modified_files") else "") + ".",
                  "", "The machine is shared (other test suites ran concurrently): load averages at the start "
                  "of each size: " + ", ".join(f"{r['size']} {r.get('load_average_start')}" for r in results)
                  + ". Small sizes are repeated and the median repetition is shown.", ""]
    lines += ["## What is measured", "",
              "- **Inputs**: `transforms.generate.generate_inbox(seed=1)`, 365 days from 2025-01-01 in 12 "
              "time-log files, customers = entries / 100 (3 blocks each: 1M entries → 10,000 customers, "
              "30,000 blocks, as in issue 3). Cached under `bench/work/` (git-ignored).",
              "- **Floor**: in a fresh process, DuckDB (in-memory, all cores) runs, per input file kind "
              "(customers, purchases, rates, authorizations, and the 12 time logs as one list), "
              "`select count(*), max(c1), …, max(cN) from read_csv([...], all_varchar = true, header = true)`: "
              "every cell of every input CSV is tokenized and materialized as text, as the reconciler keeps "
              "raw input. Page cache is warm (the run reads the same files right after). The bare "
              "`count(*)` time is recorded too (`floor_count_only_seconds`).",
              "- **Nightly**: in a fresh process, `transforms.nightly.run_nightly(inbox, empty warehouse, "
              "out, as_of=2025-12-31, 'UTC', reports_enabled=True)` — no Prefect. Wall time from the call "
              "to its return (interpreter start-up and imports excluded; imports are `import_seconds` "
              "in the JSON). Phases are the run's own timings (`run.json`); *other* = total − phases "
              "(connect, run bookkeeping, marts persisted, summary, fsync and publish of OUT).",
              "- **Ratio** = nightly / floor of the same repetition (floor measured right before it).",
              "- **Output floor** (1M and every size measured since it was added): in a fresh process, "
              "every file of the full run's OUT is read into memory, then the same tree is written again "
              "with the exact bytes and one `os.sync()` — no computation, no rendering "
              "(`bench/measure.py:output_floor`). Any implementation of SPEC §7 writes at least this.",
              "- **Peak RSS**: the larger of `getrusage(RUSAGE_SELF).ru_maxrss` of the measuring process "
              "and the peak of the summed RSS of the process and all its descendants (sampled every "
              "0.2 s from /proc; the prepaid logs are rendered in spawned worker processes). DuckDB runs "
              "in-process, so its memory is included. The JSON also has the process alone, the PSS sum "
              "and the largest child.",
              f"- **Incremental night**: one more day, 2026-01-01, of entries / 250 new entries (same "
              "generator and seed, ids continuing after the history) as a new file "
              "`timelogs/part-13.csv`, plus their rows appended to `authorizations.csv`; run as of "
              "2026-01-01 on a copy of the warehouse the full run left.",
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
                nightly = f"> {s['timed_out_after_seconds']:.0f} (timed out)"
                ratio = f"> {s['timed_out_after_seconds'] / s['floor_seconds']:.0f}"
                done = s.get("phases_finished_before_timeout", {})
                phase_cells = [_s(done[p]) if p in done else "…" for p in phases]
                other, peak = "–", "–"
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

        lines += ["## Goals (issue 6)", "", "| goal | measured | verdict |", "|---|---|---|"]
        lines += [f"| {g} | {m} | **{v}** |" for g, m, v in goals(results)]
        lines += [""]

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
    notes = ROOT / "bench" / "notes.md"
    if notes.exists():
        lines += [notes.read_text(encoding="utf-8").rstrip(), ""]
    markdown.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    results = ROOT / "bench" / "results"
    render(results, ROOT / "BENCHMARKS.md")
    print(f"rendered {ROOT / 'BENCHMARKS.md'}")
