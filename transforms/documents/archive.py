"""The files of issued documents (HTML, PDF, UBL XML), the document archive, and reprints.

Every document's files are rendered from what the warehouse keeps about it (its figures,
lines, and the seller and buyer details as they were at issue), so rendering is a pure
function of the warehouse: `prepaid document NUMBER` writes the same bytes at any later time.

The archive (default `<warehouse folder>/<warehouse name>-documents/`, one folder per series such as
`INV-2026/`) is append-only: a file is written once, to a temporary name that is then
linked to its final name (which fails rather than overwrite), after the run's warehouse
transaction committed. A marker `.runs/<run_id>` says a run's documents are all archived;
a run killed between its commit and that marker is finished by the next run (`recover`),
which renders the missing files from the warehouse.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from transforms import progress, workers
from transforms.documents import docview, ubl
from transforms.documents.pdf import render_pdf
from transforms.warehouse import sql

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
RUNS_DIR = ".runs"
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


def _write_job(job: tuple[Path, dict, list[dict]]) -> list[str]:
    """Render one document into `folder` (in a worker: only names travel back, not the bytes)."""
    folder, doc, lines = job
    files = render(doc, lines)
    for name, data in files.items():
        (folder / name).write_bytes(data)
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


def write_run_documents(con: duckdb.DuckDBPyConnection, folder: Path, run_id: int) -> list[str]:
    """Files of the documents of `run_id` into `folder` (a run's OUT/invoices); returns their names.

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
            queued.append(pool.map(_write_job, [(folder, doc, lines) for doc, lines in jobs]))
            if len(queued) == 2:
                finish(queued.pop(0))
        for rendering in queued:
            finish(rendering)
    return written


# --- the archive --------------------------------------------------------------------------

def store(source: Path, archive: Path, names: list[str], run_id: int) -> int:
    """Copy a committed run's document files from `source` into the archive, each once;
    then mark the run archived. Returns how many files were added."""
    added = 0
    for name in sorted(names):
        added += _add(archive, name, (source / name).read_bytes())
    os.sync()   # the files are durable before the marker says so
    _mark(archive, run_id)
    return added


def _add(archive: Path, name: str, data: bytes) -> int:
    """Write one file into the archive unless it is there already (never overwrites)."""
    folder = archive / series_of(name.rsplit(".", 1)[0])
    final = folder / name
    if final.exists():
        _same(final, data)
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    tmp.write_bytes(data)
    try:
        os.link(tmp, final)     # atomic, and fails if another writer got there first
    except FileExistsError:
        _same(final, data)
        return 0
    finally:
        tmp.unlink(missing_ok=True)
    return 1


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
    """Archive the documents of committed runs that were killed before they archived them."""
    if not con.execute("select 1 from information_schema.tables where table_name = 'documents'").fetchone():
        return []
    done = archive / RUNS_DIR
    pending = [r for (r,) in con.execute("""
        select distinct d.run_id from documents d join runs r using (run_id)
        where r.outcome = 'committed' order by 1""").fetchall()
               if not (done / str(r)).exists()]
    notes = []
    for run_id in pending:
        added = 0
        for doc, lines in load(con, "d.run_id = ?", [run_id]):
            for name, data in render(doc, lines).items():
                added += _add(archive, name, data)
        os.sync()
        _mark(archive, run_id)
        notes.append(f"archived {added} document file(s) of committed run {run_id}")
    return notes


def reprint(con: duckdb.DuckDBPyConnection, number: str, out: Path, archive: Path | None = None) -> list[Path]:
    """Write the files of document `number` into `out` again: the archived files where the
    archive has them, else rendered from the warehouse (the same bytes). KeyError if unknown."""
    jobs = load(con, "d.number = ?", [number])
    if not jobs:
        raise KeyError(number)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in render(*jobs[0]).items():
        kept = archive / series_of(number) / name if archive is not None else None
        if kept is not None and kept.exists():
            data = kept.read_bytes()
        (out / name).write_bytes(data)
        written.append(out / name)
    return written
