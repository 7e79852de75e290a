"""The steps of a run, as plain functions over an open warehouse connection.

flows/ composes these into Prefect flows; tests and the `--no-prefect` CLI path call
`run_nightly` directly. One run is one warehouse transaction: everything lands or nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from transforms import documents, ingest as ingest_mod, outputs, reports, validate as validate_mod
from transforms.reconcile import reconcile
from transforms.warehouse import RAW_KINDS, connect, current_raw, current_raw_issues


@dataclass
class RunReport:
    run_id: int
    as_of: date
    out: Path
    ingest: ingest_mod.IngestSummary
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 3)


def begin_run(con: duckdb.DuckDBPyConnection, out: Path) -> tuple[int, list[str]]:
    """Recover outputs of killed runs, then allocate this run's id."""
    committed = {r[0] for r in con.execute("select run_id from runs").fetchall()}
    recovered = outputs.recover(out, committed)
    run_id = con.execute("select nextval('run_id_seq')").fetchone()[0]
    return run_id, recovered


def load_inputs(con: duckdb.DuckDBPyConnection, tz: str) -> validate_mod.Validated:
    """Validate every current raw row (quarantine is recomputed each run)."""
    raw = {kind: current_raw(con, kind) for kind in RAW_KINDS}
    return validate_mod.validate(raw, tz)


def store_quarantine(con: duckdb.DuckDBPyConnection, inputs: validate_mod.Validated) -> None:
    issues = current_raw_issues(con)
    frame = pd.concat([issues, inputs.quarantine.astype({"line": "int64"})], ignore_index=True)
    frame = frame.astype({"line": "int64"})
    for column in ("source_file", "column", "value", "reason_code", "detail"):
        frame[column] = frame[column].astype("object").where(frame[column].notna(), "")
    con.register("_quarantine", frame)
    con.execute("create or replace table quarantine as select source_file, line::bigint as line, "
                "\"column\", value, reason_code, detail from _quarantine")
    con.unregister("_quarantine")
    con.execute("create or replace temp view run_quarantine as select * from quarantine")
    con.register("_supersessions", inputs.supersessions)
    con.execute("create or replace table supersessions as select * from _supersessions")
    con.unregister("_supersessions")


def persist_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Keep this run's results in the warehouse for analysts (views over the last run)."""
    for mart in ("balances", "entries", "ledger", "pools"):
        con.execute(f"create or replace table last_{mart} as select * from mart_{mart}")
    con.execute(sql_views())


def sql_views() -> str:
    from transforms.warehouse import sql
    return sql("views.sql")


def inputs_digest(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("select source_file, sha256 from files order by file_id").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def summarize(con: duckdb.DuckDBPyConnection) -> dict:
    q = lambda text: con.execute(text).fetchall()
    by_status = dict(q("select status, count(*) from mart_balances group by status order by status"))
    entry_status = dict(q("select status, count(*) from mart_entries group by status order by status"))
    minutes = q("""select coalesce(sum(billable_minutes), 0), coalesce(sum(covered_minutes), 0),
                          coalesce(sum(overage_minutes), 0), count(*) filter (where unpriced)
                   from mart_entries where status = 'charged'""")[0]
    quarantine = dict(q("select reason_code, count(*) from quarantine group by 1 order by 1"))
    return {
        "customers": q("select count(*) from stg_customers")[0][0],
        "blocks": sum(by_status.values()),
        "blocks_by_status": by_status,
        "entries": sum(entry_status.values()),
        "entries_by_status": entry_status,
        "minutes_charged": int(minutes[0]),
        "minutes_covered": int(minutes[1]),
        "minutes_overage": int(minutes[2]),
        "entries_unpriced": int(minutes[3]),
        "pools_in_breach": q("select count(*) from mart_pools where in_breach")[0][0],
        "quarantined_rows": sum(quarantine.values()),
        "quarantine_by_reason": quarantine,
    }


def run_nightly(inbox: Path, warehouse: Path, out: Path, as_of: date, tz: str = "UTC",
                reports_enabled: bool = True) -> RunReport:
    """Ingest, validate, reconcile, issue documents and write OUT, all or nothing."""
    timer = Timer()
    con = connect(warehouse)
    try:
        run_id, recovered = begin_run(con, out)
        started = datetime.now(timezone.utc)
        con.execute("begin transaction")
        with timer.phase("ingest"):
            summary = ingest_mod.ingest(con, inbox, run_id)
        with timer.phase("validate"):
            inputs = load_inputs(con, tz)
            store_quarantine(con, inputs)
        with timer.phase("compute"):
            reconcile(con, inputs, as_of, tz)
        with timer.phase("documents"):
            issued = documents.issue_documents(con, as_of, tz)
        persist_marts(con)
        counts = summarize(con)
        counts["documents_issued"] = len(issued)
        report = RunReport(run_id, as_of, out, summary, counts, timer.seconds, recovered, issued)
        staged = outputs.staging_dir(out, run_id)
        if staged.exists():
            import shutil
            shutil.rmtree(staged)
        with timer.phase("write_outputs"):
            outputs.write_machine_outputs(con, staged)
            documents.write_documents(con, staged, run_id)
        with timer.phase("reports"):
            if reports_enabled:
                reports.write_reports(con, staged, as_of)
        report.warnings += [f"ignored inbox file {name}" for name in summary.ignored]
        _record_run(con, run_id, "nightly", as_of, tz, started, counts)
        outputs.write_json(staged / "run.json", {
            "run_id": run_id, "as_of": as_of.isoformat(), "tz": tz,
            "inputs_sha256": inputs_digest(con), "counts": counts,
            "files_ingested": summary.files_ingested, "timings_seconds": timer.seconds,
            "warnings": report.warnings, "documents": issued,
        })
        outputs.seal(staged, run_id)
        con.execute("commit")
        outputs.publish(staged, out)
        return report
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        raise
    finally:
        con.close()


def _record_run(con, run_id, command, as_of, tz, started, counts) -> None:
    import json
    con.execute(
        "insert into runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, command, as_of, tz, started, datetime.now(timezone.utc), inputs_digest(con),
         json.dumps(counts, sort_keys=True, default=str), "committed"],
    )


def run_ingest(inbox: Path, warehouse: Path, tz: str = "UTC") -> tuple[ingest_mod.IngestSummary, dict]:
    """Ingest the inbox and validate everything, without reconciling; all or nothing."""
    con = connect(warehouse)
    try:
        run_id = con.execute("select nextval('run_id_seq')").fetchone()[0]
        started = datetime.now(timezone.utc)
        con.execute("begin transaction")
        summary = ingest_mod.ingest(con, inbox, run_id)
        inputs = load_inputs(con, tz)
        store_quarantine(con, inputs)
        counts = {
            "customers": len(inputs.customers), "blocks": len(inputs.blocks),
            "rates": len(inputs.rates), "entries": len(inputs.entries),
            "supersessions": len(inputs.supersessions),
            "quarantine_by_reason": dict(con.execute(
                "select reason_code, count(*) from quarantine group by 1 order by 1").fetchall()),
        }
        _record_run(con, run_id, "ingest", None, tz, started, counts)
        con.execute("commit")
        return summary, counts
    except BaseException:
        try:
            con.execute("rollback")
        except duckdb.Error:
            pass
        raise
    finally:
        con.close()
