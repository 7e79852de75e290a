"""SPEC §6 prepaid log: XLSX read back with openpyxl and compared cell by cell."""

import hashlib
import io
import os
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from tests.conftest import read_csv, write_inbox
from transforms import progress
from transforms.reports import reports, xlsx
from transforms.reports.reports import customer_dir, safe_name
from transforms.run.nightly import run_nightly
from transforms.warehouse import connect

TL = "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at,description\n"


LOG_PURCHASES = ("block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on,reorder_point,auto_invoice,"
                 "invoice_number\n"
                 "h1,c1,hours,2,200.00,2026-01-01,2026-01-20,,,\n"
                 "v1,c1,value,50.00,45.00,2026-01-02,,40,true,")
LOG_TIMELOGS = TL + ("e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T08:00,=SUM(A1)\n"
                     "e2,c1,ann,support,2026-01-07T09:00,45,2026-01-08T08:00,Printer\n"
                     "e3,c1,bob,support,2026-01-09T09:00,30,,Waiting for approval\n"
                     "e4,c1,bob,network,2026-01-12T14:00,60,2026-01-12T15:00,Switch")


def _cells(ws, min_row: int = 1) -> list[list]:
    return [list(row) for row in ws.iter_rows(min_row=min_row, values_only=True)]


def test_prepaid_log__customer_words_local_times_invoices_billed_work_pending(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", customers="customer_id,name,currency\nc1,Acme,EUR",
                        purchases=LOG_PURCHASES, rates="hourly_rate\n60", timelogs=LOG_TIMELOGS)
    run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31), "Europe/Berlin",
                reports_enabled=True)
    wb = load_workbook(tmp_path / "out" / "reports" / "c1" / "prepaid-log.xlsx")
    assert wb.sheetnames == ["Summary", "Log", "Invoices", "Billed work", "Pending", "Chart data"]
    assert _cells(wb["Summary"]) == [
        ["Block", "Kind", "Service", "Unit", "Purchased", "Used", "Expired unused", "Remaining", "Starts on",
         "Last day of cover", "Status", "Amount paid (EUR)", "Expired unused value (EUR)"],
        ["h1", "Hours", "any service", "hours", 2, 2, 0, 0, datetime(2026, 1, 1), datetime(2026, 1, 20),
         "expired", 200, 0],
        ["v1", "Prepaid value", "any service", "EUR", 50, 50, 0, 0, datetime(2026, 1, 2), None, "used up", 45, 0],
        [None] * 13,
        ["Customer", "Acme (c1)"] + [None] * 11,
        ["Figures as of", datetime(2026, 1, 31), None, "A new version of this file is made whenever a figure in "
         "it changes."] + [None] * 9,
        ["Currency", "EUR"] + [None] * 11, ["Time zone", "Europe/Berlin"] + [None] * 11]
    assert wb["Summary"]["L2"].number_format == '"€" #,##0.00_0;-"€" #,##0.00_0'
    hours, value = "Hours, any service", "Prepaid value, any service"
    assert _cells(wb["Log"]) == [   # local times of Europe/Berlin (UTC+1): as authorized, not an hour earlier
        ["Date and time (Europe/Berlin)", "Event", "Block", "Prepaid pool", "Time entry", "Work date", "User",
         "Service", "Description", "Unit", "Change", "Remaining in pool"],
        [datetime(2026, 1, 1), "purchase", "h1", hours, None, None, None, None, None, "hours", 2, 2],
        [datetime(2026, 1, 2), "purchase", "v1", value, None, None, None, None, None, "EUR", 50, 50],
        [datetime(2026, 1, 6, 8), "work deducted", "h1", hours, "e1", datetime(2026, 1, 5), "ann", "support",
         "=SUM(A1)", "hours", -1.5, 0.5],
        [datetime(2026, 1, 8, 8), "work deducted", "h1", hours, "e2", datetime(2026, 1, 7), "ann", "support",
         "Printer", "hours", -0.5, 0],
        [datetime(2026, 1, 8, 8), "work deducted", "v1", value, "e2", datetime(2026, 1, 7), "ann", "support",
         "Printer", "EUR", -15, 35],
        [datetime(2026, 1, 12, 15), "work deducted", "v1", value, "e4", datetime(2026, 1, 12), "bob", "network",
         "Switch", "EUR", -35, 0],
        [datetime(2026, 1, 21), "expired unused", "h1", hours, None, None, None, None, None, "hours", 0, 0]]
    assert wb["Log"]["I4"].value == "=SUM(A1)" and wb["Log"]["I4"].data_type == "s"
    assert _cells(wb["Invoices"], 2) == [
        ["INV-2026-000001", "invoice", datetime(2026, 1, 31), "work beyond the prepaid cover in 2026-01", None,
         25, 0, 25, None],
        ["INV-2026-000002", "top-up invoice", datetime(2026, 1, 31),
         "Top-up: €50.00 prepaid value (any service), as block v1", None, 45, 0, 45, "not yet paid"]]
    # e4: 60 minutes cost 60.00, v1 took 35.00, so 25 minutes (25.00) were billed
    assert _cells(wb["Billed work"], 2) == [
        ["INV-2026-000001", "invoice", datetime(2026, 1, 31), "e4", datetime(2026, 1, 12), "bob", "network",
         "Switch", float(Decimal(25) / 60), 60, 25]]
    assert _cells(wb["Pending"], 2) == [
        ["e3", "waiting for authorization", datetime(2026, 1, 9), "bob", "support", "Waiting for approval", 0.5]]
    assert not any(c.data_type == "f" for ws in wb for row in ws.iter_rows() for c in row)


