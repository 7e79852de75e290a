"""The staging models (transforms/sql/staging/): validated inputs as the computation reads them."""

from decimal import Decimal

import duckdb
import pandas as pd

from tests.conftest import write_inbox
from transforms.ingest.ingest import ingest
from transforms.reconcile.reconcile import stage
from transforms.validate import parse
from transforms.validate.validate import validate
from transforms.warehouse import RAW_KINDS, connect, current_raw, sql

# (day, zone, epoch of its local midnight): DST changes beside and at midnight
MIDNIGHTS = [
    ("2026-01-01", "UTC", 1767225600),
    ("2026-03-29", "Europe/Berlin", 1774738800),       # clocks go forward at 02:00: still CET
    ("2026-11-01", "America/New_York", 1793505600),    # clocks go back at 02:00: still EDT
    ("2022-09-11", "America/Santiago", 1662868800),    # 00:00 skipped: the offset before, -04
    ("2022-03-27", "Asia/Beirut", 1648332000),         # 00:00 skipped: the offset before, +02
    ("2012-11-04", "America/Havana", 1352001600),      # 00:00 comes twice: the first, CDT
]


def test_day_start_epoch__sql_macro_equals_parse__gap_and_overlap_take_the_offset_before():
    con = duckdb.connect()
    con.execute(sql("macros.sql"))
    in_sql = [con.execute("select day_start_epoch(?::date, ?)", [day, tz]).fetchone()[0] for day, tz, _ in MIDNIGHTS]
    in_python = [parse.day_start_epoch(pd.Timestamp(day), tz) for day, tz, _ in MIDNIGHTS]
    assert in_sql == in_python == [epoch for _, _, epoch in MIDNIGHTS]


def _staged(tmp_path, tz: str, **files) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "wh.duckdb")
    ingest(con, write_inbox(tmp_path / "inbox", **files), run_id=1)
    stage(con, validate({kind: current_raw(con, kind) for kind in RAW_KINDS}, tz), tz)
    return con


def test_stage__blocks__epochs_of_local_midnights_across_a_skipped_midnight(tmp_path):
    con = _staged(tmp_path, "America/Santiago", purchases=(
        "block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on\n"
        "b1,c1,hours,10,100,2022-09-10,2022-09-10\n"
        "b2,c1,hours,10,100,2022-09-11,\n"))
    assert con.execute("select block_id, purchase_epoch, expiry_epoch from stg_blocks").fetchall() == [
        ("b1", 1662782400, 1662868800), ("b2", 1662868800, None)]


def test_stage__decimals_stay_exact_and_valid_tables_are_dropped(tmp_path):
    con = _staged(tmp_path, "UTC",
                  customers="customer_id,name,currency,tax_rate_percent\nc1,One,EUR,7.654321",
                  purchases=("block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on,reorder_point\n"
                             "b1,c1,hours,10,100,2026-01-01,2026-12-31,0.000000000001\n"
                             "b2,c1,incidents,10,100,2026-01-01,2026-12-31,123456789012345.123456789012\n"))
    assert con.execute("select tax_rate_percent from stg_customers").fetchall() == [(Decimal("7.654321"),)]
    assert con.execute("select reorder_point_units from stg_blocks").fetchall() == [
        (Decimal("0.000000000060"),), (Decimal("123456789012345.123456789012"),)]
    assert con.execute("select table_name from duckdb_tables() where table_name like 'valid_%'").fetchall() == []
