"""SPEC §8: a run is all-or-nothing. SIGKILLed at any moment, the warehouse is as before or as
after; a rerun then gives the same warehouse and OUT as a clean run, leaves no staging folder,
and invoice numbering has no gap and no duplicate.

Scenario: night A (2026-01-31) has committed; night B (2026-02-28) brings a third time log, a
file of corrected entries (supersessions, hence invoice adjustments) and month-end invoices.
Night B runs in a subprocess that is SIGKILLed: at a moment drawn from a fixed seed inside each
computing phase (ingest, validate, compute, documents; as timed by a clean run of B in a
subprocess), as soon as the staging folder appears (writing has begun), as soon as the
archive's copies of its documents are being written, as soon as a prepaid log appears in the
staging folder (mid-reports), as soon as its completion marker appears (sealed: the commit is
next), and once anywhere. Where exactly a timed kill lands still depends on the machine's
speed; every landing must pass; the archive must then hold what a clean run leaves.
The project has no fault-injection hooks, so windows too short to hit with a timer (between
commit and publish) are covered in-process by `test_publish_interrupted_*` and
`test_archive_interrupted_*` below.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.reliability.helpers import snapshot
from transforms.documents import archive
from transforms.run import outputs
from transforms.run.generate import generate_inbox
from transforms.run.nightly import run_nightly

ROOT = Path(__file__).resolve().parents[2]
A, B = date(2026, 1, 31), date(2026, 2, 28)
SEED = 20260228
RANDOM_KILLS = 1
#: the phases of a run in the order they run (run.json lists their timings sorted by name)
PHASES = ("ingest", "validate", "compute", "documents", "write_outputs", "reports", "publish")

RUN = """
import sys, time
from datetime import date
from pathlib import Path
from transforms.run.nightly import run_nightly
print("ready", flush=True)
sys.stdin.readline()
started = time.perf_counter()
run_nightly(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), date.fromisoformat(sys.argv[4]))
print(f"done {time.perf_counter() - started:.3f}", flush=True)
"""
RECOVERY_NOTE = re.compile(r"^(published|discarded) outputs of|^restored |^archived .* of committed run ")


# --- comparing OUT ------------------------------------------------------------------------

def out_tree(out: Path) -> dict[str, object]:
    """OUT as comparable values: bytes, XLSX cell values, run.json without per-run fields."""
    tree = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if path.suffix == ".xlsx":
            book = load_workbook(path)
            tree[rel] = [(s.title, [[c.value for c in row] for row in s.iter_rows()]) for s in book.worksheets]
        elif path.name == "run.json":
            run = json.loads(path.read_text(encoding="utf-8"))
            for volatile in ("run_id", "started_at", "timings_seconds", "flow_run_id"):
                run.pop(volatile, None)
            run["warnings"] = [w for w in run.get("warnings", []) if not RECOVERY_NOTE.match(w)]
            tree[rel] = run
        else:
            tree[rel] = path.read_bytes()
    return tree


def archive_tree(archive: Path) -> dict[str, bytes]:
    """The document archive's files (not its run markers) as bytes; nothing may be left incoming."""
    assert not list(archive.glob(".incoming/*")), "a killed run's copies were left in the archive"
    return {p.relative_to(archive).as_posix(): p.read_bytes()
            for p in sorted(archive.rglob("*")) if p.is_file() and p.parent.name != ".runs"}


def numbering_problems(tables: dict[str, list[tuple]]) -> list[str]:
    """Document numbers per series (in a warehouse snapshot) must be 000001..N, no gap, no repeat."""
    if "documents" not in tables:
        return []
    header, rows = tables["documents"][0], tables["documents"][1:]
    numbers = [ast.literal_eval(row[header.index("number")]) for row in rows]  # snapshot cells are reprs
    problems = []
    series: dict[str, list[int]] = {}
    for number in numbers:
        prefix, _, n = number.rpartition("-")
        series.setdefault(prefix, []).append(int(n))
    for prefix, ns in series.items():
        if sorted(ns) != list(range(1, len(ns) + 1)):
            problems.append(f"{prefix}: {sorted(ns)}")
    return problems


# --- the scenario -------------------------------------------------------------------------

