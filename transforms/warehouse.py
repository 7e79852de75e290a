"""The DuckDB warehouse: opening it (exclusively for runs, read-only for analysis) and its schema."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager, suppress
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

SQL_DIR = Path(__file__).parent / "sql"
DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")
RAW_KINDS = ("customers", "purchases", "rates", "timelogs", "authorizations")
#: kinds whose every file version is history (an entry or block once accepted stays)
HISTORY_KINDS = ("purchases", "timelogs")


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse (a run is in progress)."""


def sql(name: str) -> str:
    """Text of a SQL file under transforms/sql (e.g. 'marts/balances.sql')."""
    return (SQL_DIR / name).read_text(encoding="utf-8")


#: DuckDB's share of a run's memory: above it DuckDB spills to disk (its default is 80% of RAM,
#: which it takes when it can, beside the Python side of the run). PREPAID_DUCKDB_MEMORY overrides.
DUCKDB_MEMORY = "1GB"


def store_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, types: dict[str, str],
                temp: bool = True) -> None:
    """`create_table`, filled from the same-named columns of `frame`."""
    create_table(con, table, types, temp)
    append_frame(con, table, frame, types)


def create_table(con: duckdb.DuckDBPyConnection, table: str, types: dict[str, str], temp: bool = True) -> None:
    """`create or replace [temp] table` with the columns of `types` (name: SQL type), empty."""
    columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
    con.execute(f"create or replace {'temp ' if temp else ''}table {table} ({columns})")


def append_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
    """Append the columns `types` of `frame` to `table` (whose columns they are, in order).

    Not `con.register`: inside a transaction the connection keeps a registered frame alive
    until the transaction ends, and a run is one transaction, so every frame registered in a
    run would stay in memory to its commit. DuckDB reads pandas' missing values as NULL."""
    casts = ", ".join(f'"{c}"::{t}' for c, t in types.items())
    con.from_df(frame).query("_frame", f"select {casts} from _frame").insert_into(table)


#: DuckDB's share while worker processes render a run's files beside it (the documents' PDFs, the
#: prepaid logs): the queries there read one batch at a time, and the rendered logs the run stores
#: can spill, so the workers get the memory. PREPAID_DUCKDB_WRITING_MEMORY overrides; never more
#: than the run's limit. Figures in docs/decisions.md ("What a night keeps").
WRITING_MEMORY = "640MB"
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*", re.IGNORECASE)


def memory_limit() -> str:
    return os.environ.get("PREPAID_DUCKDB_MEMORY", DUCKDB_MEMORY)


def writing_memory() -> str:
    """DuckDB's limit while workers render files: WRITING_MEMORY, or the run's limit if lower."""
    run, writing = memory_limit(), os.environ.get("PREPAID_DUCKDB_WRITING_MEMORY", WRITING_MEMORY)
    run_bytes, writing_bytes = size_bytes(run), size_bytes(writing)
    return writing if run_bytes is not None and writing_bytes is not None and writing_bytes < run_bytes else run


def size_bytes(size: str) -> int | None:
    """Bytes of a memory size as DuckDB reads it ("1GB", "640 MB", "1.5GiB"); None if it is not one."""
    match = _SIZE.fullmatch(size)
    if match is None:
        return None
    number, unit, binary = match.groups()
    return int(Decimal(number) * (1024 if binary else 1000) ** " kmgt".index(unit.lower() or " "))


@contextmanager
def beside_workers(con: duckdb.DuckDBPyConnection):
    """DuckDB limited to `writing_memory()` inside, back to the run's limit after."""
    con.execute(f"set memory_limit = '{writing_memory()}'")
    try:
        yield
    except BaseException:
        # after an error that aborted the run's transaction DuckDB refuses even `set`, and its
        # error would take the place of the one that aborted it (the run rolls back anyway)
        with suppress(duckdb.Error):
            con.execute(f"set memory_limit = '{memory_limit()}'")
        raise
    con.execute(f"set memory_limit = '{memory_limit()}'")


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. A run opens it read-write, which locks out every other process.

    Raises WarehouseBusy at once (no waiting) when another process has it open for writing.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"warehouse {path} does not exist: run `prepaid nightly` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": memory_limit()})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(
                f"warehouse {path} is in use by another process (a running job, or an open "
                f"notebook connection); try again when it has finished"
            ) from exc
        raise
    if not read_only:
        con.execute(sql("schema.sql"))
    return con


def open_warehouse(path: Path | str = DEFAULT_WAREHOUSE) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only, for analysis (notebooks, transforms.reports.analysis).

    Several readers may share it, but not with a run: while a run holds the warehouse this
    raises WarehouseBusy at once (never waits). Conversely, while a reader holds it open a run
    cannot start, so close the connection when done (`with open_warehouse() as con: ...`).
    """
    return connect(path, read_only=True)


def current_raw(con: duckdb.DuckDBPyConnection, kind: str) -> pd.DataFrame:
    """Raw rows of the current input of `kind`, as strings with file_id, source_file, line.

    Customers, rates, authorizations: the latest version of each file. Time logs and purchases:
    every version of every file ever ingested, in history order (later versions supersede
    entries and blocks of earlier ones in validation).
    """
    if kind in HISTORY_KINDS:
        where = f"where r.file_id in (select file_id from files where kind = '{kind}' and not rejected)"
    else:
        where = f"where r.file_id in ({_latest_files_sql(kind, True)})"
    return raw_frame(con, f"select r.* from raw_{kind} r {where} order by r.file_id, r.line")


def raw_frame(con: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    """The raw rows `query` selects (cells as Python strings, None for blank)."""
    arrays = con.execute(query).fetchnumpy()
    # numpy arrays, not .df(): pandas' str dtype would cost seconds per million rows, and the
    # validators want plain Python strings with None for blank
    columns = {}
    for name, values in arrays.items():
        if name in ("file_id", "line"):
            columns[name] = np.asarray(values, dtype="int64")
        else:
            cells = np.where(np.ma.getmaskarray(values), None, np.ma.getdata(values))
            columns[name] = pd.Series(cells, dtype=object)
    return pd.DataFrame(columns)


def current_raw_issues(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Reading problems of the current file versions (as quarantine rows)."""
    latest = " union all ".join(
        f"({_latest_files_sql(k, accepted)})"
        for k in RAW_KINDS if k != "timelogs" for accepted in (True, False)
    )
    return con.execute(f"""
        select source_file, line, coalesce("column", '') as "column", coalesce(value, '') as value,
               reason_code, coalesce(detail, '') as detail, coalesce(lines, 1) as lines
        from raw_issues
        where file_id in (select file_id from files where kind = 'timelogs' union all {latest})
        order by file_id, line
    """).df()


def _latest_files_sql(kind: str, accepted_only: bool) -> str:
    """Latest version of each file of a reference kind; a version rejected whole does not
    replace the last accepted one (its rejection is still reported)."""
    accepted = "and not rejected" if accepted_only else ""
    return f"select max(file_id) from files where kind = '{kind}' {accepted} group by source_file"
