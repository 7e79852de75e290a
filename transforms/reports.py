"""Per-customer prepaid logs (SPEC §6): reports/<customer>/prepaid-log.xlsx and .csv.

Sheets: Summary (one row per block), Log (purchases, deductions with entry detail and
expiries in order, with the pool's running remaining), Pending (pending and unpriced
entries), Chart data + a line chart of each pool's remaining over time. Hours are shown as
hours, money as numbers in the customer's currency format, dates as real dates. Text from
inputs is always stored as text, never as a formula.
"""

from __future__ import annotations

import csv
import hashlib
import io
import multiprocessing
import os
import re
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from itertools import groupby
from pathlib import Path

import duckdb
import pandas as pd
import xlsxwriter

from transforms.documents import CURRENCY_SYMBOLS, FORMULA_STARTS, spreadsheet_safe

PARALLEL_FROM = 200      # customers; below this, process start-up costs more than it saves
MAX_WORKERS = 8
CELL_LIMIT = 32_767      # characters (UTF-16 code units) an Excel cell holds
CUT_MARK = " … [cut at the 32,767 characters a spreadsheet cell holds; prepaid-log.csv has the full text]"
UNIT_OF_KIND = {"hours": "hours", "unlimited": "hours", "value": "money", "incidents": "incidents"}
LOG_CSV_COLUMNS = ["at", "event", "block_id", "pool", "entry_id", "work_date", "user", "service",
                   "description", "unit", "change", "pool_remaining"]


def safe_name(customer_id: str) -> str:
    """A file-system-safe folder name for a customer id that can never leave its parent.

    Ids made only of letters, digits, '-', '_' and '.' (and not dots alone) are kept; any other
    id gets its unsafe characters replaced and a short hash appended, so distinct ids never
    share a folder.
    """
    if re.fullmatch(r"[A-Za-z0-9_.-]+", customer_id) and customer_id.strip(".") and len(customer_id) <= 100:
        return customer_id
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", customer_id)[:60].strip("_") or "customer"
    return f"{cleaned}-{hashlib.sha256(customer_id.encode('utf-8')).hexdigest()[:10]}"


def customer_dir(target: Path, customer_id: str) -> Path:
    base = (target / "reports").resolve()
    folder = (base / safe_name(customer_id)).resolve()
    if folder.parent != base:
        raise ValueError(f"customer id {customer_id!r} would leave the reports folder")
    return folder


@dataclass(frozen=True)
class Formats:
    money: str
    hours: str = "#,##0.00"
    count: str = "0"
    date: str = "yyyy-mm-dd"
    instant: str = "yyyy-mm-dd hh:mm"


