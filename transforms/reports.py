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
import openpyxl
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from transforms.documents import CURRENCY_SYMBOLS, FORMULA_STARTS, spreadsheet_safe

PARALLEL_FROM = 200      # customers; below this, process start-up costs more than it saves
MAX_WORKERS = 8
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1D2330")
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


def _text(cell, value: str | None) -> None:
    """Store input text as a string cell that spreadsheet programs never evaluate."""
    cell.value = value or None
    if value and value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True


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
    """
    where = "" if customer_ids is None else "where customer_id in (select unnest(?::varchar[]))"
    params = [] if customer_ids is None else [customer_ids]
    customers = con.execute(
        f"select customer_id, name, currency from stg_customers {where} order by customer_id", params
    ).fetchall()
    blocks = _grouped(con, f"""
        select customer_id, block_id, kind, service, purchased_units, used_units, expired_units,
               remaining_units, starts_on, expires_on, status, amount_paid_cents, breakage_cents
        from mart_balances {where} order by customer_id, block_id""", params)
    events = _grouped(con, f"""
        select l.customer_id, l.at_epoch, l.event, l.block_id, b.kind, b.service as pool_service,
               l.entry_id, e.work_date, e."user", e.service, e.description,
               coalesce(l.minutes, l.cents, l.incidents) as change_units
        from mart_ledger l
        join mart_balances b using (block_id)
        left join mart_entries e using (entry_id)
        {where.replace('customer_id', 'l.customer_id')}
        order by l.customer_id, l.at_epoch,
                 case l.event when 'purchase' then 0 when 'deduction' then 1 else 2 end,
                 l.entry_id nulls first, l.block_id""", params)
    pending = _grouped(con, f"""
        select customer_id, entry_id, status, unpriced, work_date, "user", service, description,
               billable_minutes
        from mart_entries
        {where + ' and' if where else 'where'} (status = 'pending' or unpriced)
        order by customer_id, entry_id""", params)
    contents = [(cid, name, currency, blocks.get(cid, []), events.get(cid, []), pending.get(cid, []))
                for cid, name, currency in customers]
    fingerprints = [hashlib.sha256(repr((RENDERER_VERSION, c)).encode()).hexdigest() for c in contents]
    cached = _cached_reports(con, [c[0] for c in contents], fingerprints) if use_cache else {}
    jobs = [(customer_dir(target, content[0]), as_of, fingerprint,
             None if content[0] in cached else content, cached.get(content[0]))
            for content, fingerprint in zip(contents, fingerprints)]
    del cached
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    rendered = []
    if len(jobs) < PARALLEL_FROM or workers < 2:
        results = map(_write_customer, jobs)
        rendered = [r for r in results if r is not None]
    else:
        # spawned processes only render files; they never touch the warehouse connection
        chunk = max(1, len(jobs) // (workers * 8))
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for result in pool.map(_write_customer, jobs, chunksize=chunk):
                if result is not None:
                    rendered.append(result)
                if len(rendered) >= 1000 and use_cache:
                    _store_cache(con, rendered)
                    rendered = []
    if use_cache:
        _store_cache(con, rendered)
    return len(customers)


#: what a prepaid log's bytes depend on besides its rows: this module, the CSV cell rule and
#: openpyxl's version. A change to any of them renders every log afresh.
RENDERER_VERSION = hashlib.sha256(
    Path(__file__).read_bytes() + Path(__file__).with_name("documents.py").read_bytes()
    + openpyxl.__version__.encode()).hexdigest()


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


def _header(ws, titles: list[str], widths: list[int]) -> None:
    """Bold header row 1, frozen; column widths; printed landscape, one page wide."""
    for i, (title, width) in enumerate(zip(titles, widths), start=1):
        cell = ws.cell(row=1, column=i, value=title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def _number(cell, value, fmt: str) -> None:
    cell.value = value
    cell.number_format = fmt


def _render_xlsx(customer_id: str, name: str, currency: str, as_of: date,
                 blocks: list[dict], log: list[dict], pending: list[dict]) -> bytes:
    fmt = Formats(money=money_format(currency))
    unit_format = {"hours": fmt.hours, "unlimited": fmt.hours, "value": fmt.money, "incidents": fmt.count}
    wb = Workbook()

    ws = wb.active
    ws.title = "Summary"
    _header(ws, ["Block", "Kind", "Service", "Unit", "Purchased", "Used", "Expired", "Remaining",
                 "Starts on", "Expires on", "Status", "Amount paid", "Breakage"],
            [16, 11, 16, 10, 12, 12, 12, 12, 12, 12, 12, 14, 12])
    for b in blocks:
        r = ws.max_row + 1
        _text(ws.cell(r, 1), b["block_id"])
        ws.cell(r, 2, b["kind"])
        _text(ws.cell(r, 3), b["service"] or "any")
        ws.cell(r, 4, UNIT_OF_KIND[b["kind"]])
        for col, key in ((5, "purchased_units"), (6, "used_units"), (7, "expired_units"), (8, "remaining_units")):
            _number(ws.cell(r, col), in_unit(b["kind"], b[key]), unit_format[b["kind"]])
        _number(ws.cell(r, 9), b["starts_on"], fmt.date)
        _number(ws.cell(r, 10), b["expires_on"], fmt.date)
        ws.cell(r, 11, b["status"])
        _number(ws.cell(r, 12), Decimal(b["amount_paid_cents"]) / 100, fmt.money)
        _number(ws.cell(r, 13), Decimal(b["breakage_cents"]) / 100, fmt.money)
    info = ws.max_row + 2
    if info + 1 != _as_of_row(len(blocks)):  # _stamp finds the As-of cell by this row
        raise RuntimeError("Summary layout changed: update reports._as_of_row")
    ws.cell(info, 1, "Customer").font = Font(bold=True)
    _text(ws.cell(info, 2), f"{name} ({customer_id})")
    ws.cell(info + 1, 1, "As of").font = Font(bold=True)
    _number(ws.cell(info + 1, 2), as_of, fmt.date)
    ws.cell(info + 2, 1, "Currency").font = Font(bold=True)
    ws.cell(info + 2, 2, currency)

    ws = wb.create_sheet("Log")
    _header(ws, ["At (UTC)", "Event", "Block", "Pool", "Entry", "Work date", "User", "Service",
                 "Description", "Unit", "Change", "Pool remaining"],
            [17, 11, 14, 22, 13, 12, 12, 14, 40, 10, 12, 15])
    for row in log:
        r = ws.max_row + 1
        _number(ws.cell(r, 1), row["at"], fmt.instant)
        ws.cell(r, 2, row["event"])
        _text(ws.cell(r, 3), row["block_id"])
        _text(ws.cell(r, 4), row["pool"])
        _text(ws.cell(r, 5), row["entry_id"])
        _number(ws.cell(r, 6), row["work_date"], fmt.date)
        _text(ws.cell(r, 7), row["user"])
        _text(ws.cell(r, 8), row["service"])
        _text(ws.cell(r, 9), row["description"])
        ws.cell(r, 10, UNIT_OF_KIND[row["kind"]])
        _number(ws.cell(r, 11), in_unit(row["kind"], row["change"]), unit_format[row["kind"]])
        _number(ws.cell(r, 12), in_unit(row["kind"], row["pool_remaining"]), unit_format[row["kind"]])

    ws = wb.create_sheet("Pending")
    _header(ws, ["Entry", "Status", "Work date", "User", "Service", "Description", "Billable hours"],
            [13, 12, 12, 12, 14, 40, 14])
    for p in pending:
        r = ws.max_row + 1
        _text(ws.cell(r, 1), p["entry_id"])
        ws.cell(r, 2, "unpriced" if p["unpriced"] else p["status"])
        _number(ws.cell(r, 3), p["work_date"], fmt.date)
        _text(ws.cell(r, 4), p["user"])
        _text(ws.cell(r, 5), p["service"])
        _text(ws.cell(r, 6), p["description"])
        _number(ws.cell(r, 7), Decimal(p["billable_minutes"]) / 60, fmt.hours)

    _chart(wb, log, unit_format)
    return workbook_bytes(wb, datetime(as_of.year, as_of.month, as_of.day))


def _as_of_row(n_blocks: int) -> int:
    """Summary row of the as-of date: header, the blocks, a blank row, Customer, As of."""
    return n_blocks + 4


def _stamp(rendered: bytes, rendered_as_of: date, as_of: date, n_blocks: int) -> bytes:
    """A prepaid log rendered as of `rendered_as_of`, with `as_of` put in the three places that
    hold the date: the Summary's As-of cell, the document properties and the zip entry times.
    The result is byte for byte what rendering as of `as_of` gives
    (tests/transforms/test_reports.py); the rows are the same, only the date moves."""
    if rendered_as_of == as_of:
        return rendered
    serial = lambda d: str((d - date(1899, 12, 30)).days)
    stamp = datetime(as_of.year, as_of.month, as_of.day)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(rendered)) as source, _StampedZip(out, stamp) as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rf'(<c r="B{_as_of_row(n_blocks)}"[^>]*><v>){serial(rendered_as_of)}</v>'.encode(),
                                  rb"\g<1>" + serial(as_of).encode() + b"</v>", data)
                if n != 1:
                    raise RuntimeError("as-of cell not found in the Summary sheet")
            elif name == "docProps/core.xml":
                data, n = re.subn(rendered_as_of.isoformat().encode() + rb"T00:00:00Z",
                                  as_of.isoformat().encode() + b"T00:00:00Z", data)
                if n != 2:
                    raise RuntimeError("created and modified dates not found in the document properties")
            target.writestr(name, data)
    return out.getvalue()


class _StampedZip(zipfile.ZipFile):
    """A zip whose every entry carries one fixed time (the as-of date), not the wall clock."""

    def __init__(self, file, stamp: datetime):
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._date_time = stamp.timetuple()[:6]

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, date_time=self._date_time)
            zinfo_or_arcname.compress_type = zipfile.ZIP_DEFLATED
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        with open(filename, "rb") as fh:
            self.writestr(arcname or os.path.basename(filename), fh.read())


def workbook_bytes(wb: Workbook, stamp: datetime) -> bytes:
    """The XLSX bytes of a workbook, the same for the same content: document properties and zip
    entry times are `stamp` (the as-of date), not the wall clock."""
    wb.properties.creator = "Prepaid Reconciler"
    wb.properties.created = wb.properties.modified = stamp
    buffer = io.BytesIO()
    ExcelWriter(wb, _StampedZip(buffer, stamp)).save()   # openpyxl's save() would stamp "now"
    return buffer.getvalue()


def _chart(wb: Workbook, log: list[dict], unit_format: dict) -> None:
    """Chart data (remaining per pool at the end of each day) and a line chart of it."""
    pools = sorted({(row["pool"], row["kind"]) for row in log if row["kind"] != "unlimited"})
    ws = wb.create_sheet("Chart data")
    _header(ws, ["Date"] + [p for p, _ in pools], [12] + [22] * len(pools))
    if not pools:
        return
    column = {p: i for i, (p, _) in enumerate(pools, start=2)}
    kind_of = dict(pools)
    by_day: dict[date, dict[str, int]] = {}
    state: dict[str, int] = {}
    for row in log:
        if row["kind"] == "unlimited":
            continue
        state[row["pool"]] = row["pool_remaining"]
        by_day[row["at"].date()] = dict(state)
    for day, values in sorted(by_day.items()):
        r = ws.max_row + 1
        _number(ws.cell(r, 1), day, "yyyy-mm-dd")
        for pool, units in values.items():
            _number(ws.cell(r, column[pool]), in_unit(kind_of[pool], units), unit_format[kind_of[pool]])
    chart = LineChart()
    chart.title = "Remaining per pool"
    chart.y_axis.title = "Remaining (hours, money or incidents)"
    chart.x_axis.number_format = "yyyy-mm-dd"
    chart.height, chart.width = 9, 22
    data = Reference(ws, min_col=2, max_col=1 + len(pools), min_row=1, max_row=ws.max_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=ws.max_row))
    wb["Summary"].add_chart(chart, f"B{wb['Summary'].max_row + 3}")


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
