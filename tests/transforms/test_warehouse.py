"""How frames go into the warehouse inside a run's one transaction."""

import gc
import weakref

import duckdb
import pandas as pd

from transforms.warehouse import append_frame, store_frame


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
