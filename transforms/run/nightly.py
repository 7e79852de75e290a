"""The steps of a run, and the sequences that run them.

`nightly(run, as_of)` and `close_month(run, period)` are the two jobs, each a short sequence of
named steps; `Run` owns what every run shares: the warehouse connection (the lock), the one
transaction, the run's id and record, the timed phases, the staging folder and publishing.
Steps go through a `step` executor, `step(fn, *args)`: `call` runs each step in place (tests,
`--no-prefect`), and flows/ passes one that runs each step as its Prefect task. Either way the
steps run one after the other in this process, on one connection: one run is one warehouse
transaction, and everything lands or nothing. A run that fails or is refused is recorded in
`runs` afterwards, in a transaction of its own.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from transforms import progress
from transforms.close import close
from transforms.documents import archive, documents, seller as seller_mod
from transforms.ingest import ingest as ingest_mod
from transforms.reconcile import shards
from transforms.reports import reports
from transforms.run import outputs, settings
from transforms.validate import kept, validate as validate_mod
from transforms.reconcile.reconcile import reconcile_staged, stage
from transforms.run.errors import Refused
from transforms.run.summary import (changes_since_previous, ingest_detail, likely_typos, quarantined_lines,
                                    summarize, validate_detail)
from transforms.warehouse import RAW_KINDS, beside_workers, connect, current_raw, current_raw_issues, sql, store_frame

log = progress.logger(__name__)

Step = Callable[..., Any]
"""A step executor: `step(fn, *args, **kwargs)` runs one step of a run and returns its result."""


def call(fn: Callable, /, *args, **kwargs):
    """The plain step executor: run the step here and now."""
    return fn(*args, **kwargs)


@dataclass
class Job:
    """What one run does: a nightly run as of a date, or the close of a period."""

    command: str                      # nightly | close
    inbox: Path
    warehouse: Path
    out: Path
    as_of: date
    tz: str | None = None             # None: the warehouse's (UTC on its first run)
    reports_enabled: bool = True
    period: str | None = None         # close: YYYY-MM
    force: bool = False               # close: despite pending entries
    flow_run_id: str | None = None    # the Prefect flow run, when run by one
    today: date | None = None         # close: "has the period ended" (default: today in tz)
    shards: int = 1                   # > 1: compute per-customer shards (transforms/reconcile/shards.py)
    shard_dir: Path | None = None     # where shard Parquet folders go (default <warehouse>.shards)
    run_shards: Callable | None = None  # shard executor (default: serially, in this process)
    billing_starts: date | None = None  # cutover: None = the warehouse's (none on its first run)
    archive: Path | None = None       # document archive (default <warehouse name>-documents beside it)
    recompute: bool = False           # ignore what earlier runs kept (validated rows, folds): all from scratch


@dataclass
class RunReport:
    run_id: int
    as_of: date
    out: Path | None
    ingest: ingest_mod.IngestSummary | None
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    command: str = "nightly"
    period: str | None = None
    outcome: str = "committed"        # committed | already_closed
    close: close.CloseSummary | None = None
    already_closed: close.AlreadyClosed | None = None
    flow_run_id: str | None = None


@dataclass
class ReopenReport:
    run_id: int
    period: str
    closed_by_run_id: int


class Timer:
    """The seconds of each phase (run.json's timings), each phase logged as it ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.start = progress.clock()

    @contextmanager
    def phase(self, name: str):
        p = None
        try:
            with progress.phase(name, log) as p:
                yield p
        finally:
            if p is not None:
                self.seconds[name] = p.seconds


# --- the steps ----------------------------------------------------------------------------

def begin_run(con: duckdb.DuckDBPyConnection, out: Path | None) -> tuple[int, list[str]]:
    """Recover outputs of killed runs, then allocate this run's id."""
    con.execute(sql("close/schema.sql"))
    recovered = []
    if out is not None:
        committed = {r[0] for r in con.execute("select run_id from runs where outcome = 'committed'").fetchall()}
        recovered = outputs.recover(out, committed)
    run_id = con.execute("select nextval('run_id_seq')").fetchone()[0]
    return run_id, recovered


def load_inputs(con: duckdb.DuckDBPyConnection, tz: str, recompute: bool = False) -> validate_mod.Validated:
    """Validate every current raw row (quarantine is recomputed each run); time-log rows are
    typed once per file version and kept (transforms/validate/kept.py)."""
    reading = progress.track(RAW_KINDS, describe=lambda k: f"reading {k}", steps_after=1)
    raw, timelogs = {}, None
    for kind in reading:
        if kind == "timelogs":
            timelogs = kept.typed_timelogs(con, tz, recompute)
        else:
            raw[kind] = current_raw(con, kind)
    progress.update(description="checking every row")
    validated = validate_mod.validate(raw, tz, timelogs)
    progress.advance()
    return validated


QUARANTINE_TYPES = {"source_file": "varchar", "line": "bigint", "column": "varchar", "value": "varchar",
                    "reason_code": "varchar", "detail": "varchar", "lines": "bigint"}
SUPERSESSION_TYPES = {"kind": "varchar", "id": "varchar", "source_file": "varchar", "line": "bigint",
                      "superseded_by_file": "varchar", "superseded_by_line": "bigint", "changed_columns": "varchar"}


def store_quarantine(con: duckdb.DuckDBPyConnection, inputs: validate_mod.Validated) -> None:
    issues = current_raw_issues(con)
    frame = pd.concat([issues, inputs.quarantine.astype({"line": "int64"}).assign(lines=1)], ignore_index=True)
    frame = frame.astype({"line": "int64", "lines": "int64"})
    for column in ("source_file", "column", "value", "reason_code", "detail"):
        frame[column] = frame[column].astype("object").where(frame[column].notna(), "")
    store_frame(con, "quarantine", frame, QUARANTINE_TYPES, temp=False)
    con.execute("create or replace temp view run_quarantine as select * from quarantine")
    store_frame(con, "supersessions", inputs.supersessions, SUPERSESSION_TYPES, temp=False)


def validate_inputs(con: duckdb.DuckDBPyConnection, tz: str, recompute: bool = False) -> validate_mod.Validated:
    """Validate every current raw row and store the quarantine (recomputed each run)."""
    inputs = load_inputs(con, tz, recompute)
    store_quarantine(con, inputs)
    return inputs


def write_outputs(con: duckdb.DuckDBPyConnection, target: Path, run_id: int, copies: Path | None = None) -> None:
    """The machine outputs (SPEC §7) and this run's documents, into the staging folder; the
    documents' files also into `copies`, the archive's incoming folder of the run."""
    outputs.write_machine_outputs(con, target)
    with beside_workers(con):   # the PDFs render in worker processes
        documents.write_documents(con, target, run_id, copies)


def persist_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Keep this run's results in the warehouse for analysts (views over the last run)."""
    for mart in ("balances", "entries", "ledger", "pools"):
        con.execute(f"create or replace table last_{mart} as select * from mart_{mart}")
    con.execute(sql_views())


def sql_views() -> str:
    return sql("views.sql")


def inputs_digest(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("select source_file, sha256 from files order by file_id").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def current_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The latest ingested version (sha256) of every input file."""
    return dict(con.execute(
        "select source_file, arg_max(sha256, file_id) from files group by source_file order by source_file"
    ).fetchall())


# --- the run ------------------------------------------------------------------------------

class Run:
    """One run of a job: the warehouse connection (which is the lock), one transaction, the run's
    id and its row in `runs`, the timed phases, the staging folder, and publishing.

    `with Run(job, step) as run:` opens it (recovering what killed runs left, allocating the id,
    beginning the transaction, fixing the warehouse's settings); `run.commit(report)` seals and
    commits it, then publishes; leaving the block by an exception before that rolls everything
    back, removes the staging folder and records the failure in a transaction of its own.
    """

    def __init__(self, job: Job, step: Step = call) -> None:
        self.job, self.step = job, step
        self.timer = Timer()
        self.started = datetime.now(timezone.utc)
        self.con = connect(job.warehouse)
        self.run_id: int | None = None
        self.inputs_seen: dict | None = None
        self.staged: Path | None = None
        self.committed = False
        self.recovered: list[str] = []
        self.removal: outputs.Removal | None = None
        self.archive = job.archive or archive.default_archive(job.warehouse)

    def __enter__(self) -> Run:
        try:
            self.run_id, self.recovered = begin_run(self.con, self.job.out)
            self.recovered += archive.recover(self.con, self.archive)
            self.con.execute("begin transaction")
            self.job = with_settings(self.con, self.run_id, self.job)
        except BaseException as exc:
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        try:
            if exc is not None and not self.committed:
                self.abandon(exc)
        finally:
            self.con.close()
            if self.removal is not None:
                self.removal.finish()
        return False

    def abandon(self, exc: BaseException, outcome: str | None = None) -> None:
        """Roll the run back and record why (`outcome`: default from the exception)."""
        _rollback(self.con)
        if self.staged is not None and self.staged.exists():
            shutil.rmtree(self.staged, ignore_errors=True)
        if self.run_id is not None:
            archive.discard_incoming(self.archive, self.run_id)
            if outcome is None:
                record_failure(self.con, self.run_id, self.job, self.started, exc, self.inputs_seen)
            else:
                record_run(self.con, self.run_id, self.job, self.started, outcome, error=str(exc))

    # the steps every job shares, each a timed phase

    def ingest(self) -> ingest_mod.IngestSummary:
        with self.timer.phase("ingest") as p:
            summary = self.step(ingest_mod.ingest, self.con, self.job.inbox, self.run_id)
            p.detail = ingest_detail(summary)
        self.inputs_seen = current_inputs(self.con)
        return summary

    def validate(self) -> list[str]:
        """Validate every current row and stage the valid ones for the computation. The
        validated frames end here, so later phases reuse their memory. Returns the warnings
        about likely typos."""
        with self.timer.phase("validate") as p:
            inputs = self.step(validate_inputs, self.con, self.job.tz, self.job.recompute)
            p.detail = validate_detail(inputs)
            typos = likely_typos(inputs)
            self.step(stage, self.con, inputs, self.job.tz)
            self.staged_counts = (inputs.entry_count, len(inputs.blocks))
        return typos

    def reconcile(self, as_of: date) -> None:
        job = self.job
        with self.timer.phase("compute") as p:
            p.detail = "{:,} entries over {:,} blocks".format(*self.staged_counts)
            if job.shards > 1:
                self.step(shards.reconcile_sharded, self.con, as_of, job.tz, job.shards,
                          shard_folder_of(job, self.run_id), job.run_shards or shards.run_serially)
            else:
                self.step(reconcile_staged, self.con, as_of, job.tz, kept=True, reuse=not job.recompute)

    def issue_documents(self, as_of: date, seller: dict | None) -> list[str]:
        with self.timer.phase("documents") as p:
            issued = self.step(documents.issue_documents, self.con, as_of, self.job.tz, self.job.billing_starts,
                               seller, self.job.recompute)
            p.detail = f"{len(issued):,} issued"
        return issued

    def report(self, as_of: date, summary: ingest_mod.IngestSummary, changes: dict, issued: list[str],
               warnings: list[str]) -> RunReport:
        counts = summarize(self.con, self.run_id, changes)
        counts["documents_issued"] = len(issued)
        job = self.job
        return RunReport(self.run_id, as_of, job.out, summary, counts, self.timer.seconds,
                         self.recovered + warnings, issued, command=job.command, period=job.period,
                         flow_run_id=job.flow_run_id)

    def write(self, report: RunReport, extra: Callable[[Path], None] | None = None) -> None:
        """The outputs into the staging folder: the machine contract and the documents, the
        close's files (`extra`), the prepaid logs."""
        self.staged = outputs.staging_dir(self.job.out, self.run_id)
        if self.staged.exists():
            shutil.rmtree(self.staged)
        with self.timer.phase("write_outputs") as p:
            self.step(write_outputs, self.con, self.staged, self.run_id, archive.incoming(self.archive, self.run_id))
            if extra is not None:
                extra(self.staged)
            p.detail = f"machine outputs and {len(report.documents):,} documents"
        with self.timer.phase("reports") as p:
            p.detail = "skipped (--no-reports)"
            if self.job.reports_enabled:
                p.update(description=f"{report.counts['customers']:,} customers")
                written, rendered, carried = self.step(reports.write_reports, self.con, self.staged,
                                                       report.as_of, self.job.tz, previous=self.job.out)
                outputs.carry_later(self.staged, carried)
                p.detail = f"{written:,} prepaid logs, {rendered:,} of them rendered (the others unchanged)"

    def commit(self, report: RunReport, seller: dict | None) -> RunReport:
        """Record the run, seal and commit it, then archive its documents and publish OUT."""
        job, con, summary = self.job, self.con, report.ingest
        report.warnings += [f"ignored inbox file {name}" for name in summary.ignored]
        if seller is None and job.command == "nightly":   # only nightly runs issue documents
            report.warnings.append(f"no {seller_mod.SELLER_FILE} in the inbox: documents carry no seller "
                                   "details and no e-invoice (XML) is written")
        report.warnings += documents.einvoice_warnings(con, self.run_id)
        for warning in report.warnings:
            log.warning("%s", warning)
        record_run(con, self.run_id, job, self.started, "committed", counts=report.counts, inputs=self.inputs_seen)
        outputs.write_json(self.staged / "run.json", {
            "run_id": self.run_id, "command": job.command, "as_of": report.as_of.isoformat(), "tz": job.tz,
            "period": job.period, "outcome": "committed", "flow_run_id": job.flow_run_id,
            "started_at": self.started.isoformat(), "inputs": self.inputs_seen,
            "inputs_sha256": inputs_digest(con), "counts": report.counts,
            "close": None if report.close is None else _close_json(report.close),
            "files_ingested": summary.files_ingested, "timings_seconds": self.timer.seconds,
            "warnings": report.warnings, "documents": report.documents,
        })
        with self.timer.phase("commit") as p:
            outputs.seal(self.staged, self.run_id)
            con.execute("commit")
            self.committed = True
            p.detail = f"run {self.run_id} in the warehouse"
        if job.shards > 1:
            shutil.rmtree(shard_folder_of(job, self.run_id), ignore_errors=True)
        with self.timer.phase("publish") as p:
            if report.documents:   # into the archive first: OUT is replaced by the next run into it
                self.step(archive.store, self.archive, self.run_id, report.as_of)
            replaced = self.step(outputs.swap, self.staged, job.out)
            if replaced is not None:   # removed while the warehouse closes (__exit__)
                self.removal = outputs.Removal(replaced)
            p.detail = f"outputs in {Path(job.out).absolute()}"
        log.info("%s run %s as of %s committed in %.2f s", job.command, self.run_id, report.as_of,
                 progress.clock() - self.timer.start)
        return report


def nightly(run: Run, as_of: date) -> RunReport:
    """One night: guard, ingest, validate, reconcile, issue documents, write, commit, publish."""
    check_forward(run.con, as_of)
    close.check_open(run.con, as_of)
    seller = seller_mod.load(run.job.inbox)   # a broken seller.toml stops the run here (exit 2)
    summary = run.ingest()
    typos = run.validate()
    run.reconcile(as_of)
    issued = run.issue_documents(as_of, seller)
    changes = changes_since_previous(run.con, run.run_id)   # before persist_marts replaces the last night's
    persist_marts(run.con)
    report = run.report(as_of, summary, changes, issued, typos)
    run.write(report)
    return run.commit(report, seller)


def close_month(run: Run, period: str) -> RunReport:
    """A month-end close: the night of the period's last day without documents, then the
    period's reconciliation, frozen and locked (SPEC §7)."""
    job, as_of = run.job, close.period_end(period)
    close.check_closable(run.con, period, job.today or today_in(job.tz))
    close.check_open(run.con, as_of)
    seller = seller_mod.load(job.inbox)
    summary = run.ingest()
    typos = run.validate()
    with run.timer.phase("close_baseline"):
        run.step(close.prepare_baseline, run.con, run.run_id, period, job.tz)
    run.reconcile(as_of)
    pending = run.step(close.check_pending, run.con, period, job.force)
    run.step(documents.document_views, run.con, as_of, not job.recompute)   # a close issues nothing: the next night bills
    report = run.report(as_of, summary, changes_since_previous(run.con, run.run_id), [], typos)
    with run.timer.phase("close"):
        report.close = run.step(close.close_period, run.con, run.run_id, period, job.out, job.force, pending)
    if pending:
        report.warnings.append(f"closed with --force over {len(pending)} pending entries")
    run.write(report, extra=lambda staged: run.step(close.write_close_outputs, run.con, staged))
    return run.commit(report, seller)


def execute(job: Job, step: Step = call) -> RunReport:
    """Run one nightly run or close, all or nothing; see the module docstring."""
    with Run(job, step) as run:
        try:
            return close_month(run, job.period) if job.period else nightly(run, job.as_of)
        except close.AlreadyClosed as exc:
            run.abandon(exc, outcome="already_closed")
            # The report keeps the exception, and Prefect keeps the report until the process exits:
            # without its frames, no DuckDB object (this connection) outlives the run, which nanobind
            # would report at exit ("leaked 28 instances!", 43 lines).
            traceback.clear_frames(exc.__traceback__)
            exc.__traceback__ = None
            return RunReport(run.run_id, job.as_of, None, None, command=job.command, period=job.period,
                             outcome="already_closed", already_closed=exc, flow_run_id=job.flow_run_id)


def with_settings(con: duckdb.DuckDBPyConnection, run_id: int, job):
    """The job with the warehouse's settings (time zone, billing cutover) filled in; the first
    run of a warehouse fixes them, a run given other values is refused (transforms/run/settings.py)."""
    given = {settings.TZ: job.tz}
    if hasattr(job, "billing_starts"):
        given[settings.BILLING_STARTS] = job.billing_starts
    found = settings.resolve(con, run_id, given)
    changes = {"tz": found[settings.TZ]}
    if hasattr(job, "billing_starts"):
        cutover = found[settings.BILLING_STARTS]
        changes["billing_starts"] = None if cutover is None else date.fromisoformat(cutover)
    return replace(job, **changes)


def last_nightly_as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    """The as-of date of the last committed nightly run: documents are dated up to it."""
    return con.execute("select max(as_of) from runs where command = 'nightly' and outcome = 'committed'"
                       ).fetchone()[0]


def check_forward(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Documents move forward in time only: a nightly run before the last one is refused."""
    last = last_nightly_as_of(con)
    if last is not None and as_of < last:
        raise Refused(f"nightly as of {as_of} refused: the last committed nightly run is as of {last}, "
                      f"and documents move forward only; run as of {last} or later")


def business_zone(warehouse: Path, given: str | None = None) -> str:
    """The business time zone a command on `warehouse` will use: `given` (checked), else the
    warehouse's setting, else UTC (a new warehouse). For defaults computed before a run starts."""
    if given is not None:
        return settings.check_zone(given)
    if not Path(warehouse).exists():
        return settings.DEFAULTS[settings.TZ]
    con = connect(warehouse, read_only=True)
    try:
        return settings.stored_zone(con) or settings.DEFAULTS[settings.TZ]
    finally:
        con.close()


def shard_folder_of(job: Job, run_id: int) -> Path:
    base = job.shard_dir or job.warehouse.with_name(job.warehouse.name + ".shards")
    return Path(base) / f"run-{run_id}"


def _close_json(summary: close.CloseSummary) -> dict:
    from transforms.units import cents_text
    return {"period": summary.period, "pools": summary.pools, "late_adjustments": summary.late_adjustments,
            "pending_entries": summary.pending, "forced": summary.forced,
            "deferred_revenue": {c: cents_text(v) for c, v in sorted(summary.deferred_revenue_cents.items())},
            "breakage": {c: cents_text(v) for c, v in sorted(summary.breakage_cents.items())}}


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("rollback")
    except duckdb.Error:
        pass


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, close.Refused):
        return "refused"
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return "interrupted"
    return "failed"


def record_run(con: duckdb.DuckDBPyConnection, run_id: int, job, started: datetime, outcome: str,
               counts: dict | None = None, inputs: dict | None = None, error: str | None = None) -> None:
    """One row in `runs` (in the caller's transaction, or on its own after a rollback)."""
    con.execute(
        "insert into runs (run_id, command, as_of, tz, started_at, ended_at, inputs_sha256, counts, "
        "outcome, period, inputs, error, flow_run_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, job.command, getattr(job, "as_of", None), getattr(job, "tz", None), started,
         datetime.now(timezone.utc), inputs_digest(con),
         None if counts is None else json.dumps(counts, sort_keys=True, default=str),
         outcome, getattr(job, "period", None),
         None if inputs is None else json.dumps(inputs, sort_keys=True), error,
         getattr(job, "flow_run_id", None)],
    )


def record_failure(con: duckdb.DuckDBPyConnection, run_id: int, job, started: datetime,
                   exc: BaseException, inputs: dict | None) -> None:
    """Record a failed, refused or interrupted run after its rollback; never masks `exc`."""
    try:
        error = f"{type(exc).__name__}: {exc}"
        record_run(con, run_id, job, started, outcome_of(exc), inputs=inputs, error=error[:2000])
    except duckdb.Error:
        pass


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def last_complete_day(tz: str) -> date:
    """Yesterday in the business time zone: what a scheduled night run is as of."""
    return today_in(tz) - timedelta(days=1)


# --- entry points -------------------------------------------------------------------------

def run_nightly(inbox: Path, warehouse: Path, out: Path, as_of: date, tz: str | None = None,
                reports_enabled: bool = True, step: Step = call, flow_run_id: str | None = None,
                shards: int = 1, shard_dir: Path | None = None, run_shards: Callable | None = None,
                billing_starts: date | None = None, archive: Path | None = None,
                recompute: bool = False) -> RunReport:
    """Ingest, validate, reconcile, issue documents and write OUT, all or nothing."""
    return execute(Job("nightly", Path(inbox), Path(warehouse), Path(out), as_of, tz, reports_enabled,
                       flow_run_id=flow_run_id, shards=shards, shard_dir=shard_dir, run_shards=run_shards,
                       billing_starts=billing_starts, archive=archive, recompute=recompute), step)


def run_close(inbox: Path, warehouse: Path, out: Path, period: str, tz: str | None = None, force: bool = False,
              reports_enabled: bool = True, step: Step = call, flow_run_id: str | None = None,
              today: date | None = None) -> RunReport:
    """Close a month: the nightly steps as of its last day, then freeze and lock it."""
    period = close.parse_period(period)
    return execute(Job("close", Path(inbox), Path(warehouse), Path(out), close.period_end(period), tz,
                       reports_enabled, period, force, flow_run_id, today), step)


def nights(first: date, last: date) -> list[date]:
    """Every night from `first` to `last`, in order (a backfill)."""
    if first > last:
        raise ValueError(f"--from {first} is after --to {last}")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def out_for(pattern: Path | str, as_of: date) -> Path:
    """The output folder of the night `as_of`: `{as_of}` in the pattern becomes the date."""
    return Path(str(pattern).replace("{as_of}", as_of.isoformat()))


class BackfillStopped(RuntimeError):
    """A night of a backfill failed (its cause chained); the nights before it are committed."""

    def __init__(self, night: date, committed: list[RunReport], cause: BaseException) -> None:
        super().__init__(f"backfill stopped at {night}: {cause} ({len(committed)} night(s) before it "
                         f"committed; resume with --from {night})")
        self.night, self.committed = night, committed


def backfill(run_night: Callable[[date], RunReport], first: date, last: date) -> list[RunReport]:
    """Run every night from `first` to `last` in order with `run_night`; stop at the first failure."""
    done: list[RunReport] = []
    for night in nights(first, last):
        try:
            done.append(run_night(night))
        except Exception as exc:
            raise BackfillStopped(night, done, exc) from exc
    return done


def check_backfill(warehouse: Path, first: date) -> None:
    """A backfill runs forward only: its first night must not be before the last nightly run."""
    if not Path(warehouse).exists():
        return
    con = connect(warehouse, read_only=True)
    try:
        has_runs = con.execute("select count(*) from information_schema.tables where table_name = 'runs'"
                               ).fetchone()[0]
        last = last_nightly_as_of(con) if has_runs else None
    finally:
        con.close()
    if last is not None and first < last:
        raise Refused(f"backfill from {first} refused: the last committed nightly run is as of {last}, "
                      f"and documents move forward only; backfill from {last} or later")


def run_backfill(inbox: Path, warehouse: Path, out: Path | str, first: date, last: date, tz: str | None = None,
                 reports_enabled: bool = True, step: Step = call,
                 billing_starts: date | None = None) -> list[RunReport]:
    """Every night from `first` to `last` in order, each its own run, as if run night by night."""
    check_backfill(warehouse, first)
    return backfill(lambda night: run_nightly(inbox, warehouse, out_for(out, night), night, tz,
                                              reports_enabled, step, billing_starts=billing_starts),
                    first, last)


@dataclass
class _ReopenJob:
    command: str
    period: str
    flow_run_id: str | None = None


def run_reopen(warehouse: Path, period: str, reason: str | None = None, step: Step = call,
               flow_run_id: str | None = None) -> ReopenReport:
    """Reopen the last closed period: recorded in the warehouse; its frozen figures stay."""
    period = close.parse_period(period)
    job = _ReopenJob("reopen", period, flow_run_id)
    with _recorded_run(connect(warehouse), job) as run:
        closed_by = step(close.reopen, run.con, run.run_id, period, reason)
        record_run(run.con, run.run_id, job, run.started, "committed")
    return ReopenReport(run.run_id, period, closed_by)


@dataclass
class _Run:
    con: duckdb.DuckDBPyConnection
    run_id: int | None = None
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    inputs: dict | None = None


@contextmanager
def _recorded_run(con: duckdb.DuckDBPyConnection, job):
    """A run without outputs (ingest, reopen) as one transaction: committed when the body
    returns; rolled back, recorded as failed and re-raised when it raises; always closed."""
    run = _Run(con)
    try:
        run.run_id, _ = begin_run(con, None)
        con.execute("begin transaction")
        yield run
        con.execute("commit")
    except BaseException as exc:
        _rollback(con)
        if run.run_id is not None:
            record_failure(con, run.run_id, job, run.started, exc, run.inputs)
        raise
    finally:
        con.close()


@dataclass
class _IngestJob:
    command: str
    tz: str | None


def run_ingest(inbox: Path, warehouse: Path, tz: str | None = None) -> tuple[ingest_mod.IngestSummary, dict]:
    """Ingest the inbox and validate everything, without reconciling; all or nothing."""
    job = _IngestJob("ingest", tz)
    with _recorded_run(connect(warehouse), job) as run:
        job = with_settings(run.con, run.run_id, job)
        with progress.phase("ingest", log) as p:
            summary = ingest_mod.ingest(run.con, inbox, run.run_id)
            p.detail = ingest_detail(summary)
        run.inputs = current_inputs(run.con)
        with progress.phase("validate", log) as p:
            inputs = validate_inputs(run.con, job.tz)
            p.detail = validate_detail(inputs)
        counts = {
            "customers": len(inputs.customers), "blocks": len(inputs.blocks),
            "rates": len(inputs.rates), "entries": inputs.entry_count,
            "supersessions": len(inputs.supersessions),
            "quarantine_by_reason": dict(run.con.execute(
                "select reason_code, count(*) from quarantine group by 1 order by 1").fetchall()),
            **quarantined_lines(run.con),
        }
        record_run(run.con, run.run_id, job, run.started, "committed", counts=counts, inputs=run.inputs)
    return summary, counts


@dataclass
class _SettingsJob:
    command: str


def run_settings(warehouse: Path, changes: dict[str, object], reason: str) -> dict[str, tuple]:
    """Change settings of the warehouse explicitly (recorded with the reason); returns, per
    setting changed, (old value, new value)."""
    job = _SettingsJob("settings")
    done = {}
    with _recorded_run(connect(warehouse), job) as run:
        for name, value in changes.items():
            done[name] = settings.change(run.con, run.run_id, name, value, reason)
        record_run(run.con, run.run_id, job, run.started, "committed",
                   counts={name: {"old": old, "new": new} for name, (old, new) in done.items()})
    return done


def read_settings(warehouse: Path) -> dict[str, tuple]:
    """Current settings: name -> (value, run that set it, when); empty for a new warehouse."""
    if not Path(warehouse).exists():
        return {}
    con = connect(warehouse)
    try:
        return settings.current(con)
    finally:
        con.close()
