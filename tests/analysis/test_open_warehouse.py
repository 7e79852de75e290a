"""open_warehouse: read-only, and a clear error at once (no wait) while a run holds the file."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from transforms.warehouse import WarehouseBusy, connect, open_warehouse

ROOT = Path(__file__).resolve().parents[2]
HOLD = ("import sys; from transforms.warehouse import connect; con = connect(sys.argv[1]); "
        "print('holding', flush=True); sys.stdin.read()")


def test_open_warehouse__run_holds_it_in_another_process__fails_fast_with_clear_message(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        start = time.monotonic()
        with pytest.raises(WarehouseBusy, match="in use by another process"):
            open_warehouse(path)
        assert time.monotonic() - start < 5
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with open_warehouse(path) as con:  # free again once the run has ended
        assert con.execute("select count(*) from runs").fetchone() == (0,)


def test_open_warehouse__is_read_only(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    with open_warehouse(path) as con, pytest.raises(Exception, match="read-only"):
        con.execute("create table t (x int)")


def test_open_warehouse__missing_file__says_to_run_first(tmp_path):
    with pytest.raises(FileNotFoundError, match="prepaid nightly"):
        open_warehouse(tmp_path / "absent.duckdb")