def test_prepaid_log__purchase_names_the_topup_invoice__listed_as_paid_by_it(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", customers="customer_id,name,currency\nc1,Acme,EUR",
                        purchases=LOG_PURCHASES, rates="hourly_rate\n60", timelogs=LOG_TIMELOGS)
    run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out1", date(2026, 1, 31), reports_enabled=True)
    write_inbox(inbox, customers="customer_id,name,currency\nc1,Acme,EUR", rates="hourly_rate\n60",
                purchases=LOG_PURCHASES + "\nv2,c1,value,50.00,45.00,2026-02-01,,40,true,INV-2026-000002",
                timelogs=LOG_TIMELOGS)
    run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out2", date(2026, 2, 1), reports_enabled=True)
    invoices = load_workbook(tmp_path / "out2" / "reports" / "c1" / "prepaid-log.xlsx")["Invoices"]
    assert [(r[0], r[8]) for r in invoices.iter_rows(min_row=2, values_only=True)] == [
        ("INV-2026-000001", None), ("INV-2026-000002", "v2")]
    # the log as of the day before v2 was purchased: not paid yet then
    earlier = reports.report_customer(tmp_path / "w.duckdb", "c1", tmp_path / "out3", date(2026, 1, 31))
    invoices = load_workbook(earlier / "prepaid-log.xlsx")["Invoices"]
    assert [r[8] for r in invoices.iter_rows(min_row=2, values_only=True)] == [None, "not yet paid"]


def test_prepaid_log__labels__one_table_every_key_used(tmp_path):
    source = Path(reports.__file__).read_text()
    keys = set(re.findall(r'label\(f?"([a-z_.]+)', source)) | set(re.findall(r'"([a-z_]+\.?[a-z_]*)"', source))
    prefixes = {"kind.", "unit.", "status.", "event.", "doc.", "pending_status."}
    unused = {k for k in reports.LABELS if k not in keys and not any(k.startswith(p) for p in prefixes)}
    assert unused == set()
    assert reports.pool_label("hours", None) == "Hours, any service"
    assert reports.pool_label("value", "support") == "Prepaid value, support"
    assert reports.label("at", zone="Europe/Berlin") == "Date and time (Europe/Berlin)"


def test_prepaid_log__customer_language__labels_and_dates_in_it(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", customers="customer_id,name,currency,language\nc1,Acme,EUR,de",
                        purchases=LOG_PURCHASES, rates="hourly_rate\n60", timelogs=LOG_TIMELOGS)
    run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31), "Europe/Berlin",
                reports_enabled=True)
    wb = load_workbook(tmp_path / "out" / "reports" / "c1" / "prepaid-log.xlsx")
    assert wb.sheetnames == ["Übersicht", "Verlauf", "Rechnungen", "Abgerechnete Arbeit", "Offen", "Diagrammdaten"]
    assert _cells(wb["Übersicht"])[:2] == [
        ["Kontingent", "Art", "Leistung", "Einheit", "Gekauft", "Verbraucht", "Ungenutzt verfallen", "Verbleibend",
         "Gültig ab", "Letzter gültiger Tag", "Status", "Bezahlt (EUR)", "Ungenutzt verfallener Wert (EUR)"],
        ["h1", "Stunden", "jede Leistung", "Stunden", 2, 2, 0, 0, datetime(2026, 1, 1), datetime(2026, 1, 20),
         "verfallen", 200, 0]]
    assert wb["Übersicht"]["I2"].number_format == "dd.mm.yyyy_0"
    assert _cells(wb["Übersicht"])[5][:4] == [
        "Stand der Zahlen", datetime(2026, 1, 31), None, "Eine neue Fassung dieser Datei entsteht, sobald sich eine Zahl "
        "darin ändert."]
    assert wb["Übersicht"]["B6"].number_format == "dd.mm.yyyy_0"
    assert wb["Verlauf"]["A2"].number_format == "dd.mm.yyyy hh:mm_0"
    assert wb["Verlauf"]["B4"].value == "Arbeit abgezogen"


def test_prepaid_log__every_label_translated_in_every_language():
    assert {lang: sorted(set(reports.LABELS) ^ set(table)) for lang, table in reports.TRANSLATIONS.items()} == \
        {"de": [], "fr": [], "nl": []}
    assert [reports.date_format(lang) for lang in ("de", "fr", "nl")] == ["dd.mm.yyyy", "dd/mm/yyyy", "dd-mm-yyyy"]


def _rendered_log(language: str, currency: str = "EUR") -> bytes:
    """A log with every status, event and document kind (the longest labels), rendered directly."""
    rows = _log_models()
    return _render(language, currency, date(2026, 1, 31), **rows)


