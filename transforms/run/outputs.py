"""Writing a run's output folder atomically (SPEC §7, §8).

Files are written into a sibling temporary folder `.OUT.run-<id>`, fsynced, and swapped into
place only after the warehouse transaction committed. A folder left behind by a run that was
killed after its commit is published by the next run; one whose run never committed is
deleted.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb

from transforms.warehouse import sql

CSV_OUTPUTS = ("balances", "entries", "ledger", "breaches", "quarantine", "supersessions")
COMPLETE_MARKER = ".complete"


def staging_dir(out: Path, run_id: int) -> Path:
    return out.parent / f".{out.name}.run-{run_id}"


def write_csv(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy ({query}) to '{_sql_path(path)}' (header, delimiter ',', quote '\"', null '')")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def write_machine_outputs(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    con.execute(sql("outputs/entry_rows.sql"))
    for name in CSV_OUTPUTS:
        write_csv(con, sql(f"outputs/{name}.sql"), target / f"{name}.csv")
    con.execute("drop table entry_rows")


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def seal(target: Path, run_id: int) -> None:
    """Make every written file durable, then write the completion marker last.

    One `os.sync()` flushes all files at once (Linux waits for it to complete); an fsync per
    file was most of the cost of a run with thousands of invoices and reports.
    """
    os.sync()
    marker = target / COMPLETE_MARKER
    with open(marker, "w", encoding="utf-8") as fh:
        fh.write(str(run_id))
        fh.flush()
        os.fsync(fh.fileno())


def publish(staged: Path, out: Path) -> None:
    """Swap the staged folder into place: OUT is either the old or the new folder."""
    (staged / COMPLETE_MARKER).unlink(missing_ok=True)
    old = out.parent / f".{out.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.replace(out, old)
    os.replace(staged, out)
    if old.exists():
        shutil.rmtree(old)


def recover(out: Path, committed_run_ids: set[int]) -> list[str]:
    """Finish or discard staged folders left by killed runs; returns what was done."""
    done = []
    old = out.parent / f".{out.name}.old"
    if old.exists() and not out.exists():
        os.replace(old, out)
        done.append(f"restored {out}")
    for staged in sorted(out.parent.glob(f".{out.name}.run-*")):
        run_id = int(staged.name.rsplit("-", 1)[1])
        if run_id in committed_run_ids and (staged / COMPLETE_MARKER).exists():
            publish(staged, out)
            done.append(f"published outputs of committed run {run_id}")
        else:
            shutil.rmtree(staged)
            done.append(f"discarded outputs of unfinished run {run_id}")
    return done
