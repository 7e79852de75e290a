"""Reconciliation as of a date (SPEC §3–§5): staging → intermediate → allocation → marts → audits.

A pure function of (validated inputs, as-of date, time zone): it builds temporary tables on
the given connection and leaves the marts `mart_balances`, `mart_entries`, `mart_ledger`,
`mart_pools` behind. Audits run at the end; a violation raises `AuditFailure`.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from transforms import parse
from transforms.allocate import Block, Posting, allocate
from transforms.validate import Validated
from transforms.warehouse import sql

AUDITS = ("block_identity", "charged_minutes", "cover_window")


class AuditFailure(RuntimeError):
    """An invariant of the books does not hold: minutes or money appeared or vanished."""


#: tables a computation leaves behind (all per customer: a shard's rows are its customers')
RESULT_TABLES = ("int_entries", "int_blocks", "alloc_parts", "alloc_results",
                 "mart_balances", "mart_pools", "mart_entries", "mart_ledger")


def reconcile(con: duckdb.DuckDBPyConnection, inputs: Validated, as_of: date, tz: str) -> None:
    stage(con, inputs, as_of, tz)
    compute(con)
    run_audits(con)


def compute(con: duckdb.DuckDBPyConnection) -> None:
    """intermediate → allocation fold → marts, from the staging tables and run_params."""
    con.execute(sql("macros.sql"))
    _model(con, "int_entries", "intermediate/int_entries.sql")
    _model(con, "int_blocks", "intermediate/int_blocks.sql")
    allocation = allocate(_postings(con), _blocks(con))
    _register(con, "alloc_parts", pd.DataFrame(
        [(p.entry_id, p.block_id, i, p.minutes, p.cents, p.incidents) for i, p in enumerate(allocation.parts)],
        columns=["entry_id", "block_id", "seq", "minutes", "cents", "incidents"],
    ), {"entry_id": "varchar", "block_id": "varchar", "seq": "bigint", "minutes": "bigint",
        "cents": "bigint", "incidents": "bigint"})
    _register(con, "alloc_results", pd.DataFrame(
        [(r.entry_id, r.covered_minutes, r.value_cents, r.overage_minutes, r.overage_cents,
          r.unpriced, "|".join(r.block_ids)) for r in allocation.results],
        columns=["entry_id", "covered_minutes", "value_cents", "overage_minutes", "overage_cents",
                 "unpriced", "block_ids"],
    ), {"entry_id": "varchar", "covered_minutes": "bigint", "value_cents": "bigint",
        "overage_minutes": "bigint", "overage_cents": "bigint", "unpriced": "boolean",
        "block_ids": "varchar"})
    _model(con, "mart_balances", "marts/balances.sql")
    _model(con, "mart_pools", "marts/breaches.sql")
    _model(con, "mart_entries", "marts/entries.sql")
    _model(con, "mart_ledger", "marts/ledger.sql")


def run_audits(con: duckdb.DuckDBPyConnection) -> None:
    """Each audit is a query returning offending rows; any row fails the run."""
    for name in AUDITS:
        rows = con.execute(sql(f"audits/{name}.sql")).fetchmany(5)
        if rows:
            raise AuditFailure(f"audit {name} failed; first offending rows: {rows}")


def stage(con: duckdb.DuckDBPyConnection, inputs: Validated, as_of: date, tz: str) -> None:
    """Register the validated inputs as typed staging tables with epoch-second instants."""
    con.execute(sql("macros.sql"))
    cutoff = parse.day_start_epoch(pd.Timestamp(as_of + timedelta(days=1)), tz)
    con.execute(
        "create or replace temp table run_params as "
        "select ?::date as as_of, ?::bigint as charge_cutoff_epoch, ?::varchar as tz",
        [as_of, cutoff, tz],
    )
    c = inputs.customers
    _register(con, "stg_customers", pd.DataFrame({
        "customer_id": c["customer_id"], "name": c["name"], "aliases": c["aliases"],
        "currency": c["currency"], "rounding_increment_minutes": c["rounding_increment_minutes"],
        "rounding_mode": c["rounding_mode"], "minimum_entry_minutes": c["minimum_entry_minutes"],
        "requires_authorization": c["requires_authorization"],
        "invoice_cadence": c["invoice_cadence"],
        "tax_rate_percent": c["tax_rate_percent"].map(str),
    }), {"customer_id": "varchar", "name": "varchar", "aliases": "varchar", "currency": "varchar",
         "rounding_increment_minutes": "bigint", "rounding_mode": "varchar",
         "minimum_entry_minutes": "bigint", "requires_authorization": "boolean",
         "invoice_cadence": "varchar", "tax_rate_percent": "decimal(12,6)"})
    b = inputs.blocks
    _register(con, "stg_blocks", pd.DataFrame({
        "block_id": b["block_id"], "customer_id": b["customer_id"], "kind": b["kind"],
        "service": b["service"], "quantity_units": b["quantity_units"],
        "amount_paid_cents": b["amount_paid_cents"], "purchased_on": b["purchased_on"],
        "starts_on": b["starts_on"], "expires_on": b["expires_on"],
        "reorder_point_units": b["reorder_point_units"].map(lambda d: None if d is None or d != d else str(d)),
        "auto_invoice": b["auto_invoice"], "invoice_number": b["invoice_number"],
        "purchase_epoch": _day_start_epochs(b["purchased_on"], tz, days_later=0),
        "expiry_epoch": _day_start_epochs(b["expires_on"], tz, days_later=1),
    }), {"block_id": "varchar", "customer_id": "varchar", "kind": "varchar", "service": "varchar",
         "quantity_units": "bigint", "amount_paid_cents": "bigint", "purchased_on": "date",
         "starts_on": "date", "expires_on": "date", "reorder_point_units": "decimal(38,12)",
         "auto_invoice": "boolean", "invoice_number": "varchar", "purchase_epoch": "bigint",
         "expiry_epoch": "bigint"})
    r = inputs.rates
    _register(con, "stg_rates", pd.DataFrame({
        "customer_id": r["customer_id"], "service": r["service"], "user": r["user"],
        "hourly_rate_cents": r["hourly_rate_cents"], "valid_from": r["valid_from"],
        "valid_to": r["valid_to"],
    }), {"customer_id": "varchar", "service": "varchar", "user": "varchar",
         "hourly_rate_cents": "bigint", "valid_from": "date", "valid_to": "date"})
    e = inputs.entries
    _register(con, "stg_entries", pd.DataFrame({
        "entry_id": e["entry_id"], "customer_id": e["customer_id"], "user": e["user"],
        "service": e["service"], "work_date": parse.local_date(e["started_at"], tz),
        "started_epoch": _epoch(e["started_at"]), "duration_seconds": e["duration_seconds"],
        "billable": e["billable"], "billed_elsewhere": e["billed_elsewhere"],
        "incident_id": e["incident_id"], "authorized_epoch": _epoch(e["authorized_at"]),
        "description": e["description"], "project": e["project"], "task": e["task"],
        "source_file": e["source_file"], "line": e["line"],
    }), {"entry_id": "varchar", "customer_id": "varchar", "user": "varchar", "service": "varchar",
         "work_date": "date", "started_epoch": "bigint", "duration_seconds": "bigint",
         "billable": "boolean", "billed_elsewhere": "boolean", "incident_id": "varchar",
         "authorized_epoch": "bigint", "description": "varchar", "project": "varchar",
         "task": "varchar", "source_file": "varchar", "line": "bigint"})


def _day_start_epochs(days: pd.Series, tz: str, days_later: int) -> pd.Series:
    """Epoch seconds of local midnight `days_later` days after each date (NA stays NA)."""
    shift = pd.Timedelta(days=days_later)
    values = [None if pd.isna(d) else parse.day_start_epoch(d + shift, tz) for d in days]
    return pd.Series(values, index=days.index, dtype="Int64")


def _epoch(instants: pd.Series) -> pd.Series:
    return (instants.astype("datetime64[s, UTC]") - pd.Timestamp(0, tz="UTC")).dt.total_seconds().astype("Int64")


def _register(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
    frame = frame.reset_index(drop=True)
    for column in frame.columns:
        if types[column] == "varchar":
            frame[column] = frame[column].astype("object").where(frame[column].notna(), None)
    view = f"_frame_{name}"
    con.register(view, frame)
    casts = ", ".join(f'"{c}"::{t} as "{c}"' for c, t in types.items())
    con.execute(f"create or replace temp table {name} as select {casts} from {view}")
    con.unregister(view)


def _model(con: duckdb.DuckDBPyConnection, name: str, path: str) -> None:
    con.execute(f"create or replace temp table {name} as {sql(path)}")


def _postings(con: duckdb.DuckDBPyConnection) -> list[Posting]:
    rows = con.execute("""
        select customer_id, entry_id, service, (work_date - date '1970-01-01')::bigint,
               posting_epoch, billable_minutes, incident_id, hourly_rate_cents, started_epoch
        from int_entries
        where status = 'charged'
        order by customer_id, posting_epoch, started_epoch, entry_id
    """).fetchall()
    return [Posting(*row) for row in rows]


def _blocks(con: duckdb.DuckDBPyConnection) -> list[Block]:
    rows = con.execute("""
        select customer_id, block_id, kind, service, (starts_on - date '1970-01-01')::bigint,
               (expires_on - date '1970-01-01')::bigint, expiry_epoch, quantity_units,
               (purchased_on - date '1970-01-01')::bigint
        from int_blocks
        order by customer_id, precedence
    """).fetchall()
    return [Block(*row) for row in rows]