def _render(language: str, currency: str, as_of: date, blocks, events, pending, documents, billed,
            earlier: bytes | None = None, kept: frozenset[str] = frozenset()) -> bytes:
    speaking = reports._LANGUAGE.set(language)
    try:
        return reports._render_xlsx("c1", "Acme", currency, as_of, blocks, reports._log_rows(events, "Europe/Berlin"),
                                    pending, "Europe/Berlin", documents, billed, language,
                                    None if earlier is None else xlsx.Earlier(earlier), kept)
    finally:
        reports._LANGUAGE.reset(speaking)


def _log_models(variant: int = 0) -> dict[str, list[dict]]:
    """The rows of each log model (names as `_render` takes them) with every status, event and
    document kind; `variant` 1 changes a text and adds a row to each."""
    block = dict(block_id="h1", kind="hours", service=None, purchased_units=600, used_units=90, expired_units=0,
                 remaining_units=510, starts_on=date(2026, 1, 1), expires_on=date(2026, 12, 31), status="active",
                 amount_paid_cents=316000, breakage_cents=0)
    blocks = [block] + [{**block, "block_id": f"h{i}", "status": s} for i, s in
                        enumerate(("expired", "exhausted", "not_started"), start=2)]
    work = dict(customer_id="c1", block_id="h1", kind="hours", pool_service=None, entry_id="e1",
                work_date=date(2026, 1, 5), user="ann", service="support", description="Printer")
    events = [{**work, "at_epoch": 1767600000 + i, "event": e, "change_units": -90}
              for i, e in enumerate(("purchase", "deduction", "expiry"))]
    doc = dict(number="INV-2026-000001", kind="overage", issued_on=date(2026, 1, 31), corrects=None,
               period="2026-01", net_cents=2500, tax_cents=0, total_cents=2500, topup_text="Top-up", paid_by=None)
    documents = [doc, {**doc, "kind": "credit_note", "corrects": doc["number"]}, {**doc, "kind": "topup"}]
    line = dict(number=doc["number"], kind="overage", issued_on=date(2026, 1, 31), line_no=1, entry_id="e1",
                work_date=date(2026, 1, 5), user="ann", service="support", description="Printer", minutes=25,
                rate_cents=6000, amount_cents=2500)
    billed = [line, {**line, "kind": "credit_note"}]
    pending = [dict(entry_id=f"e{i}", status="pending", unpriced=unpriced, work_date=date(2026, 1, 9), user="bob",
                    service="support", description="Wait", billable_minutes=30) for i, unpriced in ((3, False),
                                                                                                    (4, True))]
    rows = dict(blocks=blocks, events=events, pending=pending, documents=documents, billed=billed)
    if variant:
        rows = {name: [{**r, **{k: f"{v} (2)" for k, v in r.items() if k in ("description", "block_id", "number")}}
                       for r in model] + model for name, model in rows.items()}
        rows["events"] = [{**e, "at_epoch": e["at_epoch"] + 86400 * i} for i, e in enumerate(rows["events"])]
    return rows


#: the argument of `_render` that each log model gives
MODEL_ROWS = {"log_blocks": "blocks", "log_events": "events", "log_pending": "pending",
              "log_documents": "documents", "log_billed": "billed"}


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(changed=st.sets(st.sampled_from(sorted(MODEL_ROWS))), empty=st.sets(st.sampled_from(sorted(MODEL_ROWS))),
       language=st.sampled_from(["en", "de"]))
def test_render__sheets_of_unchanged_models_kept__same_bytes_as_rendering_whole(changed, empty, language):
    before = {arg: [] if model in empty else _log_models()[arg] for model, arg in MODEL_ROWS.items()}
    now = {arg: _log_models(1)[arg] if model in changed else before[arg] for model, arg in MODEL_ROWS.items()}
    earlier = _render(language, "EUR", date(2026, 1, 31), **before)
    kept = frozenset(MODEL_ROWS) - changed - {"log_blocks"}
    # as a job carries them: no rows of a kept model
    given_rows = {arg: [] if model in kept else rows for (model, arg), rows in zip(MODEL_ROWS.items(), now.values())}
    whole = _render(language, "EUR", date(2026, 2, 1), **now)
    assert _render(language, "EUR", date(2026, 2, 1), **given_rows, earlier=earlier, kept=kept) == whole


def test_render__sheets_kept_from_a_log_of_other_sheets__refused():
    earlier = _render("de", "EUR", date(2026, 1, 31), **_log_models())
    with pytest.raises(ValueError, match=r"sheets kept from a workbook whose sheets are not \['Summary', 'Log'"):
        _render("en", "EUR", date(2026, 2, 1), **_log_models(), earlier=earlier, kept=frozenset({"log_pending"}))


def test_prepaid_log__languages_and_currencies_in_turn__each_log_its_own_labels_and_formats():
    # labels, headers and formats are kept per process: one log's must never show in the next
    german = _rendered_log("de")
    english = load_workbook(io.BytesIO(_rendered_log("en", "USD")))
    assert _rendered_log("de") == german
    assert [english.sheetnames[0], english["Summary"]["L1"].value, english["Log"]["B2"].value] == \
        ["Summary", "Amount paid (USD)", "purchase"]
    assert english["Summary"]["L2"].number_format == '"$" #,##0.00_0;-"$" #,##0.00_0'
    assert english["Log"]["A2"].number_format == "yyyy-mm-dd hh:mm_0"
    assert load_workbook(io.BytesIO(german))["Übersicht"]["L1"].value == "Bezahlt (EUR)"


