"""Read-only analysis of the warehouse: pandas DataFrames over the last run's results.

Open the warehouse with `transforms.warehouse.open_warehouse()` and pass the connection to
the helpers below; none of them writes. They read what the last committed run (`prepaid
nightly`, or `prepaid close`, which runs the same steps) left behind (tables `last_balances`,
`last_entries`, `last_ledger`, `last_pools`, whose quantities are integers: minutes, cents,
counts) and convert only at the edge:

- money is `Decimal` with 2 places (cents / 100, exact; never float), in the customer's
  currency, given in a `currency` column;
- minutes and incidents are `int`; a quantity in a block's unit (`purchased`, `remaining`, …)
  is an `int` or a `Decimal` as the row's `unit` says (`minutes`, `incidents`, `money`);
- dates are `datetime.date`, instants are Timestamps in the run's business time zone.

"As of" is always the last run's as-of date (`last_run(con).as_of`). The warehouse keeps that
run's results only; a run as of another date can give other balances (blocks not yet known,
entries not yet authorized, later corrections), so it is not reconstructed here: run
`prepaid nightly --as-of DATE` into a copy of the warehouse for that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from math import ceil

import duckdb
import pandas as pd

from transforms.units import cents_to_decimal, round_half_up
from transforms.validate.parse import day_start_epoch

UNIT_OF_KIND = {"hours": "minutes", "unlimited": "minutes", "value": "money", "incidents": "incidents"}


@dataclass(frozen=True)
class LastRun:
    """The committed run (nightly or close) whose results the warehouse holds."""

    run_id: int
    as_of: date
    tz: str
    ended_at: datetime


# Commands whose committed runs leave their results in the last_* tables (a close is the
# nightly steps as of the period's last day); `ingest` and `reopen` do not.
RESULT_COMMANDS = ("nightly", "close")


def last_run(con: duckdb.DuckDBPyConnection) -> LastRun:
    """The last committed run whose results the warehouse holds; LookupError when none yet."""
    row = con.execute(
        "select run_id, as_of, tz, ended_at from runs "
        "where command in (select unnest(?::varchar[])) and outcome = 'committed' "
        "order by run_id desc limit 1", [list(RESULT_COMMANDS)]
    ).fetchone()
    if row is None:
        raise LookupError("the warehouse holds no run results yet: run `prepaid nightly` first")
    return LastRun(*row)


def balances(con: duckdb.DuckDBPyConnection, customer_id: str | None = None,
             as_of: date | None = None) -> pd.DataFrame:
    """One row per known block as of the last run, sorted by (customer_id, block_id).

    `as_of`, when given, must be the last run's as-of date (a guard for notebooks that assume
    a date); any other date raises ValueError. Unlimited blocks: purchased, expired and
    remaining are None, used is the minutes covered.
    """
    run = last_run(con)
    if as_of is not None and as_of != run.as_of:
        raise ValueError(
            f"the warehouse holds balances as of {run.as_of} (run {run.run_id}) only; for "
            f"{as_of} run `prepaid nightly --as-of {as_of}` into a copy of the warehouse")
    currency = _currencies(con, run)
    rows = _records(con, """
        select customer_id, block_id, kind, service, purchased_units, used_units, expired_units,
               remaining_units, starts_on, expires_on, purchased_on, status, amount_paid_cents,
               breakage_cents
        from last_balances
        where ?::varchar is null or customer_id = ?
        order by customer_id, block_id
    """, [customer_id, customer_id])
    return _frame([{
        "customer_id": r["customer_id"], "block_id": r["block_id"], "kind": r["kind"],
        "service": r["service"], "unit": UNIT_OF_KIND[r["kind"]],
        "purchased": _in_unit(r["kind"], r["purchased_units"]),
        "used": _in_unit(r["kind"], r["used_units"]),
        "expired": _in_unit(r["kind"], r["expired_units"]),
        "remaining": _in_unit(r["kind"], r["remaining_units"]),
        "starts_on": r["starts_on"], "expires_on": r["expires_on"],
        "purchased_on": r["purchased_on"], "status": r["status"],
        "currency": currency.get(r["customer_id"]),
        "amount_paid": cents_to_decimal(r["amount_paid_cents"]), "breakage": cents_to_decimal(r["breakage_cents"]),
    } for r in rows], BALANCE_COLUMNS)


BALANCE_COLUMNS = ["customer_id", "block_id", "kind", "service", "unit", "purchased", "used",
                   "expired", "remaining", "starts_on", "expires_on", "purchased_on", "status",
                   "currency", "amount_paid", "breakage"]


def prepaid_log(con: duckdb.DuckDBPyConnection, customer_id: str | None = None) -> pd.DataFrame:
    """The ledger of a customer (all customers when None) with each pool's running remaining.

    One row per purchase, deduction (entry × block) and expiry, in ledger.csv order
    (customer_id, at, event, entry_id, block_id). `minutes`, `amount`, `incidents` are the
    signed movements of ledger.csv; `remaining` is the pool's (customer, kind, service)
    remaining after the row, in the pool's unit (None for unlimited blocks, which form no pool).
    """
    run = last_run(con)
    rows = _records(con, """
        select l.customer_id, l.at_epoch, l.event, l.block_id, b.kind, b.service, l.entry_id,
               e.work_date, e."user", e.description, l.minutes, l.cents, l.incidents
        from last_ledger l
        join last_balances b on b.block_id = l.block_id
        left join last_entries e on e.entry_id = l.entry_id
        where ?::varchar is null or l.customer_id = ?
        order by l.customer_id, l.at_epoch, l.event, l.entry_id nulls first, l.block_id
    """, [customer_id, customer_id])
    running: dict[tuple, int] = {}
    out = []
    for r in rows:
        kind = r["kind"]
        remaining = None
        if kind != "unlimited":
            pool = (r["customer_id"], kind, r["service"])
            change = {"hours": r["minutes"], "value": r["cents"], "incidents": r["incidents"]}[kind]
            running[pool] = running.get(pool, 0) + (change or 0)
            remaining = _in_unit(kind, running[pool])
        out.append({
            "customer_id": r["customer_id"], "at": r["at_epoch"], "event": r["event"],
            "block_id": r["block_id"], "kind": kind, "service": r["service"],
            "unit": UNIT_OF_KIND[kind], "entry_id": r["entry_id"], "work_date": r["work_date"],
            "user": r["user"], "description": r["description"], "minutes": r["minutes"],
            "amount": cents_to_decimal(r["cents"]), "incidents": r["incidents"], "remaining": remaining,
        })
    frame = _frame(out, LOG_COLUMNS, nullable_ints=("minutes", "incidents"))
    frame["at"] = pd.to_datetime(frame["at"].astype("int64"), unit="s", utc=True).dt.tz_convert(run.tz)
    return frame


LOG_COLUMNS = ["customer_id", "at", "event", "block_id", "kind", "service", "unit", "entry_id",
               "work_date", "user", "description", "minutes", "amount", "incidents", "remaining"]


def burn_rates(con: duckdb.DuckDBPyConnection, weeks: int = 8) -> pd.DataFrame:
    """Per pool: remaining, average burn per week over the last `weeks` weeks, run-out date.

    The window is the `weeks` × 7 local days ending on the last run's as-of date; `burned` is
    the sum of the pool's ledger deductions posted in it (minutes for hours pools, money for
    value pools, incidents for incidents pools), averaged over the whole window:
    `burn_per_week` = burned / weeks, half up to 2 places (display only; the projection uses
    the exact ratio). `run_out_on`: see project_run_out. `next_expiry_on` is the earliest
    expiry of a pool block that is not expired: the balance may expire before it runs out.
    Sorted by (customer_id, kind, service).
    """
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    run = last_run(con)
    currency = _currencies(con, run)
    window_start = day_start_epoch(pd.Timestamp(run.as_of - timedelta(days=7 * weeks - 1)), run.tz)
    window_end = day_start_epoch(pd.Timestamp(run.as_of + timedelta(days=1)), run.tz)
    rows = _records(con, """
        with pool_blocks as (
            select p.customer_id, p.kind, p.service, b.block_id, b.is_expired, b.expires_on
            from last_pools p
            join last_balances b on b.customer_id = p.customer_id and b.kind = p.kind
             and b.service is not distinct from p.service
        ),
        burned as (
            select b.customer_id, b.kind, b.service,
                   sum(case b.kind when 'hours' then -l.minutes when 'value' then -l.cents
                                   else -l.incidents end) as burned_units
            from pool_blocks b
            join last_ledger l on l.block_id = b.block_id
            where l.event = 'deduction' and l.at_epoch >= ? and l.at_epoch < ?
            group by all
        ),
        expiry as (
            select customer_id, kind, service, min(expires_on) as next_expiry_on
            from pool_blocks where not is_expired
            group by all
        )
        select p.customer_id, p.kind, p.service, p.remaining_units,
               coalesce(u.burned_units, 0) as burned_units, x.next_expiry_on
        from last_pools p
        left join burned u on u.customer_id = p.customer_id and u.kind = p.kind
             and u.service is not distinct from p.service
        left join expiry x on x.customer_id = p.customer_id and x.kind = p.kind
             and x.service is not distinct from p.service
        order by p.customer_id, p.kind, p.service nulls first
    """, [window_start, window_end])
    out = []
    for r in rows:
        kind, burned = r["kind"], int(r["burned_units"])
        scale = 100 if kind == "value" else 1
        out.append({
            "customer_id": r["customer_id"], "kind": kind, "service": r["service"],
            "unit": UNIT_OF_KIND[kind],
            "currency": currency.get(r["customer_id"]) if kind == "value" else None,
            "remaining": _in_unit(kind, r["remaining_units"]),
            "burned": _in_unit(kind, burned),
            "burn_per_week": _round_half_up(Fraction(burned, weeks * scale)),
            "run_out_on": project_run_out(r["remaining_units"], burned, weeks, run.as_of),
            "next_expiry_on": r["next_expiry_on"],
        })
    return _frame(out, BURN_COLUMNS)


BURN_COLUMNS = ["customer_id", "kind", "service", "unit", "currency", "remaining", "burned",
                "burn_per_week", "run_out_on", "next_expiry_on"]


def project_run_out(remaining: int | Decimal, burned: int | Decimal, weeks: int,
                    as_of: date) -> date | None:
    """The day a balance runs out if it keeps burning `burned` per `weeks` weeks.

    That is the first day as_of + k (k whole days) with remaining − k × burned / (7 × weeks)
    ≤ 0, computed exactly; as_of itself when nothing remains. None when nothing was burned
    (no projection), or when the day would fall after the calendar's end (year 9999).
    """
    if burned <= 0:
        return None
    if remaining <= 0:
        return as_of
    days = ceil(Fraction(remaining) * 7 * weeks / Fraction(burned))
    try:
        return as_of + timedelta(days=days)
    except OverflowError:
        return None


def expiring_blocks(con: duckdb.DuckDBPyConnection, days: int = 90) -> pd.DataFrame:
    """Blocks with something left that expire within `days` days after the last run's as-of
    date (as_of < expires_on ≤ as_of + days), with the money that expires if nothing more is
    used: `expiring_amount` = round_half_up(remaining × amount_paid / purchased, 2) (the
    breakage of SPEC §5). Unlimited blocks forfeit no quantity and are not listed.
    Sorted by (expires_on, customer_id, block_id).
    """
    run = last_run(con)
    currency = _currencies(con, run)
    rows = _records(con, """
        select customer_id, block_id, kind, service, status, starts_on, expires_on,
               purchased_units, remaining_units, amount_paid_cents
        from last_balances
        where kind <> 'unlimited' and not is_expired and expires_on <= ? and remaining_units > 0
        order by expires_on, customer_id, block_id
    """, [run.as_of + timedelta(days=days)])
    out = []
    for r in rows:
        kind, quantity, left = r["kind"], int(r["purchased_units"]), int(r["remaining_units"])
        breakage_cents = (2 * left * int(r["amount_paid_cents"]) + quantity) // (2 * quantity)
        out.append({
            "customer_id": r["customer_id"], "block_id": r["block_id"], "kind": kind,
            "service": r["service"], "unit": UNIT_OF_KIND[kind], "status": r["status"],
            "starts_on": r["starts_on"], "expires_on": r["expires_on"],
            "days_left": (r["expires_on"] - run.as_of).days,
            "purchased": _in_unit(kind, quantity), "remaining": _in_unit(kind, left),
            "currency": currency.get(r["customer_id"]),
            "amount_paid": cents_to_decimal(r["amount_paid_cents"]),
            "expiring_amount": cents_to_decimal(breakage_cents),
        })
    return _frame(out, EXPIRING_COLUMNS, ints=("days_left",))


EXPIRING_COLUMNS = ["customer_id", "block_id", "kind", "service", "unit", "status", "starts_on",
                    "expires_on", "days_left", "purchased", "remaining", "currency",
                    "amount_paid", "expiring_amount"]


def pending_by_user(con: duckdb.DuckDBPyConnection, customer_id: str | None = None) -> pd.DataFrame:
    """Billable time waiting for authorization (status `pending`), one row per user:
    entries, billable_minutes, customers (distinct), oldest_work_date. Sorted by user."""
    last_run(con)
    rows = _records(con, """
        select "user", count(*) as entries, sum(billable_minutes) as billable_minutes,
               count(distinct customer_id) as customers, min(work_date) as oldest_work_date
        from last_entries
        where status = 'pending' and (?::varchar is null or customer_id = ?)
        group by "user"
        order by "user"
    """, [customer_id, customer_id])
    return _frame(rows, PENDING_COLUMNS, ints=("entries", "billable_minutes", "customers"))


PENDING_COLUMNS = ["user", "entries", "billable_minutes", "customers", "oldest_work_date"]


def overage_by_month(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Overage of charged entries per (month, customer_id), by posting month (local month of
    the effective authorized_at, as monthly invoices count it): entries, overage_minutes,
    overage_amount (priced entries), unpriced_entries (overage with no rate yet: minutes
    counted, no amount), currency. Entries without overage are left out. `month` is
    'YYYY-MM'. Sorted by (month, customer_id).
    """
    run = last_run(con)
    currency = _currencies(con, run)
    rows = _records(con, """
        select strftime(timezone(?, to_timestamp(posting_epoch)), '%Y-%m') as month,
               customer_id, count(*) as entries, sum(overage_minutes) as overage_minutes,
               coalesce(sum(overage_cents), 0) as overage_cents,
               count(*) filter (where unpriced) as unpriced_entries
        from last_entries
        where status = 'charged' and (overage_minutes > 0 or overage_cents > 0 or unpriced)
        group by all
        order by month, customer_id
    """, [run.tz])
    out = [{
        "month": r["month"], "customer_id": r["customer_id"], "entries": r["entries"],
        "overage_minutes": r["overage_minutes"], "overage_amount": cents_to_decimal(r["overage_cents"]),
        "unpriced_entries": r["unpriced_entries"], "currency": currency.get(r["customer_id"]),
    } for r in rows]
    return _frame(out, OVERAGE_COLUMNS, ints=("entries", "overage_minutes", "unpriced_entries"))


