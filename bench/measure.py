"""One measurement in a fresh process: `python -m bench.measure '<json spec>'`.

bench.run starts this module once per measurement, so that every measurement gets its own
peak RSS (getrusage RUSAGE_SELF ru_maxrss and /proc/self/status VmHWM, read at the end) and
nothing cached by an earlier measurement helps a later one. The last line on stdout is one
JSON object with the result. Kinds:

- floor:   DuckDB reads every input CSV (all columns, as text) -- the physical floor.
- nightly: transforms.run.nightly.run_nightly(...) without Prefect, phases from its timings, the
           peak RSS at the end of each phase, and the time spent writing documents' files.
- reference: tests/reference.py on the same inbox (read by bench/naive.py), no documents.
- close:   `prepaid close` through flows.cli.main, when that command exists.
- prefect: import prefect + a no-op flow (ephemeral API server start) + a second no-op flow.

Optional "profile": a path; the nightly run then runs under pyinstrument and the session is
saved there (pyinstrument's own JSON format, read back by bench.run).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path


TRASH = ".trash"


def discard(path: Path) -> None:
    """Move `path` (a folder or file) into the `.trash` folder beside it, emptied when the bench
    ends (bench.run.empty_trash). Deleting hundreds of thousands of files right before a
    measurement makes the files it creates slow to create on a file system without a journal
    (the kernel skips recently deleted inodes one by one; bench/notes.md, "eighth round"),
    which a user's night, a day after the last deletion, never sees."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    trash = path.parent / TRASH
    trash.mkdir(exist_ok=True)
    os.replace(path, trash / f"{path.name}.{time.time_ns()}")