@pytest.mark.parametrize("language", ["en", "de", "fr", "nl"])
def test_prepaid_log__any_language__no_number_or_label_runs_into_the_next_cell(language):
    wb = load_workbook(io.BytesIO(_rendered_log(language)))
    crowded = []
    for ws in wb:
        width = {letter: int(dim.width) for letter, dim in ws.column_dimensions.items()}
        for row in ws.iter_rows():
            for cell, right in zip(row, row[1:] + (None,)):
                if cell.value is None or right is None or right.value is None:
                    continue
                if cell.data_type == "n" or cell.is_date:    # right-aligned: a digit kept free on its right
                    if not all(section.endswith("_0") for section in cell.number_format.split(";")):
                        crowded.append((ws.title, cell.coordinate, cell.number_format))
                elif len(cell.value) + (2 if cell.font.b else 1) > width[cell.column_letter]:
                    crowded.append((ws.title, cell.coordinate, cell.value))
    assert crowded == []


def test_safe_name__hostile_ids_stay_inside_reports(tmp_path):
    assert safe_name("C-1001") == "C-1001"
    assert safe_name("../../x").startswith("x-") and "/" not in safe_name("../../x")
    assert safe_name("a/b") != safe_name("a_b")
    assert safe_name("..") != ".." and safe_name(".") != "."
    for cid in ("../../x", "a/b", "..", "/etc/passwd", "C:\\x", "x" * 300):
        assert customer_dir(tmp_path, cid).parent == (tmp_path / "reports").resolve()


def test_prepaid_log__rerun__byte_identical_xlsx_and_csv(reconcile):
    files = dict(purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\nh1,c1,hours,2,200,2026-01-01",
                 timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T08:00,Work",
                 as_of="2026-01-31", reports=True)
    first, second = reconcile(**files), reconcile(**files)
    for name in ("prepaid-log.xlsx", "prepaid-log.csv"):
        assert (first.path / "reports" / "c1" / name).read_bytes() == (second.path / "reports" / "c1" / name).read_bytes()


PURCHASES = "block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on\n" \
            "h1,c1,hours,2,200,2026-01-01,2026-03-31\nh2,c2,hours,5,500,2026-01-01,"
CUSTOMERS = "customer_id,name,currency\nc1,Customer One,EUR\nc2,Customer Two,EUR"
NIGHT_1 = TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T08:00,Work\n" \
               "e2,c2,bob,support,2026-01-05T10:00,30,2026-01-06T08:00,More"


def _logs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out / "reports").rglob("*")) if p.is_file()}


def _cache(warehouse: Path) -> dict[str, str]:
    con = connect(warehouse, read_only=True)
    try:
        return dict(con.execute("select customer_id, fingerprint from prepaid_log_cache order by 1").fetchall())
    finally:
        con.close()


