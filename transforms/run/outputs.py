"""Writing a run's output folder atomically (SPEC §7, §8).

Files are written into a sibling temporary folder `.OUT.run-<id>`, fsynced, and swapped into
place only after the warehouse transaction committed. A folder left behind by a run that was
killed after its commit is published by the next run; one whose run never committed is
deleted. Folders the run keeps unchanged from the current OUT (prepaid logs) are listed in
the staged folder's CARRY_FILE and moved over when it is published, not copied.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import duckdb

from transforms import progress
from transforms.warehouse import sql

log = progress.logger(__name__)

CSV_OUTPUTS = ("balances", "entries", "ledger", "breaches", "quarantine", "supersessions")
COMPLETE_MARKER = ".complete"
#: in a staged folder: the folders (paths relative to OUT, one a line) to move from the
#: current OUT into it when it is published
CARRY_FILE = ".carry"


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


def carry_later(staged: Path, folders: list[str]) -> None:
    """List `folders` (relative to OUT) to move from the current OUT into `staged` when it is
    published; they must not be in `staged`."""
    if folders:
        (staged / CARRY_FILE).write_text("".join(f"{folder}\n" for folder in folders), encoding="utf-8")


def _carry(staged: Path, out: Path) -> None:
    """Move the folders listed in the staged folder's CARRY_FILE from OUT into it. Safe to
    repeat after an interruption: a folder already moved is in `staged`, no longer in OUT.
    One that is in neither (removed by hand during the run) is left out with a warning; the
    next run writes it again, as it does any unchanged log it does not find in OUT."""
    listed = staged / CARRY_FILE
    if not listed.exists():
        return
    missing, parents = [], set()
    for folder in listed.read_text(encoding="utf-8").splitlines():
        if Path(folder).is_absolute() or not Path(folder).parts or ".." in Path(folder).parts:
            raise ValueError(f"{listed}: {folder!r} is not a folder inside OUT")
        target = staged / folder
        if target.parent not in parents:
            target.parent.mkdir(parents=True, exist_ok=True)
            parents.add(target.parent)
        try:
            os.rename(out / folder, target)
        except FileNotFoundError:
            if not target.exists():
                missing.append(folder)
    listed.unlink()
    if missing:
        log.warning("unchanged folders no longer in %s, left out of it (the next run writes them again): "
                    "%d, among them %s", out, len(missing), missing[0])


def publish(staged: Path, out: Path) -> None:
    """Swap the staged folder into place (`swap`) and remove the folder it replaced."""
    replaced = swap(staged, out)
    if replaced is not None:
        shutil.rmtree(replaced)


def swap(staged: Path, out: Path) -> Path | None:
    """Swap the staged folder into place: OUT is either the old or the new folder. First the
    folders the run keeps move over from the current OUT (`_carry`), so that a run killed
    meanwhile still has its completion marker, and the next run finishes the publishing.
    Returns the folder OUT was moved to, for the caller to remove (`publish`, `Removal`); a
    run killed before that is removed by the next run's swap."""
    _carry(staged, out)
    (staged / COMPLETE_MARKER).unlink(missing_ok=True)
    old = out.parent / f".{out.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.replace(out, old)
    os.replace(staged, out)
    return old if old.exists() else None


class Removal:
    """A folder removed in a thread of its own, while the run does its last work (closing the
    warehouse, which writes its checkpoint): unlinking files is the kernel's work, and the
    folder an OUT replaced holds a whole night's files. `finish` waits for it and raises what
    the removal raised, as a removal in place would have."""

    def __init__(self, folder: Path):
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._remove, args=(folder,), name="remove the replaced OUT")
        self.thread.start()

    def _remove(self, folder: Path) -> None:
        try:
            shutil.rmtree(folder)
        except BaseException as exc:    # raised again by finish, in the run's thread
            self.error = exc

    def finish(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


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
