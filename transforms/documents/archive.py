"""The files of issued documents (HTML, PDF, UBL XML), the document archive, and reprints.

Every document's files are rendered from what the warehouse keeps about it (its figures,
lines, and the seller and buyer details as they were at issue), so rendering is a pure
function of the warehouse: `prepaid document NUMBER` writes the same bytes at any later time.

The archive (default `<warehouse folder>/<warehouse name>-documents/`) keeps every issued
document's files once, in a folder per series and issue date: `INV-2026/2026-12-06/`. It is
append-only. The workers that render a run's documents write each file twice: into the run's
staging folder (its OUT) and into `.incoming/<run_id>/<series>/` of the archive. After the
run's warehouse transaction committed, each of those series folders is renamed to its day
folder, one rename for all of a run's documents; when the day folder exists already (a
second run that day), each file is linked into it instead, which fails rather than
overwrite. A marker `.runs/<run_id>` says a run's documents are all archived. A run killed
before its commit leaves an incoming folder that the next run removes; a run killed between
its commit and its marker is finished by the next run (`recover`) from its copies, which were
synced to disk with the rest of its outputs before the commit, or, where they are missing,
from the warehouse, by rendering the files again.

Archives written before the day folders keep their files directly in the series folder;
`reprint` reads both.
"""

from __future__ import annotations

import errno
import os
import shutil
from datetime import date
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from transforms import progress, workers
from transforms.documents import docview, ubl
from transforms.documents.pdf import render_pdf
from transforms.warehouse import sql

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
RUNS_DIR = ".runs"
INCOMING_DIR = ".incoming"
PARALLEL_FROM = 40      # documents; below this, starting worker processes costs more than it
                        # saves (the figures: bench/notes.md, "Documents per second")
BATCH = 5000            # documents read from the warehouse at a time


def default_archive(warehouse: Path) -> Path:
    """`<warehouse folder>/<warehouse name>-documents` (data/warehouse-documents): named after
    its warehouse, so two warehouses in one folder never share an archive and its numbers."""
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(f"{warehouse.stem}-documents")


def series_of(number: str) -> str:
    """'INV-2026-000001' -> 'INV-2026' (the archive folder of a document)."""
    return number.rsplit("-", 1)[0]


def day_folder(archive: Path, series: str, issued_on: date) -> Path:
    """Where the archive keeps the files of a series' documents issued on a day:
    `<archive>/INV-2026/2026-12-06`."""
    return archive / series / issued_on.isoformat()


def incoming(archive: Path, run_id: int) -> Path:
    """Where a run's workers write the archive's copies before the run commits."""
    return archive / INCOMING_DIR / str(run_id)


_ENV: Environment | None = None


def environment() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                           undefined=StrictUndefined, keep_trailing_newline=True)
    return _ENV


def render(doc: dict, lines: list[dict]) -> dict[str, bytes]:
    """The files of one document: NUMBER.html, NUMBER.pdf and NUMBER.xml (when its seller and
    buyer details make a valid e-invoice)."""
    view = docview.invoice_context(doc, lines)
    number = doc["number"]
    files = {f"{number}.html": environment().get_template("invoice.html.j2").render(doc=view).encode("utf-8")}
    files[f"{number}.pdf"] = render_pdf(view)
    if not ubl.missing_fields(doc):
        files[f"{number}.xml"] = ubl.to_xml(doc, lines, view)
    return files


def _render_job(job: tuple[dict, list[dict]]) -> dict[str, bytes]:
    return render(*job)


def _write_job(job: tuple[Path, Path | None, dict, list[dict]]) -> list[str]:
    """Render one document into `folder`, and into its series folder under `copies` (the
    archive's incoming folder) when given. In a worker: only names travel back, not the bytes."""
    folder, copies, doc, lines = job
    files = render(doc, lines)
    series = None if copies is None else copies / series_of(doc["number"])
    for name, data in files.items():
        (folder / name).write_bytes(data)
        if series is not None:
            (series / name).write_bytes(data)
    return list(files)