def make_inboxes(base: Path) -> tuple[Path, Path]:
    """Inbox of night A (two time logs) and of night B (three, plus corrections)."""
    gen = base / "gen"
    generate_inbox(gen, 8, 600, 11, start=date(2026, 1, 1), days=59, files=3)
    inbox_a, inbox_b = base / "inbox_a", base / "inbox_b"
    shutil.copytree(gen, inbox_b)
    shutil.copytree(gen, inbox_a)
    (inbox_a / "timelogs" / "part-03.csv").unlink()
    with open(gen / "timelogs" / "part-01.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    corrected = []
    for row in body[::40]:  # every 40th entry of January comes again, now 240 minutes long
        row = list(row)
        row[header.index("ended_at")] = ""
        row[header.index("duration_minutes")] = "240"
        corrected.append(row)
    with open(inbox_b / "timelogs" / "part-04-corrections.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header] + corrected)
    return inbox_a, inbox_b


def spawn(inbox: Path, warehouse: Path, out: Path, as_of: date) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN, str(inbox), str(warehouse), str(out), as_of.isoformat()],
                            cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def ready(process: subprocess.Popen) -> None:
    line = process.stdout.readline()
    assert line.strip() == "ready", process.stderr.read()


#: kills triggered by what the run leaves on disk (polled every millisecond), not by time:
#: writing has begun; a report is being written; the staging folder is sealed (commit is next)
KILL_WHEN_APPEARS = (
    ("staging-created", ".out.run-*"),
    ("mid-reports", ".out.run-*/reports/*/prepaid-log.*"),
    ("sealed-before-commit", ".out.run-*/.complete"),
    ("mid-archive-copies", "w-documents/.incoming/*/INV-*/INV-*"),    # the archive's copies, before the commit
)


def kill_points(timings: dict[str, float], total: float) -> list[tuple[str, float | str]]:
    """(label, seconds after start or a glob that triggers the kill) of every kill: one at a
    seeded random moment inside each computing phase, the file-triggered ones, and
    RANDOM_KILLS anywhere."""
    rng = random.Random(SEED)
    overhead = max(0.0, total - sum(timings.values())) / 2  # connect, begin, marts, seal ... split around
    points, at = [], overhead
    for phase in PHASES:
        seconds = timings.get(phase, 0.0)
        if seconds > 0 and phase in ("ingest", "validate", "compute", "documents"):
            points.append((phase, at + rng.uniform(0.1, 0.9) * seconds))
        at += seconds
    points += list(KILL_WHEN_APPEARS)
    points += [(f"random-{i}", rng.uniform(0, total)) for i in range(RANDOM_KILLS)]
    return points


def wait_then_kill(child: subprocess.Popen, trial: Path, when: float | str) -> bool:
    """Kill the child after `when` seconds, or as soon as `when` (a glob) matches under the
    trial folder; True when it had already finished by then."""
    if isinstance(when, float):
        time.sleep(when)
    else:
        deadline = time.monotonic() + 60
        while child.poll() is None and not list(trial.glob(when)) and time.monotonic() < deadline:
            time.sleep(0.001)
    if child.poll() is not None:
        return True
    os.kill(child.pid, signal.SIGKILL)
    return False


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """Inboxes, the committed state after night A, and clean results of night B."""
    base = tmp_path_factory.mktemp("crash")
    inbox_a, inbox_b = make_inboxes(base)
    warehouse, out = base / "clean" / "w.duckdb", base / "clean" / "out"
    run_nightly(inbox_a, warehouse, out, A)
    assert not warehouse.with_name("w.duckdb.wal").exists()
    shutil.copy(warehouse, base / "after_a.duckdb")
    shutil.copytree(out, base / "out_a")
    shutil.copytree(base / "clean" / "w-documents", base / "documents_a")
    state_a = snapshot(warehouse)
    child = spawn(inbox_b, warehouse, out, B)  # night B timed in the same conditions as the killed ones
    ready(child)
    child.stdin.write("go\n")
    child.stdin.flush()
    stdout, stderr = child.communicate(timeout=300)
    assert child.returncode == 0, stderr
    total = float(stdout.split()[-1])
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    state_b, out_b, archive_b = snapshot(warehouse), out_tree(out), archive_tree(base / "clean" / "w-documents")
    run_nightly(inbox_b, warehouse, out, B)  # night B again: what a rerun after a committed kill gives
    return dict(base=base, inbox_b=inbox_b, state_a=state_a, state_b=state_b, out_b=out_b, archive_b=archive_b,
                out_bb=out_tree(out), state_bb=snapshot(warehouse), timings=run["timings_seconds"],
                total=total, documents_b=run["documents"])


def test_clean_scenario__night_b_issues_documents_and_a_rerun_changes_no_table(clean):
    assert clean["documents_b"], "night B should issue documents for the numbering checks to mean anything"
    assert clean["state_bb"] == clean["state_b"]
    assert clean["state_a"] != clean["state_b"]
    assert numbering_problems(clean["state_b"]) == []


def test_sigkill_at_any_point__warehouse_before_or_after__rerun_equals_clean_run(clean):
    base, points = clean["base"], kill_points(clean["timings"], clean["total"])

    def prepare(i: int) -> tuple[Path, subprocess.Popen]:
        trial = base / f"trial-{i}"
        trial.mkdir()
        shutil.copy(base / "after_a.duckdb", trial / "w.duckdb")
        shutil.copytree(base / "out_a", trial / "out")
        shutil.copytree(base / "documents_a", trial / "w-documents")
        return trial, spawn(clean["inbox_b"], trial / "w.duckdb", trial / "out", B)

    landed = []
    trial, child = prepare(0)
    for i, (label, when) in enumerate(points):
        ready(child)
        child.stdin.write("go\n")
        child.stdin.flush()
        started = time.monotonic()
        finished_first = wait_then_kill(child, trial, when)
        killed_at = time.monotonic() - started
        child.wait(timeout=60)
        child.stdout.close(), child.stderr.close(), child.stdin.close()
        if i + 1 < len(points):
            next_trial, next_child = prepare(i + 1)  # imports while this trial is checked
        after_kill = snapshot(trial / "w.duckdb")
        state = "after" if after_kill == clean["state_b"] else "before" if after_kill == clean["state_a"] else None
        assert state is not None, f"kill {label} at {killed_at:.3f}s left a warehouse that is neither before nor after"
        landed.append((label, round(killed_at, 3), state, "finished" if finished_first else "killed"))

        run_nightly(clean["inbox_b"], trial / "w.duckdb", trial / "out", B)
        after_rerun = snapshot(trial / "w.duckdb")
        assert after_rerun == clean["state_b"], label
        assert out_tree(trial / "out") == (clean["out_b"] if state == "before" else clean["out_bb"]), label
        assert archive_tree(trial / "w-documents") == clean["archive_b"], label
        assert sorted(p.name for p in trial.iterdir() if p.name != "w.duckdb.wal") == ["out", "w-documents", "w.duckdb"], label
        assert numbering_problems(after_rerun) == [], label
        shutil.rmtree(trial)
        if i + 1 < len(points):
            trial, child = next_trial, next_child
    print("kills:", landed)
    assert "before" in {state for _, _, state, _ in landed}, landed


def test_publish_interrupted_after_commit__next_run_publishes_and_recovers(tmp_path, monkeypatch, clean):
    """The window between commit and the swap of OUT is too short to hit with a timer: stop
    the run there in-process (as a kill would) and check what the next run does."""
    shutil.copy(clean["base"] / "after_a.duckdb", tmp_path / "w.duckdb")
    shutil.copytree(clean["base"] / "out_a", tmp_path / "out")
    shutil.copytree(clean["base"] / "documents_a", tmp_path / "w-documents")
    before_out = out_tree(tmp_path / "out")

    def killed(staged, out):
        raise KeyboardInterrupt  # stands in for SIGKILL: nothing after this point runs

    monkeypatch.setattr(outputs, "swap", killed)
    with pytest.raises(KeyboardInterrupt):
        run_nightly(clean["inbox_b"], tmp_path / "w.duckdb", tmp_path / "out", B)
    monkeypatch.undo()
    assert snapshot(tmp_path / "w.duckdb") == clean["state_b"]      # committed: "after"
    assert out_tree(tmp_path / "out") == before_out                 # OUT not yet swapped: "before"
    assert len(list(tmp_path.glob(".out.run-*"))) == 1

    report = run_nightly(clean["inbox_b"], tmp_path / "w.duckdb", tmp_path / "out", B)
    assert any(w.startswith("published outputs of committed run") for w in report.warnings)
    assert snapshot(tmp_path / "w.duckdb") == clean["state_b"]
    assert out_tree(tmp_path / "out") == clean["out_bb"]
    assert archive_tree(tmp_path / "w-documents") == clean["archive_b"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "w.duckdb.wal") == ["out", "w-documents", "w.duckdb"]


def test_publish_interrupted_between_the_two_renames__old_out_restored_then_replaced(tmp_path, monkeypatch, clean):
    """Killed after OUT was moved aside and before the new folder took its place."""
    shutil.copy(clean["base"] / "after_a.duckdb", tmp_path / "w.duckdb")
    shutil.copytree(clean["base"] / "out_a", tmp_path / "out")
    shutil.copytree(clean["base"] / "documents_a", tmp_path / "w-documents")
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".out.run-") and Path(dst).name == "out":
            raise KeyboardInterrupt  # OUT is already moved aside to .out.old
        return real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        run_nightly(clean["inbox_b"], tmp_path / "w.duckdb", tmp_path / "out", B)
    monkeypatch.undo()
    assert not (tmp_path / "out").exists() and (tmp_path / ".out.old").exists()

    run_nightly(clean["inbox_b"], tmp_path / "w.duckdb", tmp_path / "out", B)
    assert snapshot(tmp_path / "w.duckdb") == clean["state_b"]
    assert out_tree(tmp_path / "out") == clean["out_bb"]
    assert archive_tree(tmp_path / "w-documents") == clean["archive_b"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "w.duckdb.wal") == ["out", "w-documents", "w.duckdb"]