def peak_rss() -> dict:
    """Peak resident set size of this process so far, in MiB (two independent readings)."""
    out = {"peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                out["vmhwm_mib"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return out


class TreeSampler:
    """Samples the memory of this process and all its descendants (e.g. the spawned workers
    that render reports) every `interval` seconds; keeps the peak of the sums.

    RSS sums may count shared library pages twice (spawned workers share little else); PSS
    (/proc/PID/smaps_rollup) splits shared pages fairly. Both peaks are reported.
    """

    def __init__(self, interval: float = 0.2, root: int | None = None) -> None:
        import threading

        self.interval = interval
        self.root = root          # another process's tree (bench.run watches its measurement)
        self.peak_rss_kib = self.peak_pss_kib = 0
        self.max_processes = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @staticmethod
    def _tree(root: int) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        tree, todo = [], [root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        return tree

    def sample(self) -> None:
        try:
            pids = self._tree(self.root or os.getpid())
        except OSError:
            return
        rss = pss = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            except OSError:
                continue
        self.peak_rss_kib = max(self.peak_rss_kib, rss)
        self.peak_pss_kib = max(self.peak_pss_kib, pss)
        self.max_processes = max(self.max_processes, len(pids))

    def result(self) -> dict:
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return {"tree_peak_rss_mib": round(self.peak_rss_kib / 1024, 1),
                "tree_peak_pss_mib": round(self.peak_pss_kib / 1024, 1),
                "tree_max_processes": self.max_processes,
                "largest_child_peak_rss_mib": round(children / 1024, 1)}


def current_rss_mib() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def floor(spec: dict) -> dict:
    """Scan every input CSV with DuckDB: count(*) plus max() of every column, all as VARCHAR.

    One read_csv per file kind (the time logs as one list of files). `all_varchar=true` because
    the reconciler keeps raw input as text too; max() of every column forces DuckDB to
    tokenize and materialize every cell (a bare count(*) may skip unused columns). The
    count-only variant is timed as well, for information.
    """
    import duckdb

    con = duckdb.connect()
    con.execute(f"set threads = {spec.get('threads') or os.cpu_count()}")
    groups = spec["groups"]
    result = {"groups": [], "rows": 0, "bytes": 0}
    all_columns = count_only = 0.0
    for paths in groups:
        source = f"read_csv({_sql_list(paths)}, all_varchar = true, header = true)"
        columns = [d[0] for d in con.execute(f"select * from {source} limit 0").description]
        maxes = ", ".join(f'max("{c}")' for c in columns)
        t = time.perf_counter()
        rows = con.execute(f"select count(*), {maxes} from {source}").fetchone()[0]
        all_columns += time.perf_counter() - t
        t = time.perf_counter()
        con.execute(f"select count(*) from {source}").fetchone()
        count_only += time.perf_counter() - t
        size = sum(os.path.getsize(p) for p in paths)
        result["groups"].append({"files": len(paths), "columns": len(columns), "rows": rows,
                                 "bytes": size})
        result["rows"] += rows
        result["bytes"] += size
    result["seconds"] = round(all_columns, 4)
    result["count_only_seconds"] = round(count_only, 4)
    return result


def ingest_run(spec: dict) -> dict:
    """`run_ingest` (ingest + validation, quarantine stored) on an empty warehouse."""
    t = time.perf_counter()
    from transforms.run.nightly import run_ingest
    imported = time.perf_counter() - t
    with TreeSampler() as sampler:
        t = time.perf_counter()
        summary, counts = run_ingest(Path(spec["inbox"]), Path(spec["warehouse"]), spec.get("tz", "UTC"))
        total = time.perf_counter() - t
    return {"seconds": round(total, 4), "import_seconds": round(imported, 4),
            "rows_added": dict(summary.rows_added), "entries": counts.get("entries"),
            "quarantined_rows": counts.get("quarantined_rows"), **sampler.result()}


def output_floor(spec: dict) -> dict:
    """Write the files of a finished run's OUT again, with no computation: the floor of output.

    Every file under `spec["out"]` is read into memory first (not timed); then the same folder
    tree is created in `spec["scratch"]` and every file written with its exact bytes, followed
    by one os.sync() (as the run seals OUT). This is what any implementation of the output
    contract (docs/outputs.md) must do at least, however fast it computes: create one file per
    invoice and per customer report and write the CSVs. Writing the same bytes as one file is
    timed too (bytes alone, no files).
    """
    out, scratch = Path(spec["out"]), Path(spec["scratch"])
    files = [(p.relative_to(out), p.read_bytes()) for p in sorted(out.rglob("*")) if p.is_file()]
    folders = sorted({rel.parent for rel, _ in files})
    discard(scratch)
    os.sync()
    t = time.perf_counter()
    for folder in folders:
        (scratch / folder).mkdir(parents=True, exist_ok=True)
    for rel, data in files:
        with open(scratch / rel, "wb") as fh:
            fh.write(data)
    os.sync()
    seconds = time.perf_counter() - t
    discard(scratch)
    os.sync()
    t = time.perf_counter()
    scratch.mkdir(parents=True)
    with open(scratch / "all-bytes", "wb") as fh:
        for _, data in files:
            fh.write(data)
    os.sync()
    one_file = time.perf_counter() - t
    discard(scratch)
    return {"files": len(files), "folders": len(folders), "bytes": sum(len(d) for _, d in files),
            "seconds": round(seconds, 4), "one_file_seconds": round(one_file, 4)}


def vmhwm_mib() -> float | None:
    """Peak resident set size of this process so far (VmHWM), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@contextmanager
def _phase_log(path: str | None, phases: list[dict]):
    """Record each phase of the run as it ends: its seconds, when it ended and the process's
    peak RSS so far (so the peak up to the end of `compute` is known); also appended to `path`
    when given, to be read after a timeout or a crash.

    Wraps transforms.progress.phase (every phase of the run goes through it) in this process
    only; nothing on disk is changed.
    """
    from transforms import progress

    original = getattr(progress, "phase", None)
    if original is None:
        yield
        return
    start = time.perf_counter()

    @contextmanager
    def phase(name, *args, **kwargs):
        with original(name, *args, **kwargs) as p:    # the phase, for the caller to say what it did
            yield p
        record = {"phase": name, "seconds": getattr(p, "seconds", None),
                  "at": round(time.perf_counter() - start, 3), "vmhwm_mib": vmhwm_mib()}
        phases.append(record)
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

    progress.phase = phase
    try:
        yield
    finally:
        progress.phase = original


#: The calls that write documents' files: the run minus these is the reconciliation.
#: (module, function, key); a function the engine no longer has is skipped (key absent).
DOCUMENT_CALLS = (("transforms.documents.documents", "write_documents", "write_documents"),
                  ("transforms.documents.archive", "store", "archive_store"))


@contextmanager
def _timed_calls(calls, seconds: dict):
    """Add the wall time of every call of module.function to seconds[key] and count the calls
    (this process only; a caller that imported the function by name is not seen)."""
    import importlib

    patched = []
    for module_name, function, key in calls:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        original = getattr(module, function, None)
        if original is None:
            continue
        seconds.setdefault(key, 0.0)
        seconds.setdefault(f"{key}_calls", 0)   # 0 calls with documents issued: the hook missed

        def timed(*args, _original=original, _key=key, **kwargs):
            t = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                seconds[_key] = round(seconds[_key] + time.perf_counter() - t, 4)
                seconds[f"{_key}_calls"] += 1

        setattr(module, function, timed)
        patched.append((module, function, original))
    try:
        yield
    finally:
        for module, function, original in patched:
            setattr(module, function, original)


@contextmanager
def _without_document_files(skip: bool):
    """With `skip`, the documents are issued (planned, numbered, stored) but their files are not
    written: a 10M first night has about 760,000 documents, hours of PDFs on this machine, and
    the rest of the night is what the memory goal at 10M is about. Entered before
    `_timed_calls`, which then times (and counts) the empty call."""
    import importlib

    if not skip:
        yield
        return
    module_name, function, _ = DOCUMENT_CALLS[0]
    module = importlib.import_module(module_name)
    original = getattr(module, function)
    def no_files(con, target, run_id, copies=None):
        # empty folders: OUT's invoices/, and the archive's incoming folder that publishing moves
        for folder in (Path(target) / "invoices", copies):
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)

    setattr(module, function, no_files)
    try:
        yield
    finally:
        setattr(module, function, original)


def nightly(spec: dict) -> dict:
    from datetime import date

    t = time.perf_counter()
    from transforms.run.nightly import run_nightly
    imported = time.perf_counter() - t
    rss_before = current_rss_mib()
    args = (Path(spec["inbox"]), Path(spec["warehouse"]), Path(spec["out"]),
            date.fromisoformat(spec["as_of"]), spec.get("tz", "UTC"))
    if spec.get("serial_reports"):
        # profiling only: render the prepaid logs in this process so the profiler sees them
        import transforms.reports.reports as reports
        if hasattr(reports, "PARALLEL_FROM"):
            reports.PARALLEL_FROM = 10 ** 12
    profiler = None
    if spec.get("profile"):
        from pyinstrument import Profiler
        profiler = Profiler(interval=spec.get("profile_interval", 0.005))
        profiler.start()
    phases: list[dict] = []
    document_seconds: dict[str, float] = {}
    with _phase_log(spec.get("progress"), phases), _without_document_files(not spec.get("document_files", True)), \
            _timed_calls(DOCUMENT_CALLS, document_seconds), TreeSampler() as sampler:
        t = time.perf_counter()
        report = run_nightly(*args, reports_enabled=spec.get("reports", True))
        total = time.perf_counter() - t
    if profiler is not None:
        session = profiler.stop()
        session.save(spec["profile"])
        Path(spec["profile"]).with_suffix(".txt").write_text(
            profiler.output_text(unicode=False, color=False, show_all=False), encoding="utf-8")
        Path(spec["profile"]).with_suffix(".html").write_text(profiler.output_html(), encoding="utf-8")
    return {
        "seconds": round(total, 4),
        "phases": dict(report.timings),
        "phase_log": phases,
        "document_files_seconds": document_seconds,
        "counts": json.loads(json.dumps(report.counts, default=str)),
        "documents_issued": len(report.documents),
        "files_ingested": len(report.ingest.files_ingested),
        "files_unchanged": len(report.ingest.files_unchanged),
        "import_seconds": round(imported, 4),
        "rss_after_import_mib": rss_before,
        **sampler.result(),
    }


def reference(spec: dict) -> dict:
    """tests/reference.py on the inbox (bench/naive.py reads it): read + reconcile, timed;
    then, untimed, its rows compared with the engine's OUT of the same inbox. "grain":
    "customer" (default) calls the reference once per customer, "inbox" once for everything."""
    from datetime import date

    t = time.perf_counter()
    from bench import naive
    imported = time.perf_counter() - t
    with TreeSampler() as sampler:
        t = time.perf_counter()
        inputs, adapted = naive.read(Path(spec["inbox"]), spec.get("tz", "UTC"))
        read_seconds = time.perf_counter() - t
        as_of, tz = date.fromisoformat(spec["as_of"]), spec.get("tz", "UTC")
        if spec.get("grain", "customer") == "customer":
            result = naive.reconcile_per_customer(*inputs, as_of, tz)
        else:                       # one call over the whole inbox (quadratic: small sizes only)
            from tests.reference import reconcile_reference
            result = reconcile_reference(*inputs, as_of, tz)
        total = time.perf_counter() - t
    rss = peak_rss()
    out = {"seconds": round(total, 4), "read_seconds": round(read_seconds, 4),
           "reconcile_seconds": round(total - read_seconds, 4), "import_seconds": round(imported, 4),
           "grain": spec.get("grain", "customer"),
           "rows": {name: len(rows) for name, rows in result.items()}, "adapted": adapted,
           **sampler.result(), **rss}
    if spec.get("engine_out"):
        out["agreement"] = naive.agreement(result, Path(spec["engine_out"]))
    return out


def close(spec: dict) -> dict:
    t = time.perf_counter()
    from flows import cli
    imported = time.perf_counter() - t
    if "close" not in getattr(cli, "COMMANDS", {}):
        return {"skipped": "`prepaid close` does not exist yet (no 'close' in flows.cli.COMMANDS)"}
    argv = ["close", "--period", spec["period"], "--inbox", spec["inbox"],
            "--warehouse", spec["warehouse"], "--out", spec["out"], "--tz", spec.get("tz", "UTC")]
    options = _options(cli, "close")
    argv += [flag for flag in spec.get("flags", []) if flag in options]
    import contextlib
    import io

    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), TreeSampler() as sampler:
        t = time.perf_counter()
        code = cli.main(argv)
        total = time.perf_counter() - t
    sys.stderr.write(errors.getvalue())
    out = {"seconds": round(total, 4), "exit_code": code, "argv": argv,
           "import_seconds": round(imported, 4), **sampler.result()}
    if code != 0:
        out["error"] = errors.getvalue().strip().splitlines()[-1:] or [f"exit code {code}"]
    return out


def _options(cli, command: str) -> set[str]:
    """Option strings the CLI's subcommand accepts (so the bench works before and after a flag exists)."""
    import argparse

    for action in cli.build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return set(action.choices[command]._option_string_actions)
    return set()


def prefect(spec: dict) -> dict:
    """Cost of Prefect itself: import, first flow run (starts the ephemeral API server), second run."""
    os.environ.setdefault("PREFECT_HOME", spec["prefect_home"])
    os.environ.pop("PREFECT_API_URL", None)
    t = time.perf_counter()
    from prefect import flow
    imported = time.perf_counter() - t

    @flow(name="bench-noop", log_prints=False)
    def noop() -> int:
        return 1

    t = time.perf_counter()
    noop()
    first = time.perf_counter() - t
    t = time.perf_counter()
    noop()
    second = time.perf_counter() - t
    return {"import_seconds": round(imported, 3), "first_flow_seconds": round(first, 3),
            "second_flow_seconds": round(second, 3)}


def hold(spec: dict) -> dict:
    """Hold `mib` MiB for `seconds`: a known load for checking bench.run's memory watcher."""
    block = bytearray(int(spec["mib"] * 2**20))
    block[::4096] = b"x" * len(block[::4096])     # touch every page, so it is resident
    time.sleep(spec["seconds"])
    return {"seconds": spec["seconds"], "held_mib": spec["mib"]}


KINDS = {"hold": hold, "floor": floor, "output_floor": output_floor, "ingest": ingest_run, "nightly": nightly,
         "reference": reference, "close": close, "prefect": prefect}


def main() -> int:
    spec = json.loads(sys.argv[1])
    result = KINDS[spec["kind"]](spec)
    result.update(peak_rss())
    result["kind"] = spec["kind"]
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