def test_prepaid_log__numbers_are_the_nearest_double__chart_and_print_layout():
    # 88 minutes = 1.4666… hours: the file holds every digit, which reads back as the double nearest
    # the exact value (XlsxWriter's own 16 digits would give 1.466666666666667, one step off)
    blocks = [{"block_id": "h1", "kind": "hours", "service": None, "purchased_units": 600, "used_units": 88,
               "expired_units": 0, "remaining_units": 512, "starts_on": date(2026, 1, 1), "expires_on": None,
               "status": "active", "amount_paid_cents": 50000, "breakage_cents": 0}]
    log = [{"at": datetime(2026, 1, 1), "local": datetime(2026, 1, 1),
            "event": "purchase", "block_id": "h1", "pool": "hours · any service",
            "entry_id": None, "work_date": None, "user": None, "service": None, "description": None,
            "kind": "hours", "change": 600, "pool_remaining": 600},
           {"at": datetime(2026, 1, 6, 8), "local": datetime(2026, 1, 6, 8),
            "event": "deduction", "block_id": "h1", "pool": "hours · any service",
            "entry_id": "e1", "work_date": date(2026, 1, 5), "user": "ann", "service": "support",
            "description": "Work", "kind": "hours", "change": -88, "pool_remaining": 512}]
    xlsx = reports._render_xlsx("c1", "One", "EUR", date(2026, 1, 31), blocks, log, [])
    book = load_workbook(io.BytesIO(xlsx))
    assert [c.value for c in book["Log"][3]][10:] == [float(Decimal(-88) / 60), float(Decimal(512) / 60)]
    assert [c.value for c in book["Summary"][2]][4:8] == [10, float(Decimal(88) / 60), 0, float(Decimal(512) / 60)]
    assert [[c.value for c in row] for row in book["Chart data"].iter_rows()] == [
        ["Date", "hours · any service"], [datetime(2026, 1, 1), 10], [datetime(2026, 1, 6), float(Decimal(512) / 60)]]
    with zipfile.ZipFile(io.BytesIO(xlsx)) as parts:
        log_xml = parts.read("xl/worksheets/sheet2.xml").decode()
        chart = parts.read("xl/charts/chart1.xml").decode()
        drawing = parts.read("xl/drawings/drawing1.xml").decode()
        workbook = parts.read("xl/workbook.xml").decode()
        assert {i.date_time for i in parts.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert re.search(r'<c r="K2" s="\d+"><v>10</v></c>', log_xml)      # whole numbers without ".0"
    assert re.search(r'<c r="K3" s="\d+"><v>-1.466666666666666666666666667</v></c>', log_xml)  # every digit
    assert "<c:f>'Chart data'!$B$2:$B$3</c:f>" in chart and "<c:f>'Chart data'!$A$2:$A$3</c:f>" in chart
    assert "<xdr:from><xdr:col>1</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>9</xdr:row>" in drawing  # B10
    assert """<definedName name="_xlnm.Print_Titles" localSheetId="1">Log!$1:$1</definedName>""" in workbook
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and sheet.page_setup.orientation == "landscape"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage     # one page wide (fitToWidth 1 by default),
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (None, 0)   # any height
        assert sheet["A1"].font.b and sheet["A1"].fill.fgColor.rgb == "FF1D2330"


def test_prepaid_log__text_longer_than_a_cell__cut_visibly_in_xlsx__whole_in_csv():
    description = "=x" + "é" * 20_000 + "😀" * 10_000          # 40,002 UTF-16 code units
    log = [{"at": datetime(2026, 1, 6, 8), "local": datetime(2026, 1, 6, 8),
            "event": "deduction", "block_id": "h1", "pool": "hours · any service",
            "entry_id": "e1", "work_date": date(2026, 1, 5), "user": "ann", "service": "support",
            "description": description, "kind": "hours", "change": -60, "pool_remaining": 0}]
    cell = load_workbook(io.BytesIO(reports._render_xlsx("c1", "One", "EUR", date(2026, 1, 31), [], log, [])))["Log"]["I2"]
    kept = reports.CELL_LIMIT - len(reports.CUT_MARK)                # code units: 2 + 20,000 + 2 per emoji
    assert cell.value == description[:2 + 20_000 + (kept - 20_002) // 2] + reports.CUT_MARK
    assert len(cell.value.encode("utf-16-le")) // 2 in (reports.CELL_LIMIT - 1, reports.CELL_LIMIT)
    assert cell.data_type == "s" and cell.quotePrefix
    assert reports._log_csv(log).decode().splitlines()[1].split(",")[8] == "'" + description


def _figures_as_of(path: Path) -> datetime:
    summary = load_workbook(path).worksheets[0]
    (row,) = [r for r in summary.iter_rows(values_only=True) if r[0] == reports.label("as_of")]
    return row[1]


def test_prepaid_logs__second_night_same_out__unchanged_log_is_last_nights_file_changed_one_rendered(tmp_path):
    warehouse, out = tmp_path / "w.duckdb", tmp_path / "out"
    inbox = write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES, timelogs=NIGHT_1)
    run_nightly(inbox, warehouse, out, date(2026, 1, 31), reports_enabled=True)
    first, night_1 = _cache(warehouse), _logs(out)
    inodes = {name: (out / name).stat().st_ino for name in night_1}
    # night 2: a new entry of c2 only; c1's log shows the same as yesterday
    write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES,
                timelogs={"t.csv": NIGHT_1, "t2.csv": TL + "e3,c2,bob,support,2026-02-01T10:00,45,2026-02-01T12:00,New"})
    rendered = []
    original = reports._render_xlsx
    with patch.object(reports, "_render_xlsx", lambda cid, *a: rendered.append(cid) or original(cid, *a)):
        run_nightly(inbox, warehouse, out, date(2026, 2, 1), reports_enabled=True)
    assert rendered == ["c2"]
    second, night_2 = _cache(warehouse), _logs(out)
    assert second["c1"] == first["c1"] and second["c2"] != first["c2"]
    c1 = ["reports/c1/prepaid-log.csv", "reports/c1/prepaid-log.xlsx"]
    c2 = ["reports/c2/prepaid-log.csv", "reports/c2/prepaid-log.xlsx"]
    # c1: last night's very files (moved over: same inode, nothing written); c2: new files
    assert {name: (out / name).stat().st_ino for name in c1} == {name: inodes[name] for name in c1}
    assert all((out / name).stat().st_ino != inodes[name] for name in c2)
    assert [night_2[name] == night_1[name] for name in c1 + c2] == [True, True, False, False]
    assert [_figures_as_of(out / "reports" / c / "prepaid-log.xlsx") for c in ("c1", "c2")] == [
        datetime(2026, 1, 31), datetime(2026, 2, 1)]
    # the changed log is what a fresh warehouse renders that night
    run_nightly(inbox, tmp_path / "fresh.duckdb", tmp_path / "fresh", date(2026, 2, 1), reports_enabled=True)
    assert {k: v for k, v in _logs(tmp_path / "fresh").items() if k in c2} == {k: night_2[k] for k in c2}