def money_format(currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ").strip()
    return f'"{symbol}" #,##0.00;-"{symbol}" #,##0.00'


def in_unit(kind: str, units: int | None) -> Decimal | int | None:
    """Quantities as shown to people: hours for hours/unlimited, money, incident counts."""
    if units is None:
        return None
    if kind in ("hours", "unlimited"):
        return Decimal(units) / 60
    if kind == "value":
        return Decimal(units) / 100
    return units


def write_reports(con: duckdb.DuckDBPyConnection, target: Path, as_of: date,
                  customer_ids: list[str] | None = None, use_cache: bool = True) -> int:
    """Write every customer's prepaid log (or only `customer_ids`); returns how many.

    With `use_cache`, logs whose rows did not change since they were last rendered come from
    the warehouse table `report_cache` (restamped with `as_of`), and new renders are stored
    there in the caller's transaction: a night that changes a few customers renders a few.
    Customers go in batches of BATCH_CUSTOMERS, so only one batch's rows are in memory; the
    next batch is read while the workers render the current one.
    """
    where = "" if customer_ids is None else "where customer_id in (select unnest(?::varchar[]))"
    customers = con.execute(f"select customer_id, name, currency from stg_customers {where} order by customer_id",
                            [] if customer_ids is None else [customer_ids]).fetchall()
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    # spawned processes only render files; they never touch the warehouse connection
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) \
        if len(customers) >= PARALLEL_FROM and workers >= 2 else None
    try:
        rendering = iter(())
        for start in range(0, len(customers), BATCH_CUSTOMERS):
            jobs = _jobs(con, target, as_of, customers[start:start + BATCH_CUSTOMERS], use_cache)
            _finish(con, rendering, use_cache)
            rendering = pool.map(_write_customer, jobs, chunksize=max(1, len(jobs) // (workers * 8))) \
                if pool else map(_write_customer, jobs)
        _finish(con, rendering, use_cache)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return len(customers)


BATCH_CUSTOMERS = 1000


def _jobs(con: duckdb.DuckDBPyConnection, target: Path, as_of: date, customers: list[tuple],
          use_cache: bool) -> list[tuple]:
    """One job per customer of a batch: its rows to render, or its cached log to restamp."""
    params = [[cid for cid, _, _ in customers]]
    batch = "customer_id in (select unnest(?::varchar[]))"
    blocks = _grouped(con, f"""
        select customer_id, block_id, kind, service, purchased_units, used_units, expired_units,
               remaining_units, starts_on, expires_on, status, amount_paid_cents, breakage_cents
        from mart_balances where {batch} order by customer_id, block_id""", params)
    events = _grouped(con, f"""
        select l.customer_id, l.at_epoch, l.event, l.block_id, b.kind, b.service as pool_service,
               l.entry_id, e.work_date, e."user", e.service, e.description,
               coalesce(l.minutes, l.cents, l.incidents) as change_units
        from mart_ledger l
        join mart_balances b using (block_id)
        left join mart_entries e using (entry_id)
        where l.{batch}
        order by l.customer_id, l.at_epoch,
                 case l.event when 'purchase' then 0 when 'deduction' then 1 else 2 end,
                 l.entry_id nulls first, l.block_id""", params)
    pending = _grouped(con, f"""
        select customer_id, entry_id, status, unpriced, work_date, "user", service, description,
               billable_minutes
        from mart_entries
        where {batch} and (status = 'pending' or unpriced)
        order by customer_id, entry_id""", params)
    contents = [(cid, name, currency, blocks.get(cid, []), events.get(cid, []), pending.get(cid, []))
                for cid, name, currency in customers]
    fingerprints = [hashlib.sha256(repr((RENDERER_VERSION, c)).encode()).hexdigest() for c in contents]
    cached = _cached_reports(con, [c[0] for c in contents], fingerprints) if use_cache else {}
    return [(customer_dir(target, content[0]), as_of, fingerprint,
             None if content[0] in cached else content, cached.get(content[0]))
            for content, fingerprint in zip(contents, fingerprints)]


def _finish(con: duckdb.DuckDBPyConnection, rendering, use_cache: bool) -> None:
    """Wait for a batch's logs to be written; keep the fresh renders for later runs."""
    rendered = [result for result in rendering if result is not None]
    if use_cache:
        _store_cache(con, rendered)


#: what a prepaid log's bytes depend on besides its rows: this module, the CSV cell rule and
#: XlsxWriter's version. A change to any of them renders every log afresh.
RENDERER_VERSION = hashlib.sha256(
    Path(__file__).read_bytes() + Path(__file__).with_name("documents.py").read_bytes()
    + xlsxwriter.__version__.encode()).hexdigest()


def _cached_reports(con: duckdb.DuckDBPyConnection, customer_ids: list[str],
                    fingerprints: list[str]) -> dict[str, tuple]:
    """(blocks, as_of, xlsx, csv) of the cached logs that are still current: only those whose
    fingerprint equals today's are read (stale ones would be rendered anyway)."""
    con.register("_wanted", pd.DataFrame({"customer_id": customer_ids, "fingerprint": fingerprints}))
    rows = con.execute("select customer_id, blocks, as_of, xlsx, csv from report_cache "
                       "join _wanted using (customer_id, fingerprint)").fetchall()
    con.unregister("_wanted")
    return {cid: (n, as_of, bytes(xlsx), bytes(csv_bytes)) for cid, n, as_of, xlsx, csv_bytes in rows}


def _store_cache(con: duckdb.DuckDBPyConnection, rendered: list[tuple]) -> None:
    """Keep freshly rendered logs for later runs, in the run's transaction."""
    if not rendered:
        return
    frame = pd.DataFrame(rendered, columns=["customer_id", "fingerprint", "blocks", "as_of", "xlsx", "csv"])
    con.register("_rendered", frame)
    con.execute("delete from report_cache where customer_id in (select customer_id from _rendered)")
    con.execute("insert into report_cache select customer_id, fingerprint, blocks, as_of::date, xlsx::blob, "
                "csv::blob from _rendered")
    con.unregister("_rendered")


def _write_customer(job: tuple) -> tuple | None:
    """Write one customer's prepaid log (XLSX and CSV). A log whose rows are unchanged since a
    previous run is taken from the cache and only restamped with this run's as-of date; a new
    one is rendered and returned for the cache as (customer_id, fingerprint, blocks, as_of,
    xlsx, csv)."""
    folder, as_of, fingerprint, content, reuse = job
    folder.mkdir(parents=True, exist_ok=True)
    if reuse is not None:
        n_blocks, rendered_as_of, rendered, log_csv = reuse
        xlsx = _stamp(rendered, rendered_as_of, as_of, n_blocks)
        result = None
    else:
        customer_id, name, currency, blocks, events, pending = content
        log = _log_rows(events)
        xlsx = _render_xlsx(customer_id, name, currency, as_of, blocks, log, pending)
        log_csv = _log_csv(log)
        result = (customer_id, fingerprint, len(blocks), as_of, xlsx, log_csv)
    _write_file(folder / "prepaid-log.xlsx", xlsx)
    _write_file(folder / "prepaid-log.csv", log_csv)
    return result


def _write_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _grouped(con: duckdb.DuckDBPyConnection, query: str, params) -> dict[str, list[dict]]:
    cur = con.execute(query, params)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    return {k: list(g) for k, g in groupby(rows, key=lambda r: r["customer_id"])}


def pool_label(kind: str, service: str | None) -> str:
    return f"{kind} · {service or 'any service'}"


def _log_rows(events: list[dict]) -> list[dict]:
    """Ledger events with the pool's running remaining after each (unlimited: covered so far)."""
    running: dict[tuple, int] = {}
    rows = []
    for ev in events:
        pool = (ev["kind"], ev["pool_service"]) if ev["kind"] != "unlimited" else ("unlimited", ev["block_id"])
        change = ev["change_units"]
        if ev["kind"] == "unlimited":
            change = None if change is None else -change   # covered minutes, shown positive
            running[pool] = running.get(pool, 0) + (change or 0)
        else:
            running[pool] = running.get(pool, 0) + (change or 0)
        rows.append({**ev, "pool": pool_label(ev["kind"], ev["pool_service"]),
                     "at": datetime.fromtimestamp(ev["at_epoch"], timezone.utc).replace(tzinfo=None),
                     "change": change, "pool_remaining": running[pool]})
    return rows


class _Exact(Decimal):
    """A number as the XLSX file stores it: every digit of the exact Decimal (or integer)
    value, never a float. XlsxWriter writes numbers with 16 significant digits, which can
    round a repeating fraction such as 88/60 hours to the neighbouring double; a reader that
    parses all the digits gets the double nearest the value."""

    def __format__(self, spec: str) -> str:
        return format(Decimal(self), "f")


class _Book:
    """An XLSX workbook written by XlsxWriter into memory, with its cell formats made once.

    XlsxWriter writes every zip entry with the fixed time 1980-01-01 (`in_memory`), and the
    document properties carry the as-of date: the same content gives the same bytes.
    Strings are never turned into formulas, numbers or links.
    """

    def __init__(self, as_of: date):
        self.buffer = io.BytesIO()
        self.workbook = xlsxwriter.Workbook(self.buffer, {
            "in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False})
        self.workbook.set_properties({"author": "Prepaid Reconciler",
                                      "created": datetime(as_of.year, as_of.month, as_of.day)})
        self._formats: dict[tuple, object] = {}

    def format(self, num_format: str | None = None, *, quote: bool = False, bold: bool = False,
               header: bool = False):
        key = (num_format, quote, bold, header)
        if key not in self._formats:
            props = {"num_format": num_format} if num_format else {}
            if quote:
                props["quote_prefix"] = True
            if bold or header:
                props["bold"] = True
            if header:
                props.update(font_color="#FFFFFF", bg_color="#1D2330", pattern=1)
            self._formats[key] = self.workbook.add_format(props)
        return self._formats[key]

    def sheet(self, title: str, headers: list[str], widths: list[int]):
        """A sheet with a bold header row, frozen; column widths; printed landscape, one page wide."""
        ws = self.workbook.add_worksheet(title)
        header = self.format(header=True)
        for col, (text, width) in enumerate(zip(headers, widths)):
            ws.write_string(0, col, text, header)
            ws.set_column(col, col, width)
        ws.freeze_panes(1, 0)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)
        return ws

    def text(self, ws, row: int, col: int, value: str | None) -> None:
        """Input text as a string cell that spreadsheet programs never evaluate. Text longer
        than a cell can hold is cut, visibly; the CSV log keeps all of it."""
        if value:
            if len(value) > CELL_LIMIT // 2 and len(value.encode("utf-16-le")) // 2 > CELL_LIMIT:
                keep = CELL_LIMIT - len(CUT_MARK)
                value = value.encode("utf-16-le")[:2 * keep].decode("utf-16-le", "ignore") + CUT_MARK
            ws.write_string(row, col, value, self.format(quote=True) if value.startswith(FORMULA_STARTS) else None)

    def number(self, ws, row: int, col: int, value, num_format: str) -> None:
        """A number, date or instant with its display format (an empty cell for None)."""
        if value is None:
            ws.write_blank(row, col, None, self.format(num_format))
        elif isinstance(value, date):
            ws.write_datetime(row, col, value, self.format(num_format))
        else:
            ws.write_number(row, col, _Exact(value), self.format(num_format))

    def bytes(self) -> bytes:
        self.workbook.close()
        return self.buffer.getvalue()


def _render_xlsx(customer_id: str, name: str, currency: str, as_of: date,
                 blocks: list[dict], log: list[dict], pending: list[dict]) -> bytes:
    fmt = Formats(money=money_format(currency))
    unit_format = {"hours": fmt.hours, "unlimited": fmt.hours, "value": fmt.money, "incidents": fmt.count}
    book = _Book(as_of)
    text, number = book.text, book.number

    ws = summary = book.sheet(
        "Summary", ["Block", "Kind", "Service", "Unit", "Purchased", "Used", "Expired", "Remaining",
                    "Starts on", "Expires on", "Status", "Amount paid", "Breakage"],
        [16, 11, 16, 10, 12, 12, 12, 12, 12, 12, 12, 14, 12])
    for r, b in enumerate(blocks, start=1):
        units = unit_format[b["kind"]]
        text(ws, r, 0, b["block_id"])
        ws.write_string(r, 1, b["kind"])
        text(ws, r, 2, b["service"] or "any")
        ws.write_string(r, 3, UNIT_OF_KIND[b["kind"]])
        for col, key in ((4, "purchased_units"), (5, "used_units"), (6, "expired_units"), (7, "remaining_units")):
            number(ws, r, col, in_unit(b["kind"], b[key]), units)
        number(ws, r, 8, b["starts_on"], fmt.date)
        number(ws, r, 9, b["expires_on"], fmt.date)
        ws.write_string(r, 10, b["status"])
        number(ws, r, 11, Decimal(b["amount_paid_cents"]) / 100, fmt.money)
        number(ws, r, 12, Decimal(b["breakage_cents"]) / 100, fmt.money)
    info = len(blocks) + 2          # after a blank row; rows are 0-based here, 1-based in Excel
    if info + 2 != _as_of_row(len(blocks)):  # _stamp finds the As-of cell by this row
        raise RuntimeError("Summary layout changed: update reports._as_of_row")
    bold = book.format(bold=True)
    ws.write_string(info, 0, "Customer", bold)
    text(ws, info, 1, f"{name} ({customer_id})")
    ws.write_string(info + 1, 0, "As of", bold)
    number(ws, info + 1, 1, as_of, fmt.date)
    ws.write_string(info + 2, 0, "Currency", bold)
    ws.write_string(info + 2, 1, currency)

    ws = book.sheet("Log", ["At (UTC)", "Event", "Block", "Pool", "Entry", "Work date", "User", "Service",
                            "Description", "Unit", "Change", "Pool remaining"],
                    [17, 11, 14, 22, 13, 12, 12, 14, 40, 10, 12, 15])
    for r, row in enumerate(log, start=1):
        units = unit_format[row["kind"]]
        number(ws, r, 0, row["at"], fmt.instant)
        ws.write_string(r, 1, row["event"])
        text(ws, r, 2, row["block_id"])
        text(ws, r, 3, row["pool"])
        text(ws, r, 4, row["entry_id"])
        number(ws, r, 5, row["work_date"], fmt.date)
        text(ws, r, 6, row["user"])
        text(ws, r, 7, row["service"])
        text(ws, r, 8, row["description"])
        ws.write_string(r, 9, UNIT_OF_KIND[row["kind"]])
        number(ws, r, 10, in_unit(row["kind"], row["change"]), units)
        number(ws, r, 11, in_unit(row["kind"], row["pool_remaining"]), units)

    ws = book.sheet("Pending", ["Entry", "Status", "Work date", "User", "Service", "Description",
                                "Billable hours"], [13, 12, 12, 12, 14, 40, 14])
    for r, p in enumerate(pending, start=1):
        text(ws, r, 0, p["entry_id"])
        ws.write_string(r, 1, "unpriced" if p["unpriced"] else p["status"])
        number(ws, r, 2, p["work_date"], fmt.date)
        text(ws, r, 3, p["user"])
        text(ws, r, 4, p["service"])
        text(ws, r, 5, p["description"])
        number(ws, r, 6, Decimal(p["billable_minutes"]) / 60, fmt.hours)

    _chart(book, summary, info + 5, log, unit_format)
    return book.bytes()


def _as_of_row(n_blocks: int) -> int:
    """Summary row (as Excel counts, from 1) of the as-of date: header, the blocks, a blank
    row, Customer, As of."""
    return n_blocks + 4


def _stamp(rendered: bytes, rendered_as_of: date, as_of: date, n_blocks: int) -> bytes:
    """A prepaid log rendered as of `rendered_as_of`, with `as_of` put in the two places that
    hold the date: the Summary's As-of cell and the document properties (zip entry times are
    fixed). The result is byte for byte what rendering as of `as_of` gives
    (tests/transforms/test_reports.py); the rows are the same, only the date moves."""
    if rendered_as_of == as_of:
        return rendered
    serial = lambda d: str((d - date(1899, 12, 30)).days)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(rendered)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rf'(<c r="B{_as_of_row(n_blocks)}"[^>]*><v>){serial(rendered_as_of)}</v>'.encode(),
                                  rb"\g<1>" + serial(as_of).encode() + b"</v>", data)
                if n != 1:
                    raise RuntimeError("as-of cell not found in the Summary sheet")
            elif info.filename == "docProps/core.xml":
                data, n = re.subn(rendered_as_of.isoformat().encode() + rb"T00:00:00Z",
                                  as_of.isoformat().encode() + b"T00:00:00Z", data)
                if n != 2:
                    raise RuntimeError("created and modified dates not found in the document properties")
            target.writestr(info, data)
    return out.getvalue()


def _chart(book: _Book, summary, at_row: int, log: list[dict], unit_format: dict) -> None:
    """Chart data (remaining per pool at the end of each day) and, on the Summary below the
    customer's details, a line chart of it."""
    pools = sorted({(row["pool"], row["kind"]) for row in log if row["kind"] != "unlimited"})
    ws = book.sheet("Chart data", ["Date"] + [p for p, _ in pools], [12] + [22] * len(pools))
    if not pools:
        return
    column = {p: i for i, (p, _) in enumerate(pools, start=1)}
    kind_of = dict(pools)
    by_day: dict[date, dict[str, int]] = {}
    state: dict[str, int] = {}
    for row in log:
        if row["kind"] == "unlimited":
            continue
        state[row["pool"]] = row["pool_remaining"]
        by_day[row["at"].date()] = dict(state)
    for r, (day, values) in enumerate(sorted(by_day.items()), start=1):
        book.number(ws, r, 0, day, "yyyy-mm-dd")
        for pool, units in values.items():
            book.number(ws, r, column[pool], in_unit(kind_of[pool], units), unit_format[kind_of[pool]])
    last = len(by_day)
    chart = book.workbook.add_chart({"type": "line"})
    for pool, col in column.items():
        chart.add_series({"name": ["Chart data", 0, col], "categories": ["Chart data", 1, 0, last, 0],
                          "values": ["Chart data", 1, col, last, col]})
    chart.set_title({"name": "Remaining per pool"})
    chart.set_y_axis({"name": "Remaining (hours, money or incidents)"})
    chart.set_x_axis({"num_format": "yyyy-mm-dd"})
    chart.set_size({"width": 832, "height": 340})    # 22 × 9 cm
    summary.insert_chart(at_row, 1, chart)


def _log_csv(log: list[dict]) -> bytes:
    with io.StringIO(newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(LOG_CSV_COLUMNS)
        for row in log:
            unit = UNIT_OF_KIND[row["kind"]]
            fmt = (lambda v: "" if v is None else (f"{Decimal(v) / 100:.2f}" if unit == "money" else str(v)))
            writer.writerow([
                row["at"].strftime("%Y-%m-%dT%H:%M:%SZ"), row["event"], spreadsheet_safe(row["block_id"]),
                spreadsheet_safe(row["pool"]), spreadsheet_safe(row["entry_id"]),
                row["work_date"].isoformat() if row["work_date"] else "", spreadsheet_safe(row["user"]),
                spreadsheet_safe(row["service"]), spreadsheet_safe(row["description"]),
                "minutes" if unit == "hours" else unit, fmt(row["change"]), fmt(row["pool_remaining"]),
            ])
        return fh.getvalue().encode("utf-8")


def report_customer(warehouse: Path, customer_id: str, out: Path, as_of: date | None = None,
                    tz: str | None = None) -> Path:
    """Regenerate one customer's prepaid log on demand, as of a date (default: the last run's).

    Opens the warehouse read-only and recomputes from the stored raw input; nothing is written
    to the warehouse. Returns the folder written.
    """
    from transforms.reconcile import reconcile
    from transforms.validate import validate
    from transforms.warehouse import RAW_KINDS, connect, current_raw

    con = connect(warehouse, read_only=True)
    try:
        last = con.execute("select as_of, tz from runs where as_of is not null and outcome = 'committed' "
                           "order by run_id desc limit 1").fetchall()
        if as_of is None and not last:
            raise ValueError("no nightly run yet: give --as-of")
        as_of = as_of or last[0][0]
        tz = tz or (last[0][1] if last else "UTC")
        inputs = validate({kind: current_raw(con, kind) for kind in RAW_KINDS}, tz)
        if customer_id not in set(inputs.customers["customer_id"]):
            raise ValueError(f"no customer {customer_id!r} in the warehouse")
        reconcile(con, inputs, as_of, tz)
        write_reports(con, out, as_of, customer_ids=[customer_id], use_cache=False)
        return customer_dir(out, customer_id)
    finally:
        con.close()
