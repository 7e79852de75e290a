"""Splitting the per-customer computation into shards (issue 9).

Customers are independent in the computation, so the staged inputs are split by a stable
hash of `customer_id` into N shard folders of Parquet files; each shard is computed on its
own (in any process, on any machine that sees the folder) by `compute_shard`, and the results
are read back into the run's connection, where audits, documents and outputs proceed exactly
as in a single-process run. Global rates (no customer) go to every shard.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb

from transforms.reconcile.reconcile import RESULT_TABLES, AsOf, compute, run_audits

STAGING_TABLES = ("stg_customers", "stg_blocks", "stg_rates", "stg_entries")
RESULTS = "results"
AS_OF_FILE = "as_of.json"   # the date and time zone a shard is computed as of


def shard_sql(n: int) -> str:
    """SQL expression of a row's shard: md5 of customer_id, stable across runs and versions."""
    return f"(md5_number(customer_id) % {int(n)})"


def shard_of(con: duckdb.DuckDBPyConnection, customer_id: str, n: int) -> int:
    return con.execute(f"select {shard_sql(n)} from (select ?::varchar as customer_id)", [customer_id]).fetchone()[0]


def _path(path: Path) -> str:
    return str(path).replace("'", "''")


def export_shards(con: duckdb.DuckDBPyConnection, n: int, folder: Path, as_of: AsOf) -> list[Path]:
    """Write each shard's staging tables as Parquet, and the date it is computed as of;
    returns the shard folders in order."""
    if n < 1:
        raise ValueError("shards must be at least 1")
    if folder.exists():
        shutil.rmtree(folder)
    con.execute(f"create or replace temp table _shard_of as "
                f"select customer_id, {shard_sql(n)} as shard from stg_customers")
    dirs = []
    for k in range(n):
        mine = f"customer_id in (select customer_id from _shard_of where shard = {k})"
        shard_dir = folder / f"shard-{k:03d}"
        shard_dir.mkdir(parents=True)
        (shard_dir / AS_OF_FILE).write_text(json.dumps({"as_of": as_of.day.isoformat(), "tz": as_of.tz}))
        for table in STAGING_TABLES:
            if table == "stg_rates":
                where = f"where customer_id is null or {mine}"
            else:
                where = f"where {mine}"
            con.execute(f"copy (select * from {table} {where}) to '{_path(shard_dir / table)}.parquet' (format parquet)")
        dirs.append(shard_dir)
    return dirs


def compute_shard(shard_dir: Path) -> Path:
    """Compute one shard in a private in-memory DuckDB; results go to shard_dir/results."""
    shard_dir = Path(shard_dir)
    out = shard_dir / RESULTS
    if out.exists():
        shutil.rmtree(out)   # a retried shard starts clean
    tmp = shard_dir / f".{RESULTS}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    con = duckdb.connect()
    try:
        for table in STAGING_TABLES:
            con.execute(f"create temp table {table} as select * from read_parquet('{_path(shard_dir / table)}.parquet')")
        given = json.loads((shard_dir / AS_OF_FILE).read_text())
        compute(con, AsOf(date.fromisoformat(given["as_of"]), given["tz"]))
        floats = con.execute(
            "select table_name, column_name, data_type from duckdb_columns() "
            "where table_name in (select unnest(?::varchar[])) and data_type in ('FLOAT', 'DOUBLE', 'HUGEINT')",
            [list(RESULT_TABLES)]).fetchall()
        if floats:  # Parquet would store HUGEINT as DOUBLE: no binary floats for money or time
            raise TypeError(f"result columns that would not survive Parquet exactly: {floats}")
        for table in RESULT_TABLES:
            con.execute(f"copy {table} to '{_path(tmp / table)}.parquet' (format parquet)")
    finally:
        con.close()
    tmp.rename(out)          # a shard's results appear whole or not at all
    return out


def import_results(con: duckdb.DuckDBPyConnection, result_dirs: list[Path]) -> None:
    """Union every shard's result tables into the run's connection as temp tables."""
    for table in RESULT_TABLES:
        files = ", ".join(f"'{_path(Path(d) / table)}.parquet'" for d in result_dirs)
        con.execute(f"create or replace temp table {table} as select * from read_parquet([{files}])")


def run_serially(shard_dirs: list[Path]) -> list[Path]:
    """The plain shard executor: compute each shard here, one after the other."""
    return [compute_shard(d) for d in shard_dirs]


def reconcile_sharded(con: duckdb.DuckDBPyConnection, as_of, tz: str, n: int, folder: Path,
                      run_shards=run_serially) -> None:
    """Like `reconcile.reconcile_staged`, with the per-customer computation split into `n` shards.

    `run_shards(shard_dirs) -> result_dirs` computes the shards (serially here, on a Dask
    cluster from flows/sharded.py); audits run on the union, in this connection.
    """
    dirs = export_shards(con, n, Path(folder), AsOf(as_of, tz))
    results = run_shards(dirs)
    if [Path(r).parent for r in results] != dirs:
        raise RuntimeError("shard executor returned results for other shards than it was given")
    import_results(con, results)
    run_audits(con)
