"""Every kind of workbook the project writes (a prepaid log, reconciliation.xlsx), opened by a
real spreadsheet program: headless LibreOffice converts them (one start for all of them, as
each start costs seconds) and its files are read back. openpyxl alone reads files that Excel
and LibreOffice reject or draw wrong. Skipped only where LibreOffice is not installed (CI
installs it)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from tests.conftest import write_inbox
from tests.transforms.test_xlsx import TEXTS
from transforms.reports import xlsx
from transforms.run.nightly import run_close, run_nightly

pytestmark = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")

CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
DRAWING = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
INBOX = dict(
    customers="customer_id,name,currency\nc1,Acme,EUR\n=c2,Evil Corp,USD",
    purchases="block_id,customer_id,kind,service,quantity,amount_paid,purchased_on,reorder_point,auto_invoice\n"
              "h1,c1,hours,,2,200.00,2026-01-01,,\nv1,c1,value,support,50.00,45.00,2026-01-02,40,true\n"
              "h2,=c2,hours,@ops,5,500.00,2026-01-03,,",
    rates="hourly_rate\n60",
    timelogs="entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at,description\n"
             "e1,c1,ann,support,2026-01-05T09:00,150,2026-01-06T08:00,=SUM(A1)\n"
             "e2,c1,ann,support,2026-01-07T09:00,60,2026-01-08T08:00,Printer\n"
             "e3,=c2,bob,@ops,2026-01-09T09:00,30,2026-01-09T10:00,+cmd")


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """{name: (our file, LibreOffice's xlsx of it)} for a prepaid log, a reconciliation and a
    workbook of texts that need escaping."""
    tmp = tmp_path_factory.mktemp("libreoffice")
    inbox = write_inbox(tmp / "inbox", **INBOX)
    run_nightly(inbox, tmp / "night.duckdb", tmp / "night", date(2026, 1, 31), "Europe/Berlin", reports_enabled=True)
    run_close(inbox, tmp / "close.duckdb", tmp / "close", "2026-01", "Europe/Berlin", reports_enabled=False)
    texts = xlsx.Workbook(date(2026, 1, 31), [])
    ws = texts.sheet("S", ["h"], [10])
    for text in TEXTS:
        ws.row()
        ws.string(0, text)
    (tmp / "texts.xlsx").write_bytes(texts.bytes())
    ours = {"prepaid-log": tmp / "night" / "reports" / "c1" / "prepaid-log.xlsx",
            "reconciliation": tmp / "close" / "reconciliation.xlsx", "texts": tmp / "texts.xlsx"}
    (tmp / "in").mkdir()
    for name, path in ours.items():
        shutil.copy(path, tmp / "in" / f"{name}.xlsx")
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(tmp / "out"),
                    *(str(tmp / "in" / f"{name}.xlsx") for name in ours)],
                   check=True, capture_output=True, timeout=300)
    return {name: (path, tmp / "out" / f"{name}.xlsx") for name, path in ours.items()}


def _values(ws) -> list[list]:
    """The cells' values; numbers to 12 digits (LibreOffice writes 15, we write every digit)."""
    return [[float(f"{c.value:.12g}") if isinstance(c.value, float) else c.value for c in row]
            for row in ws.iter_rows()]


@pytest.mark.parametrize("name, sheets", [
    ("prepaid-log", ["Summary", "Log", "Invoices", "Billed work", "Pending", "Chart data"]),
    ("reconciliation", ["Reconciliation", "Balances", "Breaches", "Late adjustments", "Close"]),
])
def test_libreoffice__workbook_converted__same_sheets_and_cells(converted, name, sheets):
    ours, theirs = (load_workbook(path) for path in converted[name])
    assert theirs.sheetnames == ours.sheetnames == sheets
    for sheet in sheets:
        assert _values(theirs[sheet]) == _values(ours[sheet]), sheet
        # LibreOffice read our print setup (headless, it drops every file's frozen panes: no view)
        ws = theirs[sheet]
        assert (ws.page_setup.orientation, ws.page_setup.paperSize, ws.print_title_rows) == ("landscape", 9, "$1:$1")
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), sheet
    formulas = [c.coordinate for ws in theirs for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []                                   # input text like =SUM(A1) stayed text


def test_libreoffice__escaped_texts__read_as_written(converted):
    theirs = load_workbook(converted["texts"][1])
    assert [c.value for c in theirs["S"]["A"]] == ["h", *TEXTS]


def test_libreoffice__prepaid_log_chart__present_and_every_series_drawn_as_a_line(converted):
    _, theirs = converted["prepaid-log"]
    (chart,) = load_workbook(theirs)["Summary"]._charts
    assert [s.val.numRef.f for s in chart.series] == ["'Chart data'!$B$2:$B$5", "'Chart data'!$C$2:$C$5"]
    with zipfile.ZipFile(theirs) as parts:
        part = ElementTree.fromstring(parts.read("xl/charts/chart1.xml"))
    # a series LibreOffice read without a line style comes back as <a:ln w="0"><a:noFill/>
    lines = [ser.find(f"{CHART}spPr/{DRAWING}ln") for ser in part.iter(f"{CHART}ser")]
    assert [(line.find(f"{DRAWING}solidFill") is not None, line.find(f"{DRAWING}noFill")) for line in lines] == [
        (True, None), (True, None)]