def test_prepaid_logs__some_sheets_unchanged__kept_from_the_earlier_file__same_bytes_as_a_fresh_render(tmp_path):
    warehouse, out = tmp_path / "w.duckdb", tmp_path / "out"
    inbox = write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES, timelogs=NIGHT_1)
    run_nightly(inbox, warehouse, out, date(2026, 1, 31), reports_enabled=True)
    # night 2: c1 a new entry waiting for authorization (its Pending sheet only), c2 one deducted
    # from its block (its Log, Chart data and Summary; its Pending is empty both nights)
    write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES,
                timelogs={"t.csv": NIGHT_1,
                          "t2.csv": TL + "e3,c1,ann,support,2026-02-01T09:00,30,,Waits\n"
                                         "e4,c2,bob,support,2026-02-01T10:00,45,2026-02-01T12:00,New"})
    kept, cached = {}, {}
    original = reports._render_xlsx

    def render(cid, *args):
        *_, earlier, kept[cid] = args
        cached[cid] = earlier is not None
        return original(cid, *args)

    with patch.object(reports, "_render_xlsx", render):
        run_nightly(inbox, warehouse, out, date(2026, 2, 1), reports_enabled=True)
    assert kept == {"c1": {"log_events", "log_documents", "log_billed"},
                    "c2": {"log_documents", "log_billed", "log_pending"}}
    assert cached == {"c1": True, "c2": True}
    night_2 = _logs(out)
    assert load_workbook(out / "reports" / "c1" / "prepaid-log.xlsx")["Pending"]["F2"].value == "Waits"
    # the logs are what a fresh warehouse renders that night, whole, byte for byte
    run_nightly(inbox, tmp_path / "fresh.duckdb", tmp_path / "fresh", date(2026, 2, 1), reports_enabled=True)
    assert _logs(tmp_path / "fresh") == night_2


def test_prepaid_logs__changed_log_whose_earlier_file_was_edited__rendered_whole(tmp_path):
    warehouse, out = tmp_path / "w.duckdb", tmp_path / "out"
    inbox = write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES, timelogs=NIGHT_1)
    run_nightly(inbox, warehouse, out, date(2026, 1, 31), reports_enabled=True)
    edited = out / "reports" / "c1" / "prepaid-log.xlsx"
    edited.write_bytes(edited.read_bytes())         # saved again: the same bytes, but not as placed
    write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES,
                timelogs={"t.csv": NIGHT_1, "t2.csv": TL + "e3,c1,ann,support,2026-02-01T09:00,30,,Waits"})
    kept = {}
    original = reports._render_xlsx
    with patch.object(reports, "_render_xlsx", lambda cid, *a: kept.update({cid: a[-1]}) or original(cid, *a)):
        run_nightly(inbox, warehouse, out, date(2026, 2, 1), reports_enabled=True)
    assert kept == {"c1": frozenset()}
    run_nightly(inbox, tmp_path / "fresh.duckdb", tmp_path / "fresh", date(2026, 2, 1), reports_enabled=True)
    c1 = ["reports/c1/prepaid-log.csv", "reports/c1/prepaid-log.xlsx"]
    assert [_logs(tmp_path / "fresh")[name] for name in c1] == [_logs(out)[name] for name in c1]


def test_cached_file__changed_since_it_was_found__run_fails(tmp_path):
    path = tmp_path / "prepaid-log.csv"
    path.write_bytes(b"at,event\n")
    assert reports._cached_file(path, hashlib.sha256(b"at,event\n").hexdigest()) == b"at,event\n"
    with pytest.raises(RuntimeError, match="prepaid-log.csv changed while the run read it"):
        reports._cached_file(path, hashlib.sha256(b"other").hexdigest())


def test_prepaid_logs__unchanged_log_but_previous_out_missing_or_edited__written_from_the_cache(tmp_path):
    warehouse, out = tmp_path / "w.duckdb", tmp_path / "out"
    inbox = write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES, timelogs=NIGHT_1)
    run_nightly(inbox, warehouse, out, date(2026, 1, 31), reports_enabled=True)
    night_1 = _logs(out)
    (out / "reports" / "c1" / "prepaid-log.csv").write_text("edited by hand")      # in place: same inode
    (out / "reports" / "c2" / "prepaid-log.xlsx").unlink()
    run_nightly(inbox, warehouse, out, date(2026, 2, 1), reports_enabled=True)
    assert _logs(out) == night_1
    run_nightly(inbox, warehouse, tmp_path / "elsewhere", date(2026, 2, 2), reports_enabled=True)   # a new OUT
    assert _logs(tmp_path / "elsewhere") == night_1


def test_prepaid_logs__unchanged_logs_as_placed__carried_without_reading_them__touched_one_read(tmp_path):
    warehouse, out = tmp_path / "w.duckdb", tmp_path / "out"
    inbox = write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES, timelogs=NIGHT_1)
    run_nightly(inbox, warehouse, out, date(2026, 1, 31), reports_enabled=True)
    night_1 = _logs(out)
    inodes = {name: (out / name).stat().st_ino for name in night_1}
    read = []
    original = reports._holds
    with patch.object(reports, "_holds", lambda source, digests: read.append(source.name) or original(source, digests)):
        run_nightly(inbox, warehouse, out, date(2026, 2, 1), reports_enabled=True)
        assert read == []                                   # both as placed: recognised by stat alone
        xlsx = out / "reports" / "c1" / "prepaid-log.xlsx"
        os.utime(xlsx, ns=(xlsx.stat().st_atime_ns, xlsx.stat().st_mtime_ns + 1_000_000_000))
        run_nightly(inbox, warehouse, out, date(2026, 2, 2), reports_enabled=True)
        assert read == ["c1"]                               # touched: read, same bytes, carried over
        run_nightly(inbox, warehouse, out, date(2026, 2, 3), reports_enabled=True)
        assert read == ["c1"]                               # its new placing was recorded
    assert _logs(out) == night_1
    assert {name: (out / name).stat().st_ino for name in night_1} == inodes
    assert not list(tmp_path.glob(".out.*"))