def test_publish_interrupted_while_carrying_unchanged_logs__next_run_finishes_it(tmp_path, monkeypatch, clean):
    """Night B again, killed after the first of its unchanged prepaid logs (all of them: the
    night changes nothing) moved from OUT into the new folder: OUT lacks it, the committed
    folder has it and still its completion marker; the next run moves the rest and publishes
    (OUT then has every customer's log)."""
    shutil.copy(clean["base"] / "after_a.duckdb", tmp_path / "w.duckdb")
    shutil.copytree(clean["base"] / "out_a", tmp_path / "out")
    shutil.copytree(clean["base"] / "documents_a", tmp_path / "w-documents")
    run_nightly(clean["inbox_b"], tmp_path / "w.duckdb", tmp_path / "out", B)
    real_rename, moved = os.rename, []

    def rename(src, dst):
        if Path(src).parent != tmp_path / "out" / "reports":
            return real_rename(src, dst)
        if moved:
            raise KeyboardInterrupt       # the second log to move: stop here, as a kill would
        moved.append(Path(dst).relative_to(next(tmp_path.glob(".out.run-*"))).as_posix())
        return real_rename(src, dst)

    monkeypatch.setattr(outputs.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        run_nightly(clean["inbox_b"], tmp_path / "w.duckdb", tmp_path / "out", B)
    monkeypatch.undo()
    (staged,) = tmp_path.glob(".out.run-*")
    carried = (staged / outputs.CARRY_FILE).read_text(encoding="utf-8").splitlines()
    assert len(carried) == 8 and moved == carried[:1]
    assert (staged / moved[0]).is_dir() and not (tmp_path / "out" / moved[0]).exists()
    assert (staged / outputs.COMPLETE_MARKER).exists()

    report = run_nightly(clean["inbox_b"], tmp_path / "w.duckdb", tmp_path / "out", B)
    assert any(w.startswith("published outputs of committed run") for w in report.warnings)
    assert snapshot(tmp_path / "w.duckdb") == clean["state_b"]
    out, expected = out_tree(tmp_path / "out"), clean["out_bb"]
    # the run before this one was the killed one: a run more than in the clean scenario
    assert out["run.json"]["counts"]["changes"].pop("previous_run_id") == 3
    assert out == {**expected, "run.json": {**expected["run.json"], "counts": {
        **expected["run.json"]["counts"],
        "changes": {k: v for k, v in expected["run.json"]["counts"]["changes"].items() if k != "previous_run_id"}}}}
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "w.duckdb.wal") == ["out", "w-documents", "w.duckdb"]


