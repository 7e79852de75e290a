"""How frames go into the warehouse inside a run's one transaction."""

import gc
import weakref

import duckdb
import pandas as pd
import pytest

from transforms.warehouse import append_frame, beside_workers, size_bytes, store_frame, writing_memory


def test_store_frame__inside_a_transaction__frame_freed_and_rows_typed():
    con = duckdb.connect()
    con.execute("begin")
    frame = pd.DataFrame({"id": ["a", None], "n": pd.array([1, None], dtype="Int64"), "extra": [1, 2]})
    alive = weakref.ref(frame)
    store_frame(con, "t", frame, {"id": "varchar", "n": "bigint"})
    append_frame(con, "t", pd.DataFrame({"id": ["c"], "n": [3]}), {"id": "varchar", "n": "bigint"})
    del frame
    gc.collect()
    assert alive() is None   # con.register would keep it until the commit
    assert con.execute("select * from t").fetchall() == [("a", 1), (None, None), ("c", 3)]
    assert con.execute("select data_type from duckdb_columns() where table_name = 't'").fetchall() == \
        [("VARCHAR",), ("BIGINT",)]
    assert con.execute("select temporary from duckdb_tables() where table_name = 't'").fetchall() == [(True,)]


def test_size_bytes__duckdb_memory_sizes():
    assert [size_bytes(s) for s in ("1GB", "640 MB", "1.5GiB", "512kb", "2TB", "lots")] == [
        1_000_000_000, 640_000_000, 1_610_612_736, 512_000, 2_000_000_000_000, None]


@pytest.mark.parametrize("run,writing,expected", [
    (None, None, "640MB"),            # defaults: 1 GB for the run, 640 MB beside the workers
    ("256MB", None, "256MB"),         # never more than the run's own limit
    ("4GB", "2GB", "2GB"),
    ("1GB", "plenty", "1GB"),         # not a size: the run's limit stays
])
def test_writing_memory__the_lower_of_the_two_limits(monkeypatch, run, writing, expected):
    for name, value in (("PREPAID_DUCKDB_MEMORY", run), ("PREPAID_DUCKDB_WRITING_MEMORY", writing)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert writing_memory() == expected


def test_beside_workers__limit_lowered_inside_and_restored_after_an_error(monkeypatch):
    monkeypatch.delenv("PREPAID_DUCKDB_MEMORY", raising=False)
    monkeypatch.delenv("PREPAID_DUCKDB_WRITING_MEMORY", raising=False)
    con = duckdb.connect(config={"memory_limit": "1GB"})
    limit = lambda: con.execute("select current_setting('memory_limit')").fetchone()[0]
    with pytest.raises(RuntimeError):
        with beside_workers(con):
            assert limit() == "610.3 MiB"
            raise RuntimeError("a worker failed")
    assert limit() == "953.6 MiB"


def test_beside_workers__error_that_aborts_the_transaction__is_the_error_raised():
    con = duckdb.connect()
    con.execute("create table t (k integer primary key)")
    con.execute("begin")
    with pytest.raises(duckdb.ConstraintException, match="duplicate key"):
        with beside_workers(con):
            con.execute("insert into t values (1), (1)")