@pytest.mark.parametrize("change, customers, timelogs, as_of", [
    ("name", CUSTOMERS.replace("Customer One", "Customer 1"), NIGHT_1, date(2026, 1, 31)),
    ("description", CUSTOMERS, NIGHT_1.replace("90,2026-01-06T08:00,Work", "90,2026-01-06T08:00,Work (fixed)"),
     date(2026, 1, 31)),
    ("status as of the night", CUSTOMERS, NIGHT_1, date(2026, 3, 31)),   # h1 of c1 expires that day
    ("language", "customer_id,name,currency,language\nc1,Customer One,EUR,nl\nc2,Customer Two,EUR,",
     NIGHT_1, date(2026, 1, 31)),
])
def test_prepaid_logs__anything_a_log_shows_changes__only_that_log_rendered(tmp_path, change, customers, timelogs,
                                                                            as_of):
    warehouse = tmp_path / "w.duckdb"
    write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES, timelogs=NIGHT_1)
    run_nightly(tmp_path / "inbox", warehouse, tmp_path / "out1", date(2026, 1, 31), reports_enabled=True)
    write_inbox(tmp_path / "inbox", customers=customers, purchases=PURCHASES, timelogs=timelogs)
    rendered = []
    original = reports._render_xlsx
    with patch.object(reports, "_render_xlsx", lambda cid, *a: rendered.append(cid) or original(cid, *a)):
        run_nightly(tmp_path / "inbox", warehouse, tmp_path / "out2", as_of, reports_enabled=True)
    assert rendered == ["c1"], change
    run_nightly(tmp_path / "inbox", tmp_path / "fresh.duckdb", tmp_path / "fresh", as_of, reports_enabled=True)
    out1, out2, fresh = (_logs(tmp_path / name) for name in ("out1", "out2", "fresh"))
    assert {k: v for k, v in out2.items() if "/c1/" in k} == {k: v for k, v in fresh.items() if "/c1/" in k}
    assert {k: v for k, v in out2.items() if "/c2/" in k} == {k: v for k, v in out1.items() if "/c2/" in k}


def test_prepaid_logs__live_display__counts_each_log_written_rendered_or_kept(tmp_path, monkeypatch):
    seen = []
    advance = progress.Phase.advance

    def counted(phase, steps=1, description=None):
        advance(phase, steps, description)
        if phase.name == "reports":
            (task,) = [t for t in progress._display.tasks if t.id == phase.task]
            seen.append((task.completed, task.total))

    monkeypatch.setattr(progress.Phase, "advance", counted)
    customers = CUSTOMERS + "\nc3,Customer Three,USD"
    inbox = write_inbox(tmp_path / "inbox", customers=customers, purchases=PURCHASES, timelogs=NIGHT_1)
    with progress.cli_output(progress.NORMAL, stream=io.StringIO(), live=True):
        run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31), reports_enabled=True)
        assert seen == [(1, 3), (2, 3), (3, 3)]          # three logs rendered, one by one
        seen.clear()
        write_inbox(inbox, customers=customers, purchases=PURCHASES,
                    timelogs={"t.csv": NIGHT_1, "t2.csv": TL + "e3,c2,bob,support,2026-02-01T10:00,45,,New"})
        run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 2, 1), reports_enabled=True)
    assert seen == [(2, 3), (3, 3)]                      # c1 and c3 kept at once, then c2 rendered


def test_prepaid_logs__in_batches_of_customers_with_worker_processes__same_files_and_cache(tmp_path):
    customers = CUSTOMERS + "\nc3,Customer Three,USD"
    inbox = write_inbox(tmp_path / "inbox", customers=customers, purchases=PURCHASES, timelogs=NIGHT_1)
    run_nightly(inbox, tmp_path / "one.duckdb", tmp_path / "one", date(2026, 1, 31), reports_enabled=True)
    with patch.object(reports, "BATCH_CUSTOMERS", 2), patch.object(reports, "PARALLEL_FROM", 1):
        run_nightly(inbox, tmp_path / "batched.duckdb", tmp_path / "batched", date(2026, 1, 31), reports_enabled=True)
    one, batched = _logs(tmp_path / "one"), _logs(tmp_path / "batched")
    assert len(one) == 6 and batched == one
    assert sorted(_cache(tmp_path / "batched.duckdb")) == ["c1", "c2", "c3"]
    assert _cache(tmp_path / "batched.duckdb") == _cache(tmp_path / "one.duckdb")