OVERAGE_COLUMNS = ["month", "customer_id", "entries", "overage_minutes", "overage_amount",
                   "unpriced_entries", "currency"]


# -- helpers -------------------------------------------------------------------------------

def _records(con: duckdb.DuckDBPyConnection, query: str, params: list) -> list[dict]:
    """Rows as dicts of Python values (HUGEINT → int, DECIMAL → Decimal, DATE → date)."""
    cursor = con.execute(query, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _frame(rows: list[dict], columns: list[str], ints: tuple[str, ...] = (),
           nullable_ints: tuple[str, ...] = ()) -> pd.DataFrame:
    """A DataFrame that keeps Python values as they are (object columns: str, date, Decimal,
    None), except `ints` (int64) and `nullable_ints` (Int64). pandas' own inference would
    turn an integer column with a missing value into floats."""
    frame = pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in columns})
    for column in ints:
        frame[column] = frame[column].astype("int64")
    for column in nullable_ints:
        frame[column] = frame[column].astype("Int64")
    return frame


def _in_unit(kind: str, units: int | Decimal | None) -> int | Decimal | None:
    """A quantity in integer units (minutes, cents, counts) in the block's unit."""
    if units is None:
        return None
    return cents_to_decimal(units) if kind == "value" else int(units)


def _round_half_up(value: Fraction) -> Decimal:
    """To two places, half up."""
    return cents_to_decimal(round_half_up(value * 100))


def _currencies(con: duckdb.DuckDBPyConnection, run: LastRun) -> dict[str, str]:
    """Currency of each customer as the given run saw it: the customers file version in force
    then (the latest accepted one ingested up to that run); a repeated id keeps its first row."""
    rows = con.execute("""
        select customer_id, upper(currency)
        from raw_customers
        where file_id in (select max(file_id) from files
                          where kind = 'customers' and not rejected and run_id <= ?
                          group by source_file)
          and customer_id is not null
        qualify row_number() over (partition by customer_id order by file_id, line) = 1
    """, [run.run_id]).fetchall()
    return dict(rows)