def records(con: duckdb.DuckDBPyConnection, query: str, params=None) -> list[dict]:
    cur = con.execute(query, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def load(con: duckdb.DuckDBPyConnection, where: str, params: list) -> list[tuple[dict, list[dict]]]:
    """(document, lines) of the documents `where` selects, in issue order."""
    docs = records(con, f"select * from ({sql('documents/issued.sql')}) d where {where} order by d.run_id, d.seq",
                   params)
    if not docs:
        return []
    lines = records(con, sql("documents/issued_lines.sql"), {"numbers": [d["number"] for d in docs]})
    by_number: dict[str, list[dict]] = {}
    for line in lines:
        by_number.setdefault(line["number"], []).append(line)
    return [(d, by_number.get(d["number"], [])) for d in docs]


def render_all(jobs: list[tuple[dict, list[dict]]]):
    """Rendered files of each job, in order; in worker processes when there are many."""
    with workers.Pool(len(jobs), PARALLEL_FROM) as pool:
        return list(pool.map(_render_job, jobs))


def write_run_documents(con: duckdb.DuckDBPyConnection, folder: Path, run_id: int,
                        copies: Path | None = None) -> list[str]:
    """Files of the documents of `run_id` into `folder` (a run's OUT/invoices), and a copy of
    each into `copies/<series>/` (the archive's incoming folder, `incoming`) when given;
    returns their names.

    Documents go in batches of BATCH, all rendered by one pool of workers (from PARALLEL_FROM
    documents on), each writing its documents' files itself. A batch is read from the warehouse
    and queued while the workers render the one before, so they never wait for the reading.
    The running phase counts the documents written (N/M on a live display)."""
    count = con.execute("select count(*) from documents where run_id = ?", [run_id]).fetchone()[0]
    if not count:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    progress.update(total=count, description="documents")
    written: list[str] = []

    def finish(rendering) -> None:
        for names in rendering:
            written.extend(names)
            progress.advance()

    with workers.Pool(count, PARALLEL_FROM) as pool:
        queued = []
        for offset in range(0, count, BATCH):
            jobs = load(con, "d.run_id = ? and d.seq >= ? and d.seq < ?", [run_id, offset, offset + BATCH])
            if copies is not None:
                for series in {series_of(doc["number"]) for doc, _ in jobs}:
                    (copies / series).mkdir(parents=True, exist_ok=True)
            queued.append(pool.map(_write_job, [(folder, copies, doc, lines) for doc, lines in jobs]))
            if len(queued) == 2:
                finish(queued.pop(0))
        for rendering in queued:
            finish(rendering)
    return written


# --- the archive --------------------------------------------------------------------------

def store(archive: Path, run_id: int, issued_on: date) -> int:
    """Put a committed run's documents into the archive: the copies its workers wrote into
    `incoming(archive, run_id)` take their place in the day folders of `issued_on`; then mark
    the run archived. Returns how many files were added. Safe to repeat: a series already
    moved is no longer incoming."""
    source = incoming(archive, run_id)
    added = 0
    if not (archive / RUNS_DIR / str(run_id)).exists():     # else stored by an earlier attempt
        if not source.exists():
            raise RuntimeError(f"run {run_id} issued documents but its copies are not in {source}")
        os.sync()   # the copies are durable before they take their final names
        for series in sorted(source.iterdir()):
            added += _place(series, day_folder(archive, series.name, issued_on))
        os.sync()   # and so are their names, before the marker says so
        _mark(archive, run_id)
    discard_incoming(archive, run_id)
    return added


def discard_incoming(archive: Path, run_id: int) -> None:
    """Remove what is left of a run's copies (after `store`, or when the run failed)."""
    source = incoming(archive, run_id)
    shutil.rmtree(source, ignore_errors=True)
    try:
        source.parent.rmdir()
    except OSError:
        pass    # absent, or another run's copies are there, which the next run's recovery removes


def _place(series: Path, day: Path) -> int:
    """Move the files of `series` (one incoming series folder) into the archive's `day` folder."""
    names = sorted(os.listdir(series))
    if not day.exists():
        day.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(series, day)      # all of them at once
            return len(names)
        except OSError as exc:          # another writer made the day folder first
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    added = 0
    for name in names:                  # a second run this day: one file at a time
        added += _link(series / name, day / name)
    return added


def _link(source: Path, final: Path) -> int:
    """Give `source` the name `final` unless the archive has it already (never overwrites)."""
    try:
        os.link(source, final)      # atomic, and fails if another writer got there first
    except FileExistsError:
        _same(final, source.read_bytes())
        return 0
    return 1


def _add(folder: Path, name: str, data: bytes) -> int:
    """Write one file into the archive's `folder` unless it is there already (never overwrites)."""
    final = folder / name
    if final.exists():
        _same(final, data)
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    tmp.write_bytes(data)
    try:
        return _link(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


class ArchiveConflict(RuntimeError):
    """The archive holds another document under this number (two warehouses share it)."""


def _same(final: Path, data: bytes) -> None:
    if final.read_bytes() != data:
        raise ArchiveConflict(f"{final} exists with other content: the archive holds another document "
                              f"under this number (is it shared by two warehouses? see --archive)")


def _mark(archive: Path, run_id: int) -> None:
    runs = archive / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    with open(runs / str(run_id), "w", encoding="utf-8") as fh:
        fh.write("archived\n")
        fh.flush()
        os.fsync(fh.fileno())


def recover(con: duckdb.DuckDBPyConnection, archive: Path) -> list[str]:
    """Archive the documents of committed runs that were killed before they archived them,
    then remove what killed runs left in the incoming folder."""
    notes = []
    for run_id in _unarchived_runs(con, archive):
        if incoming(archive, run_id).exists():
            # its copies: complete, since sealing the run's outputs synced them before its commit
            (issued_on,) = con.execute("select min(issued_on) from documents where run_id = ?", [run_id]).fetchone()
            added = store(archive, run_id, issued_on)
        else:       # an archive that did not have them (made by an earlier version, or moved)
            added = 0
            for doc, lines in load(con, "d.run_id = ?", [run_id]):
                folder = day_folder(archive, series_of(doc["number"]), doc["issued_on"])
                for name, data in render(doc, lines).items():
                    added += _add(folder, name, data)
            os.sync()
            _mark(archive, run_id)
        notes.append(f"archived {added} document file(s) of committed run {run_id}")
    shutil.rmtree(archive / INCOMING_DIR, ignore_errors=True)
    return notes


def _unarchived_runs(con: duckdb.DuckDBPyConnection, archive: Path) -> list[int]:
    """Committed runs that issued documents and have no archive marker, in run order."""
    if not con.execute("select 1 from information_schema.tables where table_name = 'documents'").fetchone():
        return []
    done = archive / RUNS_DIR
    return [r for (r,) in con.execute("""
        select distinct d.run_id from documents d join runs r using (run_id)
        where r.outcome = 'committed' order by 1""").fetchall()
            if not (done / str(r)).exists()]


def reprint(con: duckdb.DuckDBPyConnection, number: str, out: Path, archive: Path | None = None) -> list[Path]:
    """Write the files of document `number` into `out` again: the archived files where the
    archive has them, else rendered from the warehouse (the same bytes). KeyError if unknown."""
    jobs = load(con, "d.number = ?", [number])
    if not jobs:
        raise KeyError(number)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    doc = jobs[0][0]
    # the day folder, or the series folder of archives written before there were day folders
    series = series_of(number)
    folders = [] if archive is None else [day_folder(archive, series, doc["issued_on"]), archive / series]
    for name, data in render(*jobs[0]).items():
        kept = next((f / name for f in folders if (f / name).exists()), None)
        if kept is not None:
            data = kept.read_bytes()
        (out / name).write_bytes(data)
        written.append(out / name)
    return written
