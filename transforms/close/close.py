"""Month-end close (SPEC §7): reconcile a period, freeze it, lock it; reopen it explicitly.

How the figures are made. At each close the run reconciles as of the period's last day and
takes, per (customer, kind, service) pool, the *cumulative* purchased, used, expired and
breakage over every known block, and the closing (the balances.csv `remaining` sum). They are
stored, frozen, in `close_pools`. The period's movements are cumulative now minus cumulative
frozen at the previous close, and its opening is that close's frozen closing, so
`opening + purchased - used - expired = closing` holds by construction, and anything that
changes an earlier period after its close (a late authorization, a backdated purchase, an
edited entry) lands in the movements of the period being closed. The very first close has no
frozen predecessor: it starts from a reconciliation as of the day before the period.

Rules (docs/orchestration.md):
- Periods close in order, after they have ended; a closed period is locked: no run may be as
  of a date in it or before it.
- A close refuses while entries dated in the period are pending (billable, never
  authorized), unless forced; nothing changes then.
- Closing a period that is already closed changes nothing and reports the frozen close.
- Only the last closed period can be reopened; the reopen is recorded, the frozen figures stay
  (history), and closing the period again freezes a new version. Billing corrections after a
  reopen are made by documents (credit notes, invoices), never by editing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from transforms.reports.xlsx import padded
from transforms.run.errors import Refused  # noqa: F401  (re-exported: close.Refused)
from transforms.units import parse_period  # noqa: F401  (re-exported: close.parse_period)
from transforms.units import cents_to_decimal, in_unit, next_period, period_end, period_start, previous_period
from transforms.warehouse import sql

PENDING_SHOWN = 5
RECONCILIATION_COLUMNS = ["customer_id", "kind", "service", "opening", "purchased", "used",
                          "expired", "closing", "deferred_revenue", "breakage"]
FIGURES = ("opening", "purchased", "used", "expired", "closing")


class AlreadyClosed(Exception):
    """The period is closed already: its figures are frozen, there is nothing to do."""

    def __init__(self, period: str, run_id: int, at: datetime, out: str | None) -> None:
        super().__init__(f"period {period} is already closed (run {run_id}, "
                         f"{at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC); its figures are frozen")
        self.period, self.run_id, self.at, self.out = period, run_id, at, out


# --- state of the books -------------------------------------------------------------------

def closed_periods(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Closed periods and the run that froze each (a period's latest event is a close)."""
    rows = con.execute("""
        select period, run_id, event from period_events
        qualify row_number() over (partition by period order by run_id desc) = 1
    """).fetchall()
    return {period: run_id for period, run_id, event in rows if event == "close"}


def last_closed(con: duckdb.DuckDBPyConnection) -> str | None:
    return max(closed_periods(con), default=None)


