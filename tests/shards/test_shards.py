"""Issue 9: the sharded computation equals the single-process one, shard count and executor
notwithstanding, and a worker killed mid-shard does not change the result."""

import os
import signal
from datetime import date
from pathlib import Path

import pytest

from transforms.ingest.ingest import ingest
import transforms.reconcile.reconcile as reconcile_module
from transforms.reconcile.reconcile import RESULT_TABLES, reconcile, stage
from transforms.reconcile.shards import compute_shard, reconcile_sharded, shard_of
from transforms.run.generate import generate_inbox
from transforms.validate.validate import validate
from transforms.warehouse import RAW_KINDS, connect, current_raw

COMPARED = [t for t in RESULT_TABLES if t != "alloc_parts"]  # alloc_parts.seq is a global index


def _results(con) -> dict:
    """Every result table, sorted, with each value's type (8 and 8.0 must not compare equal)."""
    typed = lambda rows: [tuple((type(v).__name__, v) for v in row) for row in rows]
    out = {t: typed(con.execute(f"select * from {t} order by all").fetchall()) for t in COMPARED}
    out["alloc_parts"] = typed(con.execute(
        "select entry_id, block_id, minutes, cents, incidents from alloc_parts order by all").fetchall())
    out["types"] = con.execute("select table_name, column_name, data_type from duckdb_columns() "
                               "where table_name like 'mart_%' or table_name like 'int_%' order by all").fetchall()
    return out


def _computed(inbox: Path, warehouse: Path, as_of: date, shards: int | None, folder: Path, run_shards=None):
    con = connect(warehouse)
    try:
        ingest(con, inbox, run_id=1)
        inputs = validate({k: current_raw(con, k) for k in RAW_KINDS}, "UTC")
        if shards is None:
            reconcile(con, inputs, as_of, "UTC")
        elif run_shards is None:
            stage(con, inputs, "UTC")
            reconcile_sharded(con, as_of, "UTC", shards, folder)
        else:
            stage(con, inputs, "UTC")
            reconcile_sharded(con, as_of, "UTC", shards, folder, run_shards)
        return _results(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def random_inbox(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("random") / "inbox"
    generate_inbox(inbox, customers=40, entries=3000, seed=11)
    return inbox


@pytest.mark.parametrize("inbox_name", ["demo", "random"])
@pytest.mark.parametrize("shards", [1, 2, 3, 7])
def test_sharded__equals_single_process(tmp_path, random_inbox, inbox_name, shards):
    inbox, as_of = (Path("data/demo"), date(2026, 3, 31)) if inbox_name == "demo" else (random_inbox, date(2025, 12, 31))
    single = _computed(inbox, tmp_path / "a.duckdb", as_of, None, tmp_path / "s")
    sharded = _computed(inbox, tmp_path / "b.duckdb", as_of, shards, tmp_path / "s")
    assert single["mart_entries"] and sharded == single


def test_shard_of__stable_hash_of_customer_id(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    assert [shard_of(con, c, 4) for c in ("C-1001", "C-1002", "C-1003", "C-1004")] == \
           [shard_of(con, c, 4) for c in ("C-1001", "C-1002", "C-1003", "C-1004")]
    assert {shard_of(con, f"C-{i}", 3) for i in range(50)} == {0, 1, 2}


def kill_worker_once(shard_dir: Path) -> Path:
    """Shard function for the fault test: the first attempt on shard 0 kills its worker process."""
    marker = Path(shard_dir).parent / "killed-once"
    if Path(shard_dir).name == "shard-000" and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return compute_shard(shard_dir)


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 worker processes (with nannies, which restart a killed worker)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def demo_single(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("single")
    return _computed(Path("data/demo"), tmp / "a.duckdb", date(2026, 3, 31), None, tmp / "s")


@pytest.fixture(scope="module")
def random_single(tmp_path_factory, random_inbox):
    tmp = tmp_path_factory.mktemp("random-single")
    return _computed(random_inbox, tmp / "a.duckdb", date(2025, 12, 31), None, tmp / "s")


@pytest.mark.parametrize("shards", [2, 3])
def test_dask_local_cluster__equals_single_process(prefect_server, cluster, demo_single, tmp_path, shards):
    from flows.sharded import dask_executor
    sharded = _computed(Path("data/demo"), tmp_path / "b.duckdb", date(2026, 3, 31), shards, tmp_path / "s",
                        dask_executor(address=cluster))
    assert sharded == demo_single


@pytest.mark.parametrize("shards", [2, 3])
def test_dask_local_cluster__random_inbox__equals_single_process(prefect_server, cluster, random_inbox,
                                                                 random_single, tmp_path, shards):
    from flows.sharded import dask_executor
    sharded = _computed(random_inbox, tmp_path / "b.duckdb", date(2025, 12, 31), shards, tmp_path / "s",
                        dask_executor(address=cluster))
    assert sharded == random_single


def test_dask__killed_worker_process__shard_retried__same_result(prefect_server, cluster, demo_single, tmp_path):
    from flows.sharded import dask_executor
    sharded = _computed(Path("data/demo"), tmp_path / "b.duckdb", date(2026, 3, 31), 2, tmp_path / "s",
                        dask_executor(address=cluster, shard_fn=kill_worker_once))
    single = demo_single
    assert (tmp_path / "s" / "killed-once").exists()
    assert sharded == single


def test_nightly_flow__shards_on_local_cluster__outputs_byte_identical(prefect_server, cluster, tmp_path):
    from flows.nightly import nightly_flow
    from transforms.run.nightly import run_nightly
    run_nightly(Path("data/demo"), tmp_path / "a.duckdb", tmp_path / "single", date(2026, 3, 31), reports_enabled=False)
    nightly_flow(as_of=date(2026, 3, 31), inbox=Path("data/demo"), warehouse=tmp_path / "b.duckdb",
                 out=str(tmp_path / "sharded"), reports=False, shards=3, dask_address=cluster)
    for name in ("balances", "entries", "ledger", "breaches", "quarantine", "invoices", "invoice_lines"):
        assert (tmp_path / "sharded" / f"{name}.csv").read_bytes() == (tmp_path / "single" / f"{name}.csv").read_bytes()
    assert not any((tmp_path / "b.duckdb.shards").iterdir())   # shard files removed after the commit


@pytest.mark.parametrize("batch", [1, 7])
def test_fold_batches__equal_one_batch(tmp_path, random_inbox, monkeypatch, batch):
    """The fold runs a batch of customers at a time; the batch size changes no result."""
    as_of = date(2025, 12, 31)
    whole = _computed(random_inbox, tmp_path / "a.duckdb", as_of, None, tmp_path / "s")
    monkeypatch.setattr(reconcile_module, "FOLD_BATCH_CUSTOMERS", batch)
    batched = _computed(random_inbox, tmp_path / "b.duckdb", as_of, None, tmp_path / "s")
    assert len(whole["mart_entries"]) == 3000 and batched == whole