def test_log_fingerprints__some_customers_asked_for__same_fingerprints_as_among_all(tmp_path):
    tables = {}
    original = reports._fingerprint_logs

    def also_for_some(con, as_of, tz, customer_ids, every=True):  # the night's own tables
        for ids in (["c2"], ["c1", "c3"]):
            original(con, as_of, tz, ids, every=False)
            tables[tuple(ids)] = con.execute("select * from log_fingerprints order by customer_id").fetchall()
        original(con, as_of, tz, customer_ids, every)
        tables["all"] = con.execute("select * from log_fingerprints order by customer_id").fetchall()

    customers = CUSTOMERS + "\nc3,Customer Three,USD"          # c3: no block, no entry
    inbox = write_inbox(tmp_path / "inbox", customers=customers, purchases=PURCHASES, timelogs=NIGHT_1)
    with patch.object(reports, "_fingerprint_logs", also_for_some):
        run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31), reports_enabled=True)
    assert [cid for cid, *_ in tables["all"]] == ["c1", "c2", "c3"]
    assert len({fingerprint for _, fingerprint, _ in tables["all"]}) == 3
    # a part per log model; no customer's part is another's (each has its own name or currency)
    c1, c2, c3 = (set(parts) for *_, parts in tables["all"])
    assert [len(parts) for *_, parts in tables["all"]] == [5, 5, 5]
    assert c1.isdisjoint(c2) and c1.isdisjoint(c3) and c2.isdisjoint(c3)
    assert tables[("c2",)] == [tables["all"][1]]
    assert tables[("c1", "c3")] == [tables["all"][0], tables["all"][2]]
    assert {cid: fingerprint for cid, fingerprint, _ in tables["all"]} == _cache(tmp_path / "w.duckdb")


def test_prepaid_logs__code_of_the_renderer_changes__cache_not_used(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    inbox = write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES, timelogs=NIGHT_1)
    run_nightly(inbox, warehouse, tmp_path / "out1", date(2026, 1, 31), reports_enabled=True)
    rendered = []
    original = reports._render_xlsx
    with patch.object(reports, "RENDERER_VERSION", "another version"), \
            patch.object(reports, "_render_xlsx", lambda cid, *a: rendered.append(cid) or original(cid, *a)):
        run_nightly(inbox, warehouse, tmp_path / "out2", date(2026, 1, 31), reports_enabled=True)
    assert rendered == ["c1", "c2"]
    assert _logs(tmp_path / "out1") == _logs(tmp_path / "out2")


def test_report_customer__one_log_regenerated_read_only(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    inbox = write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES, timelogs=NIGHT_1)
    run_nightly(inbox, warehouse, tmp_path / "out", date(2026, 1, 31), reports_enabled=True)
    before = warehouse.read_bytes()
    folder = reports.report_customer(warehouse, "c1", tmp_path / "again")
    assert folder == customer_dir(tmp_path / "again", "c1")
    assert _logs(tmp_path / "again") == {k: v for k, v in _logs(tmp_path / "out").items() if "/c1/" in k}
    assert warehouse.read_bytes() == before


def test_prepaid_log__entry_corrected_later__credit_note_listed_with_the_invoice_it_corrects(tmp_path):
    customers, rates = "customer_id,name,currency\nc1,Acme,EUR", "hourly_rate\n60"
    inbox = write_inbox(tmp_path / "inbox", customers=customers, purchases=LOG_PURCHASES, rates=rates,
                        timelogs=LOG_TIMELOGS)
    run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out1", date(2026, 1, 31), reports_enabled=True)
    shorter = TL + "e4,c1,bob,network,2026-01-12T14:00,45,2026-01-12T15:00,Switch"    # 60 -> 45 minutes
    write_inbox(inbox, customers=customers, purchases=LOG_PURCHASES, rates=rates,
                timelogs={"t.csv": LOG_TIMELOGS, "t2.csv": shorter})
    run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out2", date(2026, 2, 1), reports_enabled=True)
    wb = load_workbook(tmp_path / "out2" / "reports" / "c1" / "prepaid-log.xlsx")
    assert _cells(wb["Invoices"], 4) == [
        ["CN-2026-000001", "credit note", datetime(2026, 2, 1), "correction of INV-2026-000001", "INV-2026-000001",
         -15, 0, -15, None]]
    (line,) = read_csv(tmp_path / "out2" / "invoice_lines.csv")        # the log shows the document's line
    assert _cells(wb["Billed work"], 3) == [
        ["CN-2026-000001", "credit note", datetime(2026, 2, 1), "e4", datetime(2026, 1, 12), "bob", "network",
         line["description"], -0.25, 60, -15]]


def test_report_customer__warehouse_only_ingested__log_written_with_no_documents(tmp_path):
    from transforms.run.nightly import run_ingest

    inbox = write_inbox(tmp_path / "inbox", customers=CUSTOMERS, purchases=PURCHASES, timelogs=NIGHT_1)
    run_ingest(inbox, tmp_path / "w.duckdb")          # no nightly: no documents table yet
    folder = reports.report_customer(tmp_path / "w.duckdb", "c1", tmp_path / "out", date(2026, 1, 31))
    wb = load_workbook(folder / "prepaid-log.xlsx")
    assert len(_cells(wb["Log"])) == 3
    assert [_cells(wb[name], 2) for name in ("Invoices", "Billed work")] == [
        [["No documents issued yet."] + [None] * 8], [["No work billed beyond the prepaid cover yet."] + [None] * 10]]
