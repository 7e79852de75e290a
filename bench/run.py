"""Benchmark of the nightly run against its floor (issues 6 and 19).

    .venv/bin/python -m bench.run --sizes 10k,100k,1m --profile [--with-10m]

For each size (number of time entries; customers = entries / 100, 3 blocks each, as in
issue 3: 1M entries, 10,000 customers, 30,000 blocks) it

1. generates the inbox with transforms.run.generate.generate_inbox (seed 1, 2025-01-01 + 365
   days, 12 time-log files) once and caches it under bench/work/ (regenerated when
   generate.py changes), then gives it what a real user's inbox has and the generator does
   not: the demo's seller.toml and every customer's address, VAT id and Peppol id, so each
   document is written as HTML, PDF and UBL XML;
2. measures, each in a fresh subprocess (bench/measure.py), back to back and repeated
   (5× at ≤ 10k, 3× at ≤ 100k, once above): the input floor (DuckDB reads every cell of
   every input CSV), then the full nightly run on an empty warehouse (`run_nightly`, no
   Prefect), with its phases, the time spent writing documents' files (the run without it
   is the "reconciliation") and the peak RSS of the process and its workers;
3. measures the output floor: the last full run's OUT written again with no computation;
4. runs tests/reference.py (the naive way, bench/naive.py reads the inbox for it) on the
   same inbox in a fresh process: wall time and peak RSS against the engine's
   ingest + validate + compute;
5. measures the incremental night: one more day of entries (entries / 250, same generator,
   ids continuing) as a new time-log file, on a copy of the reconciled warehouse and its
   document archive;
6. measures the month-end close (`prepaid close --period 2025-12`) if the command exists;
7. writes bench/results/<size>.json (also after step 4, so a killed 10M run leaves its
   figures), then renders BENCHMARKS.md and bench/results/phases.png from every results
   file present.

What a measurement replaces (an earlier run's warehouse, archive and OUT, the output floor's
copy) is moved into a `.trash` folder beside it and deleted only after every measurement:
on a file system without a journal, files created within minutes of a large deletion are
slow to create (bench/notes.md, "eighth round").

Every measurement's process tree is also watched from outside, so a run that times out or
dies still records the memory it reached. Prefect's own cost (import, ephemeral API server
start, a no-op flow) is measured once per invocation into bench/results/prefect.json
(`--no-prefect` skips it).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench.measure import TRASH, TreeSampler, discard

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DEFAULT_WORK = BENCH / "work"
DEFAULT_RESULTS = BENCH / "results"
DEFAULT_MARKDOWN = ROOT / "BENCHMARKS.md"

SEED = 1
START = date(2025, 1, 1)
DAYS = 365
FILES = 12
ENTRIES_PER_CUSTOMER = 100
INCREMENT_FRACTION = 250          # one more night's entries: history / 250
TZ = "UTC"
AS_OF_FULL = START + timedelta(days=DAYS - 1)           # 2025-12-31, the last day of history
NEXT_DAY = START + timedelta(days=DAYS)                  # 2026-01-01, the incremental night
CLOSE_PERIOD = AS_OF_FULL.strftime("%Y-%m")              # 2025-12
# --no-prefect: Prefect is measured on its own. --force: the generator leaves ~10% of billable
# entries never authorized, so every period has pending entries and a close would refuse.
CLOSE_FLAGS = ["--no-prefect", "--force"]
OUTPUT_CSVS = ("balances", "entries", "ledger", "breaches", "quarantine", "invoices", "invoice_lines")


# --- sizes --------------------------------------------------------------------------------

def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if factor > 1 else text
    return int(float(number) * factor)


def label(entries: int) -> str:
    for factor, suffix in ((1_000_000, "m"), (1_000, "k")):
        if entries >= factor and entries % factor == 0:
            return f"{entries // factor}{suffix}"
    return str(entries)


def default_reps(entries: int) -> int:
    return 5 if entries <= 10_000 else 3 if entries <= 100_000 else 1


# --- machine ------------------------------------------------------------------------------

def machine_info() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cores": os.cpu_count()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(l.split(":", 1)[1].strip() for l in cpuinfo.splitlines()
                           if l.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "unknown"
    try:
        mem = next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
        info["ram_gib"] = round(int(mem.split()[1]) / 1024 / 1024, 1)
    except (OSError, StopIteration):
        pass
    from importlib.metadata import PackageNotFoundError, version
    for package in ("duckdb", "pandas", "pandera", "numpy", "pyarrow", "openpyxl", "prefect"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            pass
    info["git"] = _git_state()
    return info


def _git_state() -> dict:
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    dirty = [line[3:] for line in git("status", "--porcelain").splitlines()]
    code = hashlib.sha256()
    for folder in ("transforms", "flows", "schemas", "templates"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                code.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "modified_files": [f for f in dirty if f.startswith(("transforms/", "flows/", "schemas/", "templates/"))],
            "code_sha256": code.hexdigest()[:16]}


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# --- inboxes ------------------------------------------------------------------------------

def generator_digest() -> str:
    return hashlib.sha256((ROOT / "transforms" / "run" / "generate.py").read_bytes()).hexdigest()[:16]


def ensure_inbox(work: Path, entries: int, customers: int) -> tuple[Path, dict]:
    """The cached inbox of this size; generated when missing or when generate.py changed."""
    from transforms.run.generate import generate_inbox

    inbox = work / f"inbox-{label(entries)}"
    # beside the inbox, not in it: the run would ingest-and-ignore it with a warning
    marker = work / f"inbox-{label(entries)}.json"
    if (inbox / ".bench-inbox.json").exists():      # where earlier versions of the bench kept it
        os.replace(inbox / ".bench-inbox.json", marker)
    wanted = {"entries": entries, "customers": customers, "seed": SEED, "start": START.isoformat(),
              "days": DAYS, "files": FILES, "generator": generator_digest()}
    if marker.exists():
        cached = json.loads(marker.read_text())
        if cached.get("params") == wanted:
            return inbox, cached
    if inbox.exists():
        shutil.rmtree(inbox)
    t = time.perf_counter()
    counts = generate_inbox(inbox, customers, entries, SEED, start=START, days=DAYS, files=FILES)
    meta = {"params": wanted, "counts": counts, "generate_seconds": round(time.perf_counter() - t, 3)}
    marker.write_text(json.dumps(meta, indent=2))
    return inbox, meta


SELLER_TOML = ROOT / "data" / "demo" / "seller.toml"
BILLING_COLUMNS = ("street", "city", "postal_code", "country", "vat_id", "email", "endpoint")


def add_billing_details(inbox: Path) -> dict:
    """Make the generated inbox a real user's: the demo's seller.toml, and every customer an
    address, a VAT id and a Peppol id, so that every document gets its e-invoice (XML) besides
    HTML and PDF. Idempotent (a cached inbox that has them is left as it is).

    The generator writes no billing columns; they are added here, derived from the customer's
    position (German addresses: the demo's seller is German, and German B2B e-invoices need
    the buyer's city and postal code).
    """
    seller = inbox / "seller.toml"
    if not seller.exists():
        shutil.copyfile(SELLER_TOML, seller)
    path = inbox / "customers.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    if all(column in header for column in BILLING_COLUMNS):
        return {"seller_toml": True, "customers_with_billing_details": len(rows) - 1}
    extra = [c for c in BILLING_COLUMNS if c not in header]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header + extra)
        for n, row in enumerate(rows[1:], start=1):
            vat = f"DE{100_000_000 + n:09d}"
            values = {"street": f"Hauptstraße {n % 200 + 1}", "city": "Berlin",
                      "postal_code": f"{10_000 + n % 90_000:05d}", "country": "DE", "vat_id": vat,
                      "email": f"billing-{n}@customer.example", "endpoint": f"9930:{vat}"}
            writer.writerow(row + [values[c] for c in extra])
    os.replace(tmp, path)
    return {"seller_toml": True, "customers_with_billing_details": len(rows) - 1}


def input_groups(inbox: Path) -> list[list[str]]:
    """The files the run reads, grouped per kind (one read_csv per group for the floor)."""
    groups = [[str(inbox / name)] for name in
              ("customers.csv", "purchases.csv", "rates.csv", "authorizations.csv")
              if (inbox / name).exists()]
    timelogs = sorted(str(p) for p in (inbox / "timelogs").glob("*.csv"))
    return groups + ([timelogs] if timelogs else [])


def build_increment(work: Path, inbox: Path, entries: int, customers: int) -> tuple[Path, dict]:
    """inbox + one more day: a new time-log file and authorizations.csv with the new rows.

    The day's entries come from the generator itself (same seed, so the same customers,
    teams and services), generated for the single day NEXT_DAY and then renumbered so that
    entry ids continue after the history (T-<n> with the history's width) and incident ids
    follow the generator's one-ticket-per-customer-and-week rule for that week. Every other
    file is hard-linked (same bytes: the ingest skips it by its SHA-256).
    """
    from transforms.run.generate import generate_inbox

    extra = max(1, entries // INCREMENT_FRACTION)
    target = work / f"inbox-{label(entries)}-inc"
    scratch = work / f"scratch-{label(entries)}-inc"
    for folder in (target, scratch):
        if folder.exists():
            shutil.rmtree(folder)
    generate_inbox(scratch, customers, extra, SEED, start=NEXT_DAY, days=1, files=1)

    (target / "timelogs").mkdir(parents=True)
    for path in sorted(inbox.rglob("*")):
        rel = path.relative_to(inbox)
        if path.is_file() and rel.name != ".bench-inbox.json" and rel.as_posix() != "authorizations.csv":
            _link(path, target / rel)

    width = max(6, len(str(entries)))
    incident_shift = (DAYS // 7) * customers
    renumber: dict[str, str] = {}
    new_timelog = target / "timelogs" / f"part-{FILES + 1:02d}.csv"
    with open(scratch / "timelogs" / "part-01.csv", newline="", encoding="utf-8") as src, \
            open(new_timelog, "w", newline="", encoding="utf-8") as dst:
        reader, writer = csv.DictReader(src), None
        for row in reader:
            if writer is None:
                writer = csv.DictWriter(dst, fieldnames=reader.fieldnames, lineterminator="\n")
                writer.writeheader()
            new_id = f"T-{entries + len(renumber) + 1:0{width}d}"
            renumber[row["entry_id"]] = new_id
            row["entry_id"] = new_id
            if row.get("incident_id", "").startswith("INC-"):
                row["incident_id"] = f"INC-{int(row['incident_id'][4:]) + incident_shift}"
            writer.writerow(row)
    shutil.copyfile(inbox / "authorizations.csv", target / "authorizations.csv")
    added_authorizations = 0
    with open(scratch / "authorizations.csv", newline="", encoding="utf-8") as src, \
            open(target / "authorizations.csv", "a", newline="", encoding="utf-8") as dst:
        writer = csv.writer(dst, lineterminator="\n")
        reader = csv.reader(src)
        next(reader)
        for row in reader:
            writer.writerow([renumber[row[0]], *row[1:]])
            added_authorizations += 1
    shutil.rmtree(scratch)
    return target, {"entries_added": len(renumber), "authorizations_added": added_authorizations,
                    "new_file": new_timelog.relative_to(target).as_posix(),
                    "new_file_bytes": new_timelog.stat().st_size}


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


# --- measurements -------------------------------------------------------------------------

class MeasurementFailed(RuntimeError):
    pass


#: the measurements' memory limit (MiB, process tree); bench.run's --rss-limit sets it
RSS_LIMIT_MIB = 8 * 1024


def measure(spec: dict, timeout: float, log: Path, allow_failure: bool = False,
            rss_limit_mib: float | None = None) -> dict:
    """Run bench.measure in a fresh interpreter; its JSON result plus the process wall time.

    The measurement's process tree is watched from here too (`watched_peak_rss_mib`), so a run
    that times out or dies (out of memory at 10M) still says how much memory it reached. With
    allow_failure, a failed measurement is returned as {"failed": ..., "exit_code": ...}
    instead of stopping the bench. A measurement whose process tree passes rss_limit_mib
    (default RSS_LIMIT_MIB) is stopped and reported as failed, with the memory it reached.
    """
    import signal

    rss_limit_mib = RSS_LIMIT_MIB if rss_limit_mib is None else rss_limit_mib

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    started = time.perf_counter()
    load_before = load_average()
    proc = subprocess.Popen([sys.executable, "-m", "bench.measure", json.dumps(spec)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = started + timeout
    stopped = None
    with TreeSampler(interval=0.5, root=proc.pid) as watcher:
        while True:
            try:
                stdout, stderr = proc.communicate(timeout=1)
                break
            except subprocess.TimeoutExpired:
                over = rss_limit_mib and watcher.peak_rss_kib / 1024 > rss_limit_mib
                if over or time.perf_counter() > deadline:
                    # the machine is shared: a run past the limit is stopped before the
                    # kernel's OOM killer picks a process, maybe someone else's
                    stopped = "rss_limit" if over else "timeout"
                    os.killpg(proc.pid, signal.SIGKILL)     # its own session: the workers go too
                    stdout, stderr = proc.communicate()
                    break
    watched = round(watcher.peak_rss_kib / 1024, 1)
    if stopped is not None:
        _append_log(log, spec, stdout, stderr)
        result = {"kind": spec["kind"], "watched_peak_rss_mib": watched,
                  "progress": _read_progress(spec.get("progress")),
                  "process_seconds": round(time.perf_counter() - started, 3)}
        if stopped == "timeout":
            result["timed_out_after_seconds"] = timeout
        else:
            result.update({"failed": f"stopped: its memory passed --rss-limit ({rss_limit_mib:,.0f} MiB)",
                           "exit_code": None, "stopped_over_rss_limit_mib": rss_limit_mib})
        return result
    _append_log(log, spec, stdout, stderr)
    if proc.returncode != 0:
        tail = (stderr or "").strip().splitlines()[-5:]
        message = (f"{spec['kind']} measurement failed (exit {proc.returncode}): "
                   + " | ".join(tail) + f" (full log: {log})")
        if not allow_failure:
            raise MeasurementFailed(message)
        return {"kind": spec["kind"], "failed": message, "exit_code": proc.returncode,
                "watched_peak_rss_mib": watched, "progress": _read_progress(spec.get("progress")),
                "process_seconds": round(time.perf_counter() - started, 3)}
    line = next(l for l in reversed(stdout.splitlines()) if l.startswith("{"))
    result = json.loads(line)
    result["process_seconds"] = round(time.perf_counter() - started, 3)
    result["load_average_before"] = load_before
    result["watched_peak_rss_mib"] = watched
    return result


def _append_log(log: Path, spec: dict, stdout, stderr) -> None:
    def text(x):
        return x.decode(errors="replace") if isinstance(x, bytes) else (x or "")
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"=== {datetime.now(timezone.utc).isoformat()} {json.dumps(spec)}\n")
        fh.write(text(stdout)[-20000:] + "\n--- stderr\n" + text(stderr)[-20000:] + "\n")


def _read_progress(path: str | None) -> list[dict]:
    if not path or not Path(path).exists():
        return []
    return [json.loads(l) for l in Path(path).read_text().splitlines() if l.strip()]


def archive_of(warehouse: Path) -> Path:
    """The document archive a run on `warehouse` fills (transforms.documents.archive.default_archive)."""
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(f"{warehouse.stem}-documents")


def _fresh(*paths: Path) -> None:
    """Make way for a run: its warehouse (with its WAL and archive) and OUT go to the trash."""
    for path in [*paths, *(archive_of(p) for p in paths if p.suffix == ".duckdb")]:
        for p in (path, Path(str(path) + ".wal")):
            discard(p)
        for staged in path.parent.glob(f".{path.name}.*"):   # outputs' staging folders
            discard(staged)


def empty_trash(work: Path) -> None:
    """Delete what the bench moved out of the way (bench.measure.discard), after measuring."""
    for trash in [work / TRASH, *work.glob(f"*/{TRASH}")]:
        if trash.is_dir():
            print(f"deleting {trash}", flush=True)
            shutil.rmtree(trash)


def copy_warehouse(src: Path, dst: Path) -> None:
    """Copy a closed DuckDB warehouse (and its WAL, if one was left) and its document archive.

    Without the archive, the next run would first re-render every document of the copied
    runs into a new one (archive.recover), which is not what a user's next night does.
    Archived files are never changed in place, so they are hard-linked.
    """
    shutil.copyfile(src, dst)
    wal = Path(str(src) + ".wal")
    if wal.exists():
        shutil.copyfile(wal, Path(str(dst) + ".wal"))
    if archive_of(src).exists():
        discard(archive_of(dst))
        shutil.copytree(archive_of(src), archive_of(dst), copy_function=_link_file)


def copy_out(src: Path, dst: Path) -> None:
    """The previous night's OUT, as a user's next night finds it (files hard-linked: a run never
    changes a published file in place, it swaps in a new folder)."""
    if src.exists():
        shutil.copytree(src, dst, copy_function=_link_file)


def _link_file(src, dst) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def count_rows(path: Path) -> int | None:
    if not path.exists():
        return None
    with open(path, newline="", encoding="utf-8") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def output_summary(out: Path) -> dict:
    """What a run wrote: row counts of the machine CSVs, documents and reports written."""
    summary = {"files": sorted(p.relative_to(out).as_posix() for p in out.iterdir()) if out.exists() else [],
               "rows": {name: count_rows(out / f"{name}.csv") for name in OUTPUT_CSVS
                        if (out / f"{name}.csv").exists()}}
    invoices = out / "invoices"
    for ext in ("html", "pdf", "xml"):
        summary[f"invoice_{ext}_files"] = len(list(invoices.glob(f"*.{ext}"))) if invoices.exists() else 0
    reports = out / "reports"
    summary["report_files"] = sum(1 for p in reports.rglob("*") if p.is_file()) if reports.exists() else 0
    return summary


def median_rep(reps: list[dict]) -> dict:
    """The repetition whose nightly time is the median (lower median for even counts)."""
    done = [r for r in reps if "seconds" in r["nightly"]]
    if not done:
        return reps[-1]
    ordered = sorted(done, key=lambda r: r["nightly"]["seconds"])
    return ordered[(len(ordered) - 1) // 2]


def bench_size(entries: int, args, work: Path, log: Path) -> dict:
    customers = max(1, entries // ENTRIES_PER_CUSTOMER)
    name = label(entries)
    print(f"[{name}] inbox: {entries} entries, {customers} customers", flush=True)
    inbox, meta = ensure_inbox(work, entries, customers)
    billing = add_billing_details(inbox)
    groups = input_groups(inbox)
    runs = work / name
    runs.mkdir(parents=True, exist_ok=True)
    reps_wanted = args.reps or default_reps(entries)
    result: dict = {
        "size": name, "entries": entries, "customers": customers, "seed": SEED,
        "generated": meta["counts"], "generate_seconds": meta.get("generate_seconds"),
        "input_bytes": sum(os.path.getsize(p) for g in groups for p in g),
        "as_of": AS_OF_FULL.isoformat(), "tz": TZ, "reports_enabled": not args.no_reports,
        "document_files": not args.no_document_files, "inbox_billing": billing,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(), "load_average_start": load_average(), "reps": [],
    }
    warehouse, out = runs / "full.duckdb", runs / "out-full"
    for rep in range(reps_wanted):
        floor = measure({"kind": "floor", "groups": groups}, args.timeout, log)
        _fresh(warehouse, out)
        progress = runs / "progress-full.jsonl"
        _fresh(progress)
        nightly = measure({"kind": "nightly", "inbox": str(inbox), "warehouse": str(warehouse),
                           "out": str(out), "as_of": AS_OF_FULL.isoformat(), "tz": TZ,
                           "reports": not args.no_reports, "progress": str(progress),
                           "document_files": not args.no_document_files},
                          args.timeout, log, allow_failure=True)
        if "seconds" in nightly:
            nightly["outputs"] = output_summary(out)
            nightly["ratio_to_floor"] = round(nightly["seconds"] / floor["seconds"], 2)
        result["reps"].append({"floor": floor, "nightly": nightly,
                               "code_sha256": _git_state()["code_sha256"]})
        print(f"[{name}] rep {rep + 1}/{reps_wanted}: floor {floor['seconds']:.3f}s, nightly "
              + (f"{nightly['seconds']:.2f}s ({nightly['ratio_to_floor']}× floor), "
                 f"peak RSS {nightly['peak_rss_mib']} MiB" if "seconds" in nightly
                 else f"failed ({nightly['failed']})" if "failed" in nightly
                 else f"timed out after {args.timeout:.0f}s")
              + f", watched peak {nightly.get('watched_peak_rss_mib')} MiB", flush=True)
        if "seconds" not in nightly:
            break
    result["summary"] = summarize_reps(result["reps"])
    full_done = "seconds" in result["reps"][-1]["nightly"]
    if full_done:
        # the OUT of the last repetition, right after it: the floor of the same run's files
        result["output_floor"] = measure({"kind": "output_floor", "out": str(out),
                                          "scratch": str(runs / "out-floor")}, args.timeout, log,
                                         allow_failure=True)
        if "seconds" in result["output_floor"]:
            print(f"[{name}] output floor: {result['output_floor']['files']} files, "
                  f"{result['output_floor']['bytes'] / 2**20:.1f} MiB written in "
                  f"{result['output_floor']['seconds']:.2f}s", flush=True)
        result["summary"].update(floors_of(result["summary"], result["output_floor"]))

    if args.no_reference:
        result["reference"] = {"skipped": "--no-reference"}
    elif entries > args.reference_max:
        result["reference"] = {"skipped": f"above --reference-max {label(args.reference_max)}"}
    else:
        result["reference"] = bench_reference(inbox, out if full_done else None, runs, args, log)
        result["reference"].update(reference_ratio(result["summary"], result["reference"]))

    if args.no_incremental:
        result["incremental"] = {"skipped": "--no-incremental"}
    elif not full_done:
        result["incremental"] = {"skipped": "the full run did not finish"}
    else:
        result["incremental"] = bench_incremental(entries, customers, inbox, warehouse, runs, args, log,
                                                  result["summary"])
    if args.no_close:
        result["close"] = {"skipped": "--no-close"}
    elif not full_done:
        result["close"] = {"skipped": "the full run did not finish"}
    else:
        result["close"] = bench_close(inbox, warehouse, runs, args, log)
    save(args.results, result)        # what is known so far, should a later step be killed
    if args.profile and full_done and entries <= PROFILE_MAX:
        result["profile"] = bench_profile(name, inbox, runs, args, log, entries)
    elif args.profile:
        result["profile"] = {"skipped": f"profiled up to {label(PROFILE_MAX)} entries"
                             if full_done else "the full run did not finish"}
    result["load_average_end"] = load_average()
    codes = {r.get("code_sha256") for r in result["reps"]} | {result["machine"]["git"]["code_sha256"],
                                                              _git_state()["code_sha256"]}
    result["code_changed_during_run"] = len(codes) > 1
    result["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return result


def floors_of(summary: dict, output: dict) -> dict:
    """The full night against input floor + output floor, with and without the documents."""
    if "nightly_seconds" not in summary or "seconds" not in output:
        return {}
    both = summary["floor_seconds"] + output["seconds"]
    out = {"output_floor_seconds": output["seconds"], "floor_in_out_seconds": round(both, 4),
           "ratio_to_floor_in_out": round(summary["nightly_seconds"] / both, 2)}
    if summary.get("reconciliation_seconds") is not None:
        out["reconciliation_ratio_to_floor_in_out"] = round(summary["reconciliation_seconds"] / both, 2)
    return out


def bench_reference(inbox: Path, engine_out: Path | None, runs: Path, args, log: Path) -> dict:
    """tests/reference.py on the same inbox in a fresh process (bench/naive.py adapts the inbox)."""
    spec = {"kind": "reference", "inbox": str(inbox), "as_of": AS_OF_FULL.isoformat(), "tz": TZ,
            "grain": args.reference_grain}
    if engine_out is not None:
        spec["engine_out"] = str(engine_out)
    result = measure(spec, args.timeout, log, allow_failure=True)
    print(f"[{runs.name}] reference: " + (f"{result['seconds']:.2f}s, peak RSS {result['peak_rss_mib']} MiB"
                                         if "seconds" in result else result.get("failed", "timed out")),
          flush=True)
    return result


def reference_ratio(summary: dict, ref: dict) -> dict:
    """Engine ingest + validate + compute (phases of the median full run) against the reference."""
    phases = summary.get("phases") or {}
    if "seconds" not in ref or not all(p in phases for p in ENGINE_PHASES):
        return {}
    engine = round(sum(phases[p] for p in ENGINE_PHASES), 4)
    return {"engine_phases": list(ENGINE_PHASES), "engine_seconds": engine,
            "engine_peak_rss_mib_after_compute": summary.get("peak_rss_mib_after_compute"),
            "speedup": round(ref["seconds"] / engine, 2) if engine else None}


def summarize_reps(reps: list[dict]) -> dict:
    rep = median_rep(reps)
    floors = [r["floor"]["seconds"] for r in reps]
    done = [r["nightly"] for r in reps if "seconds" in r["nightly"]]
    summary = {"reps": len(reps), "floor_seconds": rep["floor"]["seconds"],
               "floor_count_only_seconds": rep["floor"]["count_only_seconds"],
               "floor_min_seconds": min(floors), "floor_max_seconds": max(floors),
               "floor_peak_rss_mib": rep["floor"]["peak_rss_mib"]}
    if not done:
        summary["timed_out_after_seconds"] = rep["nightly"].get("timed_out_after_seconds")
        if "failed" in rep["nightly"]:
            summary["failed"] = rep["nightly"]["failed"]
            summary["exit_code"] = rep["nightly"].get("exit_code")
            summary["stopped_over_rss_limit_mib"] = rep["nightly"].get("stopped_over_rss_limit_mib")
        summary["watched_peak_rss_mib"] = rep["nightly"].get("watched_peak_rss_mib")
        summary["phases_finished_before_timeout"] = {p["phase"]: p["seconds"] for p in rep["nightly"].get("progress", [])}
        return summary
    nightly = rep["nightly"]
    phases = dict(nightly["phases"])
    summary.update({
        "nightly_seconds": nightly["seconds"],
        "nightly_min_seconds": min(n["seconds"] for n in done),
        "nightly_max_seconds": max(n["seconds"] for n in done),
        "phases": phases,
        "other_seconds": round(nightly["seconds"] - sum(phases.values()), 3),
        "ratio_to_floor": nightly["ratio_to_floor"],
        "ratio_to_floor_median_of_reps": round(statistics.median(
            r["nightly"]["ratio_to_floor"] for r in reps if "seconds" in r["nightly"]), 2),
        "ratio_to_floor_without_reports": round(
            (nightly["seconds"] - phases.get("reports", 0)) / rep["floor"]["seconds"], 2),
        "peak_rss_mib": max(n["peak_rss_mib"] for n in done),
        "peak_tree_rss_mib": max(max(n["peak_rss_mib"], n.get("tree_peak_rss_mib", 0)) for n in done),
        "peak_tree_pss_mib": max(n.get("tree_peak_pss_mib", 0) for n in done),
        "rss_after_import_mib": nightly.get("rss_after_import_mib"),
        "import_seconds": nightly.get("import_seconds"),
        "process_seconds": nightly.get("process_seconds"),
        "watched_peak_rss_mib": max(n.get("watched_peak_rss_mib") or 0 for n in done),
        "outputs": nightly.get("outputs"),
        "counts": nightly.get("counts"),
    })
    summary.update(documents_share(nightly))
    return summary


#: the engine's part that the reference also does (validation, allocation, expiry)
ENGINE_PHASES = ("ingest", "validate", "compute")


def documents_share(nightly: dict) -> dict:
    """The time spent writing documents' files (HTML, PDF, XML; rendered in `write_outputs`,
    moved into the archive in `publish`), and the run without it: the reconciliation.

    Also the peak RSS of the process when `compute` ended (the reference comparison's part)."""
    calls = nightly.get("document_files_seconds") or {}
    issued = nightly.get("documents_issued") or 0
    out: dict = {"documents_issued": issued}
    log = nightly.get("phase_log") or []
    after_compute = [p.get("vmhwm_mib") for p in log if p.get("phase") == "compute"]
    if after_compute:
        out["peak_rss_mib_after_compute"] = after_compute[-1]
    if "write_documents" not in calls or (issued and not calls.get("write_documents_calls")):
        out["documents_files_seconds"] = None     # the hook did not see the engine's writer
        out["reconciliation_seconds"] = None
        return out
    spent = round(calls.get("write_documents", 0) + calls.get("archive_store", 0), 4)
    out.update({"documents_files_seconds": spent,
                "documents_write_seconds": calls.get("write_documents"),
                "documents_archive_seconds": calls.get("archive_store"),
                "documents_files_share": round(spent / nightly["seconds"], 4) if nightly["seconds"] else None,
                "reconciliation_seconds": round(nightly["seconds"] - spent, 4),
                "documents_per_second": round(issued / calls["write_documents"], 1)
                if issued and calls.get("write_documents") else None})
    return out


def incremental_shares(inc: dict, full: dict) -> dict:
    """The incremental night's share of the full run, and of the full run without documents."""
    if "nightly_seconds" not in inc or "nightly_seconds" not in full:
        return {}
    out = {"share_of_full": round(inc["nightly_seconds"] / full["nightly_seconds"], 4)}
    if full.get("reconciliation_seconds"):
        out["share_of_full_reconciliation"] = round(inc["nightly_seconds"] / full["reconciliation_seconds"], 4)
        if inc.get("reconciliation_seconds") is not None:
            out["reconciliation_share_of_full_reconciliation"] = round(
                inc["reconciliation_seconds"] / full["reconciliation_seconds"], 4)
    return out


def logs_rendered(warehouse: Path, as_of) -> int:
    """How many prepaid logs the night as of `as_of` rendered: the others are unchanged, kept
    from an earlier night (the cache holds each log with the date it was rendered as of)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select count(*) from prepaid_log_cache where as_of = ?", [as_of]).fetchall()[0][0]
    finally:
        con.close()


def bench_incremental(entries, customers, inbox, full_warehouse, runs, args, log, full_summary) -> dict:
    inc_inbox, meta = build_increment(runs.parent, inbox, entries, customers)
    groups = input_groups(inc_inbox)
    warehouse, out = runs / "inc.duckdb", runs / "out-inc"
    reps = []
    for _ in range(min(3, args.reps or default_reps(entries))):
        floor = measure({"kind": "floor", "groups": groups}, args.timeout, log)
        _fresh(warehouse, out)
        copy_warehouse(full_warehouse, warehouse)
        copy_out(full_warehouse.with_name("out-full"), out)
        nightly = measure({"kind": "nightly", "inbox": str(inc_inbox), "warehouse": str(warehouse),
                           "out": str(out), "as_of": NEXT_DAY.isoformat(), "tz": TZ,
                           "reports": not args.no_reports}, args.timeout, log, allow_failure=True)
        if "seconds" in nightly:
            nightly["outputs"] = output_summary(out)
            nightly["outputs"]["prepaid_logs_rendered"] = logs_rendered(warehouse, NEXT_DAY)
            nightly["ratio_to_floor"] = round(nightly["seconds"] / floor["seconds"], 2)
        reps.append({"floor": floor, "nightly": nightly})
        if "seconds" not in nightly:
            break
    summary = summarize_reps(reps)
    summary.update(incremental_shares(summary, full_summary))
    summary["prepaid_logs_rendered"] = median_rep(reps)["nightly"].get("outputs", {}).get("prepaid_logs_rendered")
    print(f"[{label(entries)}] incremental (+{meta['entries_added']} entries): "
          + (f"{summary['nightly_seconds']:.2f}s" if "nightly_seconds" in summary else "timed out"),
          flush=True)
    return {"as_of": NEXT_DAY.isoformat(), **meta, "reps": reps, "summary": summary}


def bench_close(inbox, full_warehouse, runs, args, log) -> dict:
    warehouse, out = runs / "close.duckdb", runs / "out-close"
    _fresh(warehouse, out)
    copy_warehouse(full_warehouse, warehouse)
    result = measure({"kind": "close", "period": CLOSE_PERIOD, "inbox": str(inbox),
                      "warehouse": str(warehouse), "out": str(out), "tz": TZ,
                      "flags": CLOSE_FLAGS + (["--no-reports"] if args.no_reports else [])},
                     args.timeout, log, allow_failure=True)
    if "seconds" in result:
        result["period"] = CLOSE_PERIOD
        result["outputs"] = {"files": sorted(p.name for p in out.iterdir()) if out.exists() else [],
                             "reconciliation_rows": count_rows(out / "reconciliation.csv")}
        if (out / "run.json").exists():
            result["phases"] = json.loads((out / "run.json").read_text()).get("timings_seconds")
    print(f"[{runs.name}] close: " + (f"{result['seconds']:.2f}s (exit {result['exit_code']})"
                                        if "seconds" in result
                                        else result.get("skipped") or result.get("failed") or "timed out"),
          flush=True)
    return result


def bench_profile(name, inbox, runs, args, log, entries) -> dict:
    """One more full run under pyinstrument; hot spots summarized from its call tree.

    Up to 100k entries the prepaid logs are rendered in-process for this run (so the profiler
    sees inside them); above, they stay in their worker processes (the serial run would take
    too long) and show as waiting time.
    """
    from bench.profile import hotspots

    results = Path(args.results)
    session = results / f"profile-{name}.pyisession"
    warehouse, out = runs / "profile.duckdb", runs / "out-profile"
    _fresh(warehouse, out)
    run = measure({"kind": "nightly", "inbox": str(inbox), "warehouse": str(warehouse),
                   "out": str(out), "as_of": AS_OF_FULL.isoformat(), "tz": TZ,
                   "reports": not args.no_reports, "profile": str(session),
                   "serial_reports": entries <= 100_000},
                  args.timeout, log, allow_failure=True)
    if "seconds" not in run:
        return {"failed": run["failed"]} if "failed" in run else {"timed_out_after_seconds": args.timeout}
    summary = hotspots(session)
    summary.update({"seconds": run["seconds"], "phases": run["phases"],
                    "html_in_work": f"{runs.name}/{session.with_suffix('.html').name}",
                    "reports_in_process": entries <= 100_000,
                    "text": session.with_suffix(".txt").name})
    session.unlink(missing_ok=True)   # large; the .txt stays in results, the .html goes to work/
    html = session.with_suffix(".html")
    if html.exists():
        shutil.move(str(html), str(runs / html.name))
    print(f"[{name}] profile: {session.with_suffix('.txt')}", flush=True)
    return summary


def bench_prefect(work: Path, results: Path, args, log: Path) -> None:
    home = work / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    try:
        result = measure({"kind": "prefect", "prefect_home": str(home)}, min(args.timeout, 300), log)
    except MeasurementFailed as exc:
        result = {"kind": "prefect", "failed": str(exc)}
    result["machine"] = machine_info()
    result["measured_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (results / "prefect.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print("prefect: " + (f"import {result['import_seconds']}s, first flow (server start) "
                         f"{result['first_flow_seconds']}s, next flow {result['second_flow_seconds']}s"
                         if "first_flow_seconds" in result else str(result)), flush=True)


# --- entry point --------------------------------------------------------------------------

PROFILE_MAX = 1_000_000     # a profiled 10M run would take hours


def save(results: Path, result: dict) -> Path:
    result.setdefault("command", " ".join([".venv/bin/python -m bench.run", *sys.argv[1:]]))
    path = Path(results) / f"{result['size']}.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str) + "\n")
    os.replace(tmp, path)
    return path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10k,100k,1m", help="entry counts, e.g. 10k,100k,1m (default %(default)s)")
    p.add_argument("--with-10m", action="store_true", help="add the 10M-entry size")
    p.add_argument("--reps", type=int, default=0, help="repetitions per size (default 5 / 3 / 1 by size)")
    p.add_argument("--timeout", type=float, default=5400, help="seconds per measurement (default %(default)s)")
    p.add_argument("--rss-limit", type=float, default=RSS_LIMIT_MIB / 1024,
                   help="GiB; a measurement whose processes pass it is stopped and recorded as failed, "
                        "with the memory reached (default %(default)s; 0: no limit)")
    p.add_argument("--no-reports", action="store_true", help="run nightly with reports_enabled=False")
    p.add_argument("--no-document-files", action="store_true",
                   help="issue the documents but write none of their files (a 10M night's ~760,000 PDFs take hours)")
    p.add_argument("--no-incremental", action="store_true")
    p.add_argument("--no-close", action="store_true")
    p.add_argument("--no-prefect", action="store_true", help="skip measuring Prefect start-up")
    p.add_argument("--no-reference", action="store_true", help="skip tests/reference.py on the same inbox")
    p.add_argument("--reference-grain", choices=("customer", "inbox"), default="customer",
                   help="call tests/reference.py once per customer (default) or once for the whole inbox "
                        "(quadratic in the number of customers: hours at 1M)")
    p.add_argument("--reference-max", type=parse_size, default=1_000_000,
                   help="largest size the reference runs at (default 1m; it holds every row as Python objects)")
    p.add_argument("--profile", action="store_true", help="one extra full run per size under pyinstrument")
    p.add_argument("--work", type=Path, default=DEFAULT_WORK, help="cache of inboxes and warehouses")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    p.add_argument("--markdown", type=Path, default=None,
                   help=f"rendered report (default {DEFAULT_MARKDOWN.name} for the default results folder)")
    p.add_argument("--no-render", action="store_true", help="do not render the markdown and plot")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    global RSS_LIMIT_MIB
    RSS_LIMIT_MIB = args.rss_limit * 1024
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if args.with_10m and 10_000_000 not in sizes:
        sizes.append(10_000_000)
    work, results = args.work.resolve(), args.results.resolve()
    args.results = results
    work.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    log = work / "measurements.log"
    if not args.no_prefect:
        bench_prefect(work, results, args, log)
    for entries in sizes:
        result = bench_size(entries, args, work, log)
        print(f"[{result['size']}] results: {save(results, result)}", flush=True)
    empty_trash(work)
    if not args.no_render:
        from bench.report import render
        markdown = args.markdown or (DEFAULT_MARKDOWN if results == DEFAULT_RESULTS.resolve()
                                     else results / "BENCHMARKS.md")
        render(results, markdown)
        print(f"rendered {markdown}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