@pytest.mark.parametrize("killed_in", ["_place", "_mark"])
def test_archive_interrupted_after_commit__next_run_archives_the_same_files(tmp_path, monkeypatch, clean, killed_in):
    """Killed after the commit, before the archive's copies were in place (`_place`) or after
    they were and before the run's marker (`_mark`): the next run puts the copies in place
    without rendering anything (night B again issues nothing), marks the run, leaves no copy."""
    shutil.copy(clean["base"] / "after_a.duckdb", tmp_path / "w.duckdb")
    shutil.copytree(clean["base"] / "out_a", tmp_path / "out")
    shutil.copytree(clean["base"] / "documents_a", tmp_path / "w-documents")

    def killed(*args):
        raise KeyboardInterrupt  # stands in for SIGKILL

    monkeypatch.setattr(archive, killed_in, killed)
    with pytest.raises(KeyboardInterrupt):
        run_nightly(clean["inbox_b"], tmp_path / "w.duckdb", tmp_path / "out", B)
    monkeypatch.undo()
    assert snapshot(tmp_path / "w.duckdb") == clean["state_b"]      # committed
    assert len(list((tmp_path / "w-documents" / ".incoming").iterdir())) == 1

    monkeypatch.setattr(archive, "render", killed)
    report = run_nightly(clean["inbox_b"], tmp_path / "w.duckdb", tmp_path / "out", B)
    monkeypatch.undo()
    files = 2 * len(clean["documents_b"])   # HTML and PDF: night B's inbox has no seller, so no XML
    added = 0 if killed_in == "_mark" else files
    assert f"archived {added} document file(s) of committed run 2" in report.warnings
    assert archive_tree(tmp_path / "w-documents") == clean["archive_b"]
    assert not (tmp_path / "w-documents" / ".incoming").exists()