def check_open(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """A run as of a date in (or before) a closed period would change closed books: refuse."""
    last = last_closed(con)
    if last is not None and as_of <= period_end(last):
        raise Refused(f"{as_of} is in a closed period (closed through {last}): run as of a date "
                      f"after {period_end(last)}, or `prepaid reopen --period {last}` first")


def check_closable(con: duckdb.DuckDBPyConnection, period: str, today: date) -> None:
    """Periods close in order and only once they have ended; raises AlreadyClosed or Refused."""
    closed = closed_periods(con)
    if period in closed:
        at, out = con.execute("select event_at, out from period_events where run_id = ?",
                              [closed[period]]).fetchone()
        raise AlreadyClosed(period, closed[period], at, out)
    last = max(closed, default=None)
    if last is not None and period < last:
        raise Refused(f"period {period} is before the last closed period {last}: periods close in order")
    if last is not None and period != next_period(last):
        raise Refused(f"close {next_period(last)} first: periods close in order (last closed: {last})")
    if period_end(period) >= today:
        raise Refused(f"period {period} has not ended yet (its last day is {period_end(period)})")


def check_reopenable(con: duckdb.DuckDBPyConnection, period: str) -> int:
    """Only the last closed period can be reopened; returns the run that closed it."""
    closed = closed_periods(con)
    if period not in closed:
        raise Refused(f"period {period} is not closed")
    last = max(closed)
    if period != last:
        raise Refused(f"only the last closed period can be reopened: reopen {last} first")
    return closed[period]


# --- the close steps (inside the run's transaction) ---------------------------------------

def set_params(con: duckdb.DuckDBPyConnection, run_id: int, period: str, tz: str) -> None:
    """close_params: the period, its bounds, and the previous close it starts from."""
    previous = closed_periods(con).get(previous_period(period))
    closed_through = period_end(previous_period(period)) if previous is not None else None
    con.execute(
        "create or replace temp table close_params as select ?::bigint as run_id, "
        "?::varchar as period, ?::date as period_start, ?::date as period_end, "
        "?::bigint as previous_close_run_id, ?::date as closed_through, ?::varchar as tz",
        [run_id, period, period_start(period), period_end(period), previous, closed_through, tz])


def prepare_baseline(con: duckdb.DuckDBPyConnection, run_id: int, period: str, tz: str) -> None:
    """close_baseline: per pool, the closing and cumulative figures the period starts from.

    The previous period's frozen close; for the very first close, a reconciliation as of the
    day before the period (nothing is frozen yet).
    """
    from transforms.reconcile.reconcile import reconcile_staged

    set_params(con, run_id, period, tz)
    previous = con.execute("select previous_close_run_id from close_params").fetchone()[0]
    if previous is None:
        day_before = period_start(period) - timedelta(days=1)
        reconcile_staged(con, day_before, tz)
        con.execute(f"create or replace temp table close_baseline as "
                    f"select * exclude (deferred_revenue_cents) from ({sql('close/pool_cumulative.sql')})",
                    {"as_of": day_before})
    else:
        con.execute("""
            create or replace temp table close_baseline as
            select customer_id, kind, service, currency, cum_purchased_units, cum_used_units,
                   cum_expired_units, closing_units, cum_breakage_cents
            from close_pools where run_id = ?
        """, [previous])


def check_pending(con: duckdb.DuckDBPyConnection, period: str, force: bool) -> list[str]:
    """Pending entries dated in the period; refuses the close unless forced. Returns their ids."""
    pending = [r[0] for r in con.execute(sql("close/pending.sql")).fetchall()]
    if pending and not force:
        shown = ", ".join(pending[:PENDING_SHOWN]) + (", ..." if len(pending) > PENDING_SHOWN else "")
        raise Refused(f"close of {period} refused: {len(pending)} pending (billable, unauthorized) "
                      f"entr{'y' if len(pending) == 1 else 'ies'} dated in the period ({shown}); "
                      f"authorize {'it' if len(pending) == 1 else 'them'} or close with --force")
    return pending


@dataclass(frozen=True)
class Cumulative:
    """One pool as of a day: cumulative movements (block units), closing, money in cents."""

    purchased: int | None
    used: int
    expired: int | None
    closing: int | None
    breakage_cents: int
    deferred_revenue_cents: int = 0
    currency: str | None = None


@dataclass(frozen=True)
class PoolRow:
    """One reconciliation row: a pool's period, block units (None: not reported)."""

    customer_id: str
    kind: str
    service: str | None
    currency: str | None
    opening: int | None
    purchased: int | None
    used: int
    expired: int | None
    closing: int | None
    deferred_revenue_cents: int
    breakage_cents: int | None
    now: Cumulative

    def sort_key(self) -> tuple:
        return (self.customer_id, self.kind, self.service is not None, self.service or "")


PoolKey = tuple[str, str, str | None]


def reconcile_pools(now: dict[PoolKey, Cumulative], before: dict[PoolKey, Cumulative]) -> list[PoolRow]:
    """The period of every pool: opening = closing before, movements = cumulative now - before.

    Pure. A pool known only before (its blocks are gone) reconciles to zero. Unlimited pools
    report used minutes and deferred revenue only.
    """
    zero = Cumulative(0, 0, 0, 0, 0)
    rows = []
    for key in sorted(set(now) | set(before), key=lambda k: (k[0], k[1], k[2] is not None, k[2] or "")):
        customer_id, kind, service = key
        cur, prev = now.get(key, zero), before.get(key, zero)
        used = cur.used - prev.used
        if kind == "unlimited":
            row = PoolRow(customer_id, kind, service, cur.currency or prev.currency, None, None, used,
                          None, None, cur.deferred_revenue_cents, None, cur)
        else:
            row = PoolRow(customer_id, kind, service, cur.currency or prev.currency,
                          prev.closing or 0, (cur.purchased or 0) - (prev.purchased or 0), used,
                          (cur.expired or 0) - (prev.expired or 0), cur.closing or 0,
                          cur.deferred_revenue_cents, cur.breakage_cents - prev.breakage_cents, cur)
            assert row.opening + row.purchased - row.used - row.expired == row.closing, row
        rows.append(row)
    return rows


def _cumulatives(con: duckdb.DuckDBPyConnection, query: str, params: dict | None = None
                 ) -> dict[PoolKey, Cumulative]:
    cur = con.execute(query, params or {})
    names = [d[0] for d in cur.description]
    out = {}
    for values in cur.fetchall():
        r = dict(zip(names, values))
        out[(r["customer_id"], r["kind"], r["service"])] = Cumulative(
            r["cum_purchased_units"], r["cum_used_units"] or 0, r["cum_expired_units"],
            r["closing_units"], r["cum_breakage_cents"] or 0, r.get("deferred_revenue_cents") or 0,
            r["currency"])
    return out


@dataclass
class CloseSummary:
    period: str
    pools: int
    late_adjustments: int
    pending: list[str]
    forced: bool
    deferred_revenue_cents: dict[str, int]   # per currency
    breakage_cents: dict[str, int]           # per currency


def close_period(con: duckdb.DuckDBPyConnection, run_id: int, period: str, out: Path,
                 forced: bool, pending: list[str]) -> CloseSummary:
    """Freeze the period's reconciliation and late adjustments, and lock the period."""
    now = _cumulatives(con, sql("close/pool_cumulative.sql"), {"as_of": period_end(period)})
    before = _cumulatives(con, "select * from close_baseline")
    rows = reconcile_pools(now, before)
    con.executemany(   # DuckDB refuses an empty list: a close with no pools inserts nothing
        "insert into close_pools values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[run_id, period, r.customer_id, r.kind, r.service, r.currency, r.opening, r.purchased,
          r.used, r.expired, r.closing, r.deferred_revenue_cents, r.breakage_cents,
          r.now.purchased, r.now.used, r.now.expired, r.now.breakage_cents] for r in rows]) if rows else None
    con.execute("""
        insert into close_late_adjustments
        select p.run_id, p.period, l.entry_id, l.customer_id, l.work_date, l.posted_on, l.reason,
               l.covered_minutes, l.value_cents, l.overage_minutes, l.overage_cents
        from (""" + sql("close/late_adjustments.sql") + """) l cross join close_params p""")
    con.execute("""
        insert into close_entries
        select p.run_id, e.entry_id, e.customer_id, e.work_date, e.posting_epoch,
               e.billable_minutes, e.covered_minutes, e.value_cents, e.overage_minutes, e.overage_cents
        from mart_entries e cross join close_params p
        where e.status = 'charged' and e.work_date <= p.period_end""")
    con.execute("insert into period_events values (?, ?, 'close', ?, ?, ?, ?, null, ?)",
                [run_id, period, datetime.now(timezone.utc), period_end(period), forced,
                 len(pending), str(out)])
    late = con.execute("select count(*) from close_late_adjustments where run_id = ?", [run_id]).fetchone()[0]
    deferred: dict[str, int] = {}
    breakage: dict[str, int] = {}
    for r in rows:
        deferred[r.currency or ""] = deferred.get(r.currency or "", 0) + r.deferred_revenue_cents
        breakage[r.currency or ""] = breakage.get(r.currency or "", 0) + (r.breakage_cents or 0)
    return CloseSummary(period, len(rows), late, pending, forced, deferred, breakage)


