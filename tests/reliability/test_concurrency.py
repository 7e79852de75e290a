"""SPEC §8: a second run started while one is running stops at once with a clear message
(`WarehouseBusy`; the CLI exits 2 with one line) and changes nothing."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import write_inbox
from tests.reliability.helpers import snapshot
from transforms.run.generate import generate_inbox
from transforms.run.nightly import run_nightly
from transforms.warehouse import WarehouseBusy

ROOT = Path(__file__).resolve().parents[2]
TL = "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
AT_ONCE_SECONDS = 5  # generous for a loaded CI machine; a busy warehouse is refused without waiting

HOLD = """
import sys
from transforms.warehouse import connect
con = connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
con.close()
"""

# a real nightly run that says when it holds the warehouse (the test wraps `connect`; the
# project has no hook for it)
RUN = """
import sys
from datetime import date
from pathlib import Path
import transforms.run.nightly as nightly
real_connect = nightly.connect
def connect(path, *args, **kwargs):
    con = real_connect(path, *args, **kwargs)
    print("connected", flush=True)
    return con
nightly.connect = connect
nightly.run_nightly(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), date.fromisoformat(sys.argv[4]),
                    reports_enabled=False)
print("done", flush=True)
"""


def nightly_cli_flags() -> list[str]:
    """`--no-prefect` when the CLI has it (the plain path, no Prefect server)."""
    from flows.cli import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    flags = {s for a in sub.choices["nightly"]._actions for s in a.option_strings}
    return ["--no-prefect"] if "--no-prefect" in flags else []


def tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def wait_for(process: subprocess.Popen, word: str) -> None:
    line = process.stdout.readline()
    assert line.strip() == word, (line, process.stderr.read() if process.poll() is not None else "")


def test_second_run_while_warehouse_is_held__refused_at_once__cli_exit_2__nothing_changes(tmp_path):
    inbox = write_inbox(tmp_path / "in", timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00")
    warehouse, out = tmp_path / "w.duckdb", tmp_path / "out"
    run_nightly(inbox, warehouse, out, date(2026, 1, 31), reports_enabled=False)
    (inbox / "timelogs" / "u.csv").write_text(TL + "e2,c1,ann,support,2026-01-06T09:00,45,\n", encoding="utf-8")
    before_warehouse, before_out = snapshot(warehouse), tree(out)

    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(holder, "holding")
        started = time.monotonic()
        with pytest.raises(WarehouseBusy, match="in use by another"):
            run_nightly(inbox, warehouse, out, date(2026, 2, 28), reports_enabled=False)
        refused_in = time.monotonic() - started
        cli = subprocess.run(
            [sys.executable, "-m", "flows.cli", "nightly", *nightly_cli_flags(), "--inbox", str(inbox),
             "--warehouse", str(warehouse), "--out", str(out), "--as-of", "2026-02-28"],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert refused_in < AT_ONCE_SECONDS
    assert cli.returncode == 2, cli.stderr
    assert cli.stderr.count("\n") == 1 and cli.stderr.startswith("prepaid: ") and "in use by another" in cli.stderr
    assert snapshot(warehouse) == before_warehouse
    assert tree(out) == before_out
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "w.duckdb.wal") == ["in", "out", "w.duckdb"]


def test_second_run_while_a_real_run_is_running__refused__the_first_completes(tmp_path):
    generate_inbox(tmp_path / "in", 10, 4000, 5, start=date(2026, 1, 1), days=31, files=2)
    warehouse = tmp_path / "w.duckdb"
    first = subprocess.Popen([sys.executable, "-c", RUN, str(tmp_path / "in"), str(warehouse),
                              str(tmp_path / "out1"), "2026-01-31"],
                             cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(first, "connected")
        started = time.monotonic()
        with pytest.raises(WarehouseBusy):
            run_nightly(tmp_path / "in", warehouse, tmp_path / "out2", date(2026, 1, 31), reports_enabled=False)
        refused_in = time.monotonic() - started
        assert first.poll() is None, "the first run ended before the second was refused: test inconclusive"
    finally:
        stdout, stderr = first.communicate(timeout=120)
    assert refused_in < AT_ONCE_SECONDS
    assert first.returncode == 0 and stdout.strip() == "done", stderr
    assert (tmp_path / "out1" / "entries.csv").exists()
    assert not (tmp_path / "out2").exists()
    assert not list(tmp_path.glob(".out2*"))
