"""Reconciliation as of a date (SPEC §3–§5): staging → intermediate → allocation → marts → audits.

A pure function of (validated inputs, as-of date, time zone): it builds temporary tables on
the given connection and leaves the marts `mart_balances`, `mart_entries`, `mart_ledger`,
`mart_pools` behind. Audits run at the end; a violation raises `AuditFailure`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby

import duckdb
import pandas as pd

from transforms.reconcile.allocate import Allocation, Block, Posting, Taken, fold_customer, resumed
from transforms.validate import parse
from transforms.validate.validate import Validated
from schemas.inputs import BILLING_COLUMNS
from transforms.warehouse import append_frame, create_table, sql, store_frame

AUDITS = ("block_identity", "charged_minutes", "cover_window")


class AuditFailure(RuntimeError):
    """An invariant of the books does not hold: minutes or money appeared or vanished."""


#: tables a computation leaves behind (all per customer: a shard's rows are its customers')
RESULT_TABLES = ("int_entries", "int_blocks", "alloc_parts", "alloc_results",
                 "mart_balances", "mart_pools", "mart_entries", "mart_ledger")


@dataclass(frozen=True)
class AsOf:
    """The date a computation is as of, in the business time zone. Models that depend on it
    take it as query parameters (`$as_of`, `$charge_cutoff_epoch`), never from a table."""

    day: date
    tz: str

    def params(self) -> dict:
        cutoff = parse.day_start_epoch(pd.Timestamp(self.day + timedelta(days=1)), self.tz)
        return {"as_of": self.day, "charge_cutoff_epoch": cutoff}


def reconcile(con: duckdb.DuckDBPyConnection, inputs: Validated, as_of: date, tz: str,
              kept: bool = False, reuse: bool = True) -> None:
    stage(con, inputs, tz)
    reconcile_staged(con, as_of, tz, kept, reuse)


def reconcile_staged(con: duckdb.DuckDBPyConnection, as_of: date, tz: str, kept: bool = False,
                     reuse: bool = True) -> None:
    """The computation from the staging tables `stage` left on the connection, then the audits."""
    compute(con, AsOf(as_of, tz), kept, reuse)
    run_audits(con)


def compute(con: duckdb.DuckDBPyConnection, as_of: AsOf, kept: bool = False, reuse: bool = True) -> None:
    """intermediate → allocation fold → marts, from the staging tables, as of `as_of`.

    `kept`: the fold is kept in the warehouse (transforms/sql/fold/) and, with `reuse`, only
    the customers whose charged entries or blocks changed since the kept fold are folded again
    (or folded on, when all they have is new postings after the last one kept); the others keep
    their parts. Without `kept` (shards, the close's baseline) every customer is folded here.
    """
    con.execute(sql("macros.sql"))
    _model(con, "int_entries", "intermediate/int_entries.sql", as_of)
    _model(con, "int_blocks", "intermediate/int_blocks.sql", as_of)
    _model(con, "cur_postings", "fold/cur_postings.sql")
    _model(con, "cur_blocks", "fold/cur_blocks.sql")
    if kept:
        con.execute(sql("fold/schema.sql"))
        if not reuse:
            for table in FOLD_TABLES:
                con.execute(f"delete from {table}")
        _model(con, "fold_last", "fold/fold_last.sql")
        _model(con, "fold_plan", "fold/fold_plan.sql")
    else:
        con.execute("create or replace temp table fold_plan as "
                    "select distinct customer_id, 'refold' as action from cur_postings "
                    "union select distinct customer_id, 'refold' from cur_blocks")
        con.execute("create or replace temp table fold_last as "
                    "select customer_id, posting_epoch, started_epoch, entry_id from cur_postings limit 0")
    _fold(con, resume=kept)
    if kept:
        _keep_fold(con)
    source = "fold" if kept else "new"   # the kept fold, brought up to tonight, or tonight's whole fold
    con.execute("create or replace temp table alloc_parts as "
                f"select entry_id, block_id, seq, minutes, cents, incidents, customer_id from {source}_parts")
    con.execute(f"create or replace temp table alloc_results as select * exclude (customer_id) from {source}_results")
    _model(con, "mart_balances", "marts/balances.sql", as_of)
    _model(con, "mart_pools", "marts/breaches.sql")
    _model(con, "mart_entries", "marts/entries.sql")
    _model(con, "mart_ledger", "marts/ledger.sql")


FOLD_TABLES = ("fold_postings", "fold_blocks", "fold_parts", "fold_results")
PART_TYPES = {"customer_id": "varchar", "entry_id": "varchar", "block_id": "varchar", "seq": "bigint",
              "minutes": "bigint", "cents": "bigint", "incidents": "bigint"}
RESULT_TYPES = {"customer_id": "varchar", "entry_id": "varchar", "covered_minutes": "bigint",
                "value_cents": "bigint", "overage_minutes": "bigint", "overage_cents": "bigint",
                "unpriced": "boolean", "block_ids": "varchar"}


#: customers folded together: one batch's postings, parts and results are all the fold holds in
#: Python objects at a time, so its memory follows the batch, not the history (customers are
#: independent, so the batch size changes no result)
FOLD_BATCH_CUSTOMERS = 1_000


def _fold(con: duckdb.DuckDBPyConnection, resume: bool) -> None:
    """Fold the customers of `fold_plan` into `new_parts` and `new_results`, a batch of customers
    at a time: each refolded from the start, or resumed from the kept fold."""
    _postings_to_fold(con)
    if resume:
        _resumed_parts(con)
    create_table(con, "new_parts", PART_TYPES)
    create_table(con, "new_results", RESULT_TYPES)
    customers = [c for (c,) in con.execute("select customer_id from fold_plan order by customer_id").fetchall()]
    for first in range(0, len(customers), FOLD_BATCH_CUSTOMERS):
        batch = customers[first:first + FOLD_BATCH_CUSTOMERS]
        parts, results = _fold_batch(con, {"first": batch[0], "last": batch[-1]}, resume)
        _insert(con, "new_parts", parts, PART_TYPES)
        _insert(con, "new_results", results, RESULT_TYPES)
    con.execute("drop table if exists resumed_parts")


def _fold_batch(con: duckdb.DuckDBPyConnection, batch: dict, resume: bool) -> tuple[list[tuple], list[tuple]]:
    """The parts and results of the planned customers from `batch["first"]` to `batch["last"]`.

    Each query reads a range of customers from a table stored in customer order (`folded_postings`,
    `resumed_parts`, made once before the batches), so DuckDB reads only the batch's part of it:
    a batch costs what its customers hold, not what the whole history holds."""
    blocks = {c: list(bs) for c, bs in groupby(_blocks(con, batch), key=lambda b: b.customer_id)}
    taken: dict[str, list[Taken]] = {}
    last: dict[str, tuple] = {}
    if resume:
        for customer_id, *row in con.execute("""
                select customer_id, block_id, minutes, cents, incidents, incident_id from resumed_parts
                where customer_id between $first and $last
                order by customer_id, seq""", batch).fetchall():
            taken.setdefault(customer_id, []).append(Taken(*row))
        last = {c: (e, s, i) for c, e, s, i in con.execute("""
            select l.customer_id, l.posting_epoch, l.started_epoch, l.entry_id from fold_last l
            join fold_plan f on f.customer_id = l.customer_id and f.action = 'resume'
            where l.customer_id between $first and $last""", batch).fetchall()}
    part_rows, result_rows = [], []
    for customer_id, postings in groupby(_postings(con, batch), key=lambda p: p.customer_id):
        out = Allocation()
        customer_blocks = blocks.get(customer_id, [])
        ledger = resumed(customer_blocks, taken.get(customer_id, ()), last[customer_id]) \
            if customer_id in last else None
        fold_customer(postings, customer_blocks, out, ledger)
        start = len(taken.get(customer_id, ()))   # a resumed customer's parts go on after its kept ones
        part_rows += [(customer_id, p.entry_id, p.block_id, start + i, p.minutes, p.cents, p.incidents)
                      for i, p in enumerate(out.parts)]
        result_rows += [(customer_id, r.entry_id, r.covered_minutes, r.value_cents, r.overage_minutes,
                         r.overage_cents, r.unpriced, "|".join(r.block_ids)) for r in out.results]
    return part_rows, result_rows


def _keep_fold(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the kept fold up to tonight: refolded customers replaced, resumed ones extended."""
    refold = "(select customer_id from fold_plan where action = 'refold')"
    for table in FOLD_TABLES:
        con.execute(f"delete from {table} where customer_id in {refold}")
    con.execute(f"insert into fold_blocks select * from cur_blocks where customer_id in {refold}")
    con.execute("insert into fold_postings select * from folded_postings")
    con.execute("insert into fold_parts select * from new_parts")
    con.execute("insert into fold_results select * from new_results")


def run_audits(con: duckdb.DuckDBPyConnection) -> None:
    """Each audit is a query returning offending rows; any row fails the run."""
    for name in AUDITS:
        rows = con.execute(sql(f"audits/{name}.sql")).fetchmany(5)
        if rows:
            raise AuditFailure(f"audit {name} failed; first offending rows: {rows}")


def stage(con: duckdb.DuckDBPyConnection, inputs: Validated, tz: str) -> None:
    """The validated inputs as typed tables `valid_*`, then the staging models
    (transforms/sql/staging/) that the computation reads, `stg_*`; the `valid_*` are dropped."""
    con.execute(sql("macros.sql"))
    for table, frame in (("valid_customers", inputs.customers), ("valid_blocks", inputs.blocks),
                         ("valid_rates", inputs.rates)):
        store_frame(con, table, _exact_decimals(frame, VALID_TYPES[table]), VALID_TYPES[table])
    if inputs.entries is not None:
        store_frame(con, "valid_entries", inputs.entries, VALID_TYPES["valid_entries"])
    for model in STAGING_MODELS:
        query = sql(f"staging/{model}.sql")
        con.execute(query, {"tz": tz} if "$tz" in query else {})
    # their rows are in the stg_* tables now: the history's entries are a copy less for DuckDB to
    # hold or spill
    for table in VALID_TYPES:
        con.execute(f"drop table {table}")


STAGING_MODELS = ("stg_customers", "stg_blocks", "stg_rates", "stg_entries")

#: the columns of the temp tables `valid_*`: the validated frames (schemas/inputs.py) as DuckDB
#: holds them. Decimals are held as their exact text (`Decimal` objects would be typed by a sample
#: of the values) and cast by the staging models. `valid_entries` is also built by sql/kept/.
VALID_TYPES = {
    "valid_customers": {
        "source_file": "varchar", "line": "bigint", "customer_id": "varchar", "name": "varchar",
        "aliases": "varchar", "currency": "varchar", "rounding_increment_minutes": "bigint",
        "rounding_mode": "varchar", "minimum_entry_minutes": "bigint", "requires_authorization": "boolean",
        "invoice_cadence": "varchar", "tax_rate_percent": "varchar",
        **{column: "varchar" for column in BILLING_COLUMNS}, "language": "varchar", "tax_category": "varchar"},
    "valid_blocks": {
        "source_file": "varchar", "line": "bigint", "block_id": "varchar", "customer_id": "varchar",
        "kind": "varchar", "service": "varchar", "quantity_units": "bigint", "amount_paid_cents": "bigint",
        "purchased_on": "date", "starts_on": "date", "expires_on": "date", "reorder_point_units": "varchar",
        "auto_invoice": "boolean", "invoice_number": "varchar"},
    "valid_rates": {
        "source_file": "varchar", "line": "bigint", "customer_id": "varchar", "service": "varchar",
        "user": "varchar", "hourly_rate_cents": "bigint", "valid_from": "date", "valid_to": "date"},
    "valid_entries": {
        "source_file": "varchar", "line": "bigint", "entry_id": "varchar", "user": "varchar",
        "service": "varchar", "started_at": "timestamptz", "ended_at": "timestamptz", "billable": "boolean",
        "incident_id": "varchar", "authorized_at": "timestamptz", "project": "varchar", "task": "varchar",
        "description": "varchar", "billed_elsewhere": "boolean", "duration_seconds": "bigint",
        "customer_id": "varchar"},
}
#: decimal columns of the validated frames (`Decimal` objects or blank)
DECIMAL_COLUMNS = ("tax_rate_percent", "reorder_point_units")


def _exact_decimals(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """`frame` with its decimal columns as their exact text (blank stays blank)."""
    texts = {column: frame[column].map(lambda d: None if d is None or d != d else str(d))
             for column in DECIMAL_COLUMNS if column in types}
    return frame.assign(**texts) if texts else frame


def _insert(con: duckdb.DuckDBPyConnection, name: str, rows: list[tuple], types: dict[str, str]) -> None:
    """Append `rows` (tuples in the order of `types`) to the table `name`."""
    if rows:
        append_frame(con, name, pd.DataFrame(rows, columns=list(types)), types)


def _model(con: duckdb.DuckDBPyConnection, name: str, path: str, as_of: AsOf | None = None) -> None:
    """Build table `name` from its model file (with the as-of parameters the model uses)."""
    query = sql(path)
    params = {k: v for k, v in (as_of.params() if as_of else {}).items() if f"${k}" in query}
    con.execute(f"create or replace temp table {name} as {query}", params)


def _postings_to_fold(con: duckdb.DuckDBPyConnection) -> None:
    """`folded_postings`: the postings to fold tonight, in customer and posting order (SPEC §4):
    all of a refolded customer's, and those after the last kept one of a resumed customer."""
    con.execute("""
        create or replace temp table folded_postings as
        select p.*
        from cur_postings p
        join fold_plan f using (customer_id)
        left join fold_last l on f.action = 'resume' and l.customer_id = p.customer_id
        where f.action = 'refold'
           or l.customer_id is null
           or p.posting_epoch > l.posting_epoch
           or (p.posting_epoch = l.posting_epoch and p.started_epoch > l.started_epoch)
           or (p.posting_epoch = l.posting_epoch and p.started_epoch = l.started_epoch
               and p.entry_id > l.entry_id)
        order by p.customer_id, p.posting_epoch, p.started_epoch, p.entry_id
    """)


def _resumed_parts(con: duckdb.DuckDBPyConnection) -> None:
    """`resumed_parts`: the kept parts of the customers folded on from the kept fold, with the
    incident each part's entry names, in customer and fold order."""
    con.execute("""
        create or replace temp table resumed_parts as
        select k.customer_id, k.block_id, k.minutes, k.cents, k.incidents, e.incident_id, k.seq
        from fold_parts k
        join fold_plan f on f.customer_id = k.customer_id and f.action = 'resume'
        join fold_postings e on e.entry_id = k.entry_id
        order by k.customer_id, k.seq
    """)


def _postings(con: duckdb.DuckDBPyConnection, batch: dict) -> list[Posting]:
    """The batch's postings to fold, in posting order (SPEC §4)."""
    rows = con.execute("""
        select customer_id, entry_id, service, work_day, posting_epoch, minutes, incident_id, rate_cents,
               started_epoch
        from folded_postings
        where customer_id between $first and $last
        order by customer_id, posting_epoch, started_epoch, entry_id
    """, batch).fetchall()
    return list(map(Posting._make, rows))


def _blocks(con: duckdb.DuckDBPyConnection, batch: dict) -> list[Block]:
    rows = con.execute("""
        select customer_id, block_id, kind, service, starts_day, expires_day, expiry_epoch, quantity,
               purchased_day
        from cur_blocks
        where customer_id in (select customer_id from fold_plan)
          and customer_id between $first and $last
        order by customer_id, precedence
    """, batch).fetchall()
    return [Block(*row) for row in rows]