def reopen(con: duckdb.DuckDBPyConnection, run_id: int, period: str, reason: str | None) -> int:
    """Record the reopening of the last closed period; returns the run that had closed it."""
    closed_by = check_reopenable(con, period)
    con.execute("insert into period_events values (?, ?, 'reopen', ?, null, null, null, ?, null)",
                [run_id, period, datetime.now(timezone.utc), reason])
    return closed_by


# --- outputs ------------------------------------------------------------------------------

def write_close_outputs(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """reconciliation.csv, late_adjustments.csv and reconciliation.xlsx of this close."""
    from transforms.run.outputs import write_csv

    write_csv(con, sql("close/reconciliation.sql"), target / "reconciliation.csv")
    write_csv(con, sql("close/late_adjustments_out.sql"), target / "late_adjustments.csv")
    write_workbook(con, target / "reconciliation.xlsx")


#: the reconciliation workbook's quantity columns are in the row's Unit: hours for hours and
#: unlimited pools (minutes / 60), the currency for value pools, a count for incidents; each
#: keeps a digit's width free on its right so a number never touches the next cell's text
HOURS, MONEY, COUNT, DAY = (padded(f) for f in ("#,##0.00", "#,##0.00", "#,##0", "yyyy-mm-dd"))


def write_workbook(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """reconciliation.xlsx, for the accountant: one sheet per table with headers in words and
    units, hours pools in hours, customer names, totals per currency, the header frozen and
    printed on every page, landscape one page wide (transforms/reports/xlsx.py). Sheets:
    Reconciliation (the pools of the period, then totals per currency), Balances and Breaches
    (as of the period's last day), Late adjustments, and Close (what was closed, and how)."""
    from transforms.reports import xlsx
    from transforms.reports.reports import label, text_cell

    run_id, period = con.execute("select run_id, period from close_params").fetchone()
    event = con.execute("select event_at, forced, pending_entries from period_events where run_id = ?",
                        [run_id]).fetchone()
    names = dict(con.execute("select customer_id, name from stg_customers").fetchall())
    pools = con.execute("""
        select customer_id, kind, service, currency, opening_units, purchased_units, used_units,
               expired_units, closing_units, deferred_revenue_cents, breakage_cents
        from close_pools where run_id = ? order by customer_id, kind, service nulls first""", [run_id]).fetchall()
    balances = con.execute("""
        select b.customer_id, b.block_id, b.kind, b.service, b.purchased_units, b.used_units, b.expired_units,
               b.remaining_units, b.starts_on, b.expires_on, b.status, b.amount_paid_cents, b.breakage_cents,
               c.currency
        from mart_balances b join stg_customers c using (customer_id)
        order by b.customer_id, b.block_id""").fetchall()
    breaches = con.execute("""
        select p.customer_id, p.kind, p.service, p.remaining_units, p.reorder_point_units,
               t.topup_invoice_number, c.currency
        from mart_pools p join stg_customers c using (customer_id)
        left join pool_topups t
          on t.customer_id = p.customer_id and t.kind = p.kind and t.service is not distinct from p.service
        where p.in_breach order by p.customer_id, p.kind, p.service nulls first""").fetchall()
    late = con.execute("""
        select l.customer_id, l.entry_id, l.work_date, l.posted_on, l.reason, l.covered_minutes, l.value_cents,
               l.overage_minutes, l.overage_cents, c.currency
        from close_late_adjustments l left join stg_customers c using (customer_id)
        where l.run_id = ? order by l.customer_id, l.entry_id""", [run_id]).fetchall()

    book = xlsx.Workbook(period_end(period), [HOURS, COUNT, DAY])
    number, count, day = book.style(HOURS), book.style(COUNT), book.style(DAY)

    def unit(kind: str, currency: str | None) -> str:
        return {"value": currency or "", "incidents": "incidents"}.get(kind, "hours")

    def customer(ws: xlsx.Sheet, customer_id: str) -> None:
        text_cell(ws, 0, customer_id)
        text_cell(ws, 1, names.get(customer_id))

    def pool(ws: xlsx.Sheet, col: int, kind: str, service: str | None, currency: str | None) -> None:
        ws.string(col, label(f"kind.{kind}"))
        text_cell(ws, col + 1, service or label("any_service"))
        ws.string(col + 2, unit(kind, currency))

    ws = book.sheet("Reconciliation", [
        "Customer ID", "Customer", "Kind", "Service", "Unit", "Opening", "Purchased", "Used", "Expired unused",
        "Closing", "Currency", "Deferred revenue", "Breakage (expired value)"],
        [14, 30, 14, 14, 10, 12, 12, 12, 16, 12, 11, 18, 24])
    totals: dict[str, list[int]] = {}
    for customer_id, kind, service, currency, *units, deferred, breakage in pools:
        ws.row()
        customer(ws, customer_id)
        pool(ws, 2, kind, service, currency)
        for col, value in enumerate(units, start=5):
            ws.number(col, in_unit(kind, value), count if kind == "incidents" else number)
        ws.string(10, currency or "")
        ws.number(11, cents_to_decimal(deferred), number)
        ws.number(12, cents_to_decimal(breakage), number)
        total = totals.setdefault(currency or "", [0, 0])
        total[0] += deferred or 0
        total[1] += breakage or 0
    ws.row(at=ws.last + 2)
    ws.string(0, "Totals per currency", xlsx.BOLD)
    for currency, (deferred, breakage) in sorted(totals.items()):
        ws.row()
        ws.string(1, f"Total {currency}", xlsx.BOLD)
        ws.string(10, currency)
        ws.number(11, cents_to_decimal(deferred), number)
        ws.number(12, cents_to_decimal(breakage), number)

    ws = book.sheet("Balances", [
        "Customer ID", "Customer", "Block", "Kind", "Service", "Unit", "Purchased", "Used", "Expired unused",
        "Remaining", "Starts on", "Last day of cover", "Status", "Currency", "Amount paid", "Breakage"],
        [14, 30, 12, 14, 14, 10, 12, 12, 16, 12, 12, 17, 15, 11, 13, 12])
    for (customer_id, block_id, kind, service, purchased, used, expired, remaining, starts_on, expires_on,
         status, paid, breakage, currency) in balances:
        ws.row()
        customer(ws, customer_id)
        text_cell(ws, 2, block_id)
        pool(ws, 3, kind, service, currency)
        for col, value in enumerate((purchased, used, expired, remaining), start=6):
            ws.number(col, in_unit(kind, value), count if kind == "incidents" else number)
        ws.number(10, starts_on, day)
        ws.number(11, expires_on, day)
        ws.string(12, label(f"status.{status}"))
        ws.string(13, currency)
        ws.number(14, cents_to_decimal(paid), number)
        ws.number(15, cents_to_decimal(breakage), number)

    ws = book.sheet("Breaches", [
        "Customer ID", "Customer", "Kind", "Service", "Unit", "Remaining", "Reorder point", "Top-up invoice"],
        [14, 30, 14, 14, 10, 12, 15, 17])
    for customer_id, kind, service, remaining, reorder_point, topup, currency in breaches:
        ws.row()
        customer(ws, customer_id)
        pool(ws, 2, kind, service, currency)
        style = count if kind == "incidents" else number
        ws.number(5, in_unit(kind, remaining), style)
        ws.number(6, in_unit(kind, reorder_point), style)
        if topup:
            ws.string(7, topup)

    ws = book.sheet("Late adjustments", [
        "Customer ID", "Customer", "Time entry", "Work date", "Posted on", "Reason", "Covered (hours)",
        "Currency", "Prepaid value used", "Overage (hours)", "Overage amount"],
        [14, 30, 13, 12, 12, 22, 16, 11, 19, 16, 16])
    for customer_id, entry_id, work_date, posted_on, reason, covered, value, overage, overage_cents, currency in late:
        ws.row()
        customer(ws, customer_id)
        text_cell(ws, 2, entry_id)
        ws.number(3, work_date, day)
        ws.number(4, posted_on, day)
        ws.string(5, reason)
        ws.number(6, in_unit("hours", covered), number)
        ws.string(7, currency or "")
        ws.number(8, cents_to_decimal(value), number)
        ws.number(9, in_unit("hours", overage), number)
        ws.number(10, cents_to_decimal(overage_cents), number)

    ws = book.sheet("Close", ["Item", "Value"], [30, 100])
    for item, value in (
            ("Period", period),
            ("Closed at (UTC)", event[0].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")),
            ("Run", str(run_id)),
            ("Forced over pending entries", "yes" if event[1] else "no"),
            ("Pending entries at close", str(event[2])),
            ("Rule", "Opening + Purchased - Used - Expired unused = Closing, for every pool"),
            ("Units", "each row in its Unit: hours pools (and unlimited) in hours, value pools in their "
                      "currency, incidents pools in counts"),
            ("Unlimited pools", "used hours and deferred revenue only"),
            ("Deferred revenue", "prepaid money not yet earned at the period's end"),
            ("Breakage (expired value)", "money of the prepaid quantity that expired unused in the period"),
            ("Balances, Breaches", f"as of {period_end(period)}, the period's last day")):
        ws.row()
        ws.string(0, item, xlsx.BOLD)
        ws.string(1, value)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(book.bytes())
    tmp.replace(path)
