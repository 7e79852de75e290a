"""transforms/reports/xlsx.py: the XLSX files it writes, read back by openpyxl and checked part by part,
and what it refuses to write (LibreOffice reads the project's workbooks in test_libreoffice.py)."""

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from transforms.reports import xlsx

CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _book() -> bytes:
    book = xlsx.Workbook(date(2026, 1, 31), ["#,##0.00", "yyyy-mm-dd", "0"])
    summary = book.sheet("Summary", ["Name", "Amount"], [16, 12])
    summary.row()
    summary.string(0, "=1+1", xlsx.QUOTED)
    summary.number(1, Decimal("12.5"), book.style("#,##0.00"))
    summary.row(at=4)
    summary.string(0, "Total", xlsx.BOLD)
    summary.number(1, None, book.style("#,##0.00"))
    data = book.sheet("Chart data", ["Date", "pool A", "pool B"], [12, 22, 22])
    for day, a, b in ((date(2026, 1, 1), 10, None), (date(2026, 1, 2), 7, 3)):
        data.row()
        data.number(0, day, book.style("yyyy-mm-dd"))
        data.number(1, a, book.style("0"))
        data.number(2, b, book.style("0"))
    book.line_chart(summary, 5, 1, data, [1, 2], 2, title="Remaining", y_title="units", x_format="yyyy-mm-dd",
                    size=(200, 100))
    return book.bytes()


def test_workbook__every_part_well_formed__typed_and_related():
    data = _book()
    with zipfile.ZipFile(io.BytesIO(data)) as parts:
        assert parts.testzip() is None                       # every entry's CRC and size hold
        names = parts.namelist()
        assert {i.date_time for i in parts.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        xml = {name: ElementTree.fromstring(parts.read(name)) for name in names}
    overrides = {o.get("PartName") for o in xml["[Content_Types].xml"].iter(f"{CONTENT_TYPES}Override")}
    assert overrides == {"/" + n for n in names if not n.endswith(".rels") and n != "[Content_Types].xml"}
    for name in (n for n in names if n.endswith(".rels")):
        folder = name.replace("_rels/", "").removesuffix(".rels").rpartition("/")[0]
        for rel in xml[name].iter(f"{RELATIONSHIPS}Relationship"):
            target = rel.get("Target")
            resolved = [] if not folder else folder.split("/")
            for step in target.split("/"):
                resolved = resolved[:-1] if step == ".." else resolved + [step]
            assert "/".join(resolved) in names, (name, target)
    assert names[0] == "[Content_Types].xml"


#: the root element of each part, with its namespace (ECMA-376; as XlsxWriter writes them)
ROOTS = {
    "[Content_Types].xml": "{http://schemas.openxmlformats.org/package/2006/content-types}Types",
    "_rels/.rels": "{http://schemas.openxmlformats.org/package/2006/relationships}Relationships",
    "docProps/app.xml": "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}Properties",
    "docProps/core.xml":
        "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}coreProperties",
    "xl/workbook.xml": "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}workbook",
    "xl/_rels/workbook.xml.rels": "{http://schemas.openxmlformats.org/package/2006/relationships}Relationships",
    "xl/styles.xml": "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}styleSheet",
    "xl/worksheets/sheet1.xml": "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}worksheet",
    "xl/worksheets/sheet2.xml": "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}worksheet",
    "xl/worksheets/_rels/sheet1.xml.rels":
        "{http://schemas.openxmlformats.org/package/2006/relationships}Relationships",
    "xl/drawings/drawing1.xml": "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}wsDr",
    "xl/drawings/_rels/drawing1.xml.rels":
        "{http://schemas.openxmlformats.org/package/2006/relationships}Relationships",
    "xl/charts/chart1.xml": "{http://schemas.openxmlformats.org/drawingml/2006/chart}chartSpace",
}


def test_workbook__every_part_has_its_standard_root_element():
    with zipfile.ZipFile(io.BytesIO(_book())) as parts:
        assert {name: ElementTree.fromstring(parts.read(name)).tag for name in parts.namelist()} == ROOTS
        app = ElementTree.fromstring(parts.read("docProps/app.xml"))
    vt = "{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}"
    assert [e.text for e in app.iter(f"{vt}lpstr")] == ["Worksheets", "Summary", "Chart data"]


def test_workbook__read_back__cells_styles_layout_chart():
    wb = load_workbook(io.BytesIO(_book()))
    assert wb.sheetnames == ["Summary", "Chart data"]
    summary, data = wb["Summary"], wb["Chart data"]
    assert [[c.value for c in row] for row in summary.iter_rows()] == [
        ["Name", "Amount"], ["=1+1", 12.5], [None, None], ["Total", None]]
    assert summary["A2"].data_type == "s" and summary["A2"].quotePrefix
    assert summary["A4"].font.b and not summary["A2"].font.b
    assert summary["B2"].number_format == summary["B4"].number_format == "#,##0.00"
    assert summary["A1"].font.b and summary["A1"].font.color.rgb == "FFFFFFFF"
    assert summary["A1"].fill.fgColor.rgb == xlsx.HEADER_FILL
    assert [[c.value for c in row] for row in data.iter_rows()] == [
        ["Date", "pool A", "pool B"], [datetime(2026, 1, 1), 10, None], [datetime(2026, 1, 2), 7, 3]]
    assert data["A2"].number_format == "yyyy-mm-dd" and data["B2"].number_format == "0"
    for ws in (summary, data):
        assert ws.freeze_panes == "A2" and ws.print_title_rows == "$1:$1"
        assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    assert {k: v.width for k, v in summary.column_dimensions.items()} == {"A": 16.7109375, "B": 12.7109375}
    (chart,) = summary._charts
    assert [(s.tx.strRef.f, s.cat.numRef.f, s.val.numRef.f) for s in chart.series] == [
        ("'Chart data'!$B$1", "'Chart data'!$A$2:$A$3", "'Chart data'!$B$2:$B$3"),
        ("'Chart data'!$C$1", "'Chart data'!$A$2:$A$3", "'Chart data'!$C$2:$C$3")]
    # 200 × 100 pixels from B6: B is 89 pixels wide, C 117, so it ends 111 pixels into C (col 2)
    assert (chart.anchor._from.col, chart.anchor._from.row) == (1, 5)
    assert (chart.anchor.to.col, chart.anchor.to.colOff, chart.anchor.to.row, chart.anchor.to.rowOff) == (
        2, 111 * 9525, 10, 0)


def test_text__escaped_as_spreadsheetml_holds_it():
    assert xlsx.cell_text("plain text") == ("plain text", False)
    assert xlsx.cell_text("<a & b>") == ("&lt;a &amp; b&gt;", False)
    assert xlsx.cell_text("_x0041_") == ("_x005F_x0041_", False)        # a literal escape stays literal
    assert xlsx.cell_text("a\x01b\rc") == ("a_x0001_b_x000D_c", False)  # as Excel writes control characters
    assert xlsx.cell_text("a\uffffb\ufffe") == ("a_xFFFF_b_xFFFE_", False)  # not XML characters either
    assert xlsx.cell_text(" lead") == (" lead", True) and xlsx.cell_text("trail\n") == ("trail\n", True)
    book = xlsx.Workbook(date(2026, 1, 31), [])
    ws = book.sheet("S", ["h"], [10])
    for text in TEXTS:
        ws.row()
        ws.string(0, text)
    # openpyxl does not decode the escapes of inline text (Excel and LibreOffice do:
    # test_libreoffice reads these texts back), so it reads "_x0041_" as it is stored
    assert [c.value for c in load_workbook(io.BytesIO(book.bytes()))["S"]["A"]][1:] == ["_x005F_x0041_", *TEXTS[1:]]


#: texts that need escaping, or keeping, in a cell
TEXTS = ["_x0041_", "<script>alert(1)</script>", " lead", "tab\there", "line\nbreak", "😀 ü", "&amp;", "]]>"]


def test_text__characters_xml_cannot_hold__workbook_still_well_formed():
    # U+FFFF passes validation (it is valid UTF-8); written raw it made the whole file unreadable
    book = xlsx.Workbook(date(2026, 1, 31), [])
    ws = book.sheet("S", ["h"], [10])
    ws.row()
    ws.string(0, "before\uffffafter\x02")
    with zipfile.ZipFile(io.BytesIO(book.bytes())) as parts:
        sheet = ElementTree.fromstring(parts.read("xl/worksheets/sheet1.xml"))
    assert [t.text for t in sheet.iter(f"{{{xlsx.MAIN}}}t")] == ["h", "before_xFFFF_after_x0002_"]


def test_sheet__rows_only_go_down():
    ws = xlsx.Workbook(date(2026, 1, 31), []).sheet("S", ["h"], [10])
    ws.row(at=3)
    with pytest.raises(ValueError, match="row 3 is not below row 3"):
        ws.row(at=3)


def test_text__longer_than_a_cell__refused():
    book = xlsx.Workbook(date(2026, 1, 31), [])
    ws = book.sheet("S", ["h"], [10])
    ws.row()
    ws.string(0, "x" * xlsx.CELL_LIMIT)
    ws.row()
    with pytest.raises(ValueError, match="longer than a cell holds"):
        ws.string(0, "😀" * (xlsx.CELL_LIMIT // 2 + 1))


def test_serial__excel_day_numbers_exact():
    assert xlsx.serial(date(1900, 1, 1)) == "1"
    assert xlsx.serial(date(1900, 2, 28)) == "59"
    assert xlsx.serial(date(1900, 3, 1)) == "61"              # Excel counts a 29 February 1900
    assert xlsx.serial(date(2026, 1, 31)) == "46053"
    assert xlsx.serial(datetime(2026, 1, 31, 12)) == "46053.5"
    assert xlsx.serial(datetime(2026, 1, 31, 8, 0, 1)) == format(46053 + Decimal(28801) / 86400, "f")
    assert xlsx.serial(datetime(2026, 1, 31)) == "46053"


def test_padded__every_section_keeps_a_digit_free__quoted_semicolon_kept():
    assert xlsx.padded("dd.mm.yyyy hh:mm") == "dd.mm.yyyy hh:mm_0"
    assert xlsx.padded('"€" #,##0.00;-"€" #,##0.00') == '"€" #,##0.00_0;-"€" #,##0.00_0'
    assert xlsx.padded('"a;b" 0;-0') == '"a;b" 0_0;-0_0'


def test_zip__entries_read_back_by_zipfile_with_fixed_times():
    data = xlsx.zip_entries([xlsx.deflated("a.xml", b"<a/>" * 100), xlsx.deflated("b/c.xml", "ü".encode())])
    with zipfile.ZipFile(io.BytesIO(data)) as parts:
        assert parts.read("a.xml") == b"<a/>" * 100 and parts.read("b/c.xml") == "ü".encode()
        assert [(i.filename, i.date_time) for i in parts.infolist()] == [
            ("a.xml", (1980, 1, 1, 0, 0, 0)), ("b/c.xml", (1980, 1, 1, 0, 0, 0))]


def _sheet() -> xlsx.Sheet:
    ws = xlsx.Workbook(date(2026, 1, 31), ["0"]).sheet("S", ["a", "b", "c"], [10, 10, 10])
    ws.row()
    return ws


def test_sheet__cell_left_of_the_last_one__refused():
    ws = _sheet()
    ws.string(1, "b")
    with pytest.raises(ValueError, match="sheet 'S': cell A2 after B2: the cells of a row go left to right"):
        ws.number(0, 1, 4)


def test_sheet__same_cell_twice__refused():
    ws = _sheet()
    ws.number(2, 1, 4)
    with pytest.raises(ValueError, match="sheet 'S': cell C2 written twice"):
        ws.string(2, "again")


def test_sheet__new_row__starts_again_from_column_a():
    ws = _sheet()
    ws.string(2, "c")
    ws.row()
    ws.string(0, "a")
    assert ws.xml[-2:] == ['</row><row r="3">', '<c r="A3" t="inlineStr"><is><t>a</t></is></c>']


def test_sheet__add_row__writes_what_one_call_per_cell_writes():
    book = xlsx.Workbook(date(2026, 1, 31), ["0", "yyyy-mm-dd"])
    one_by_one, at_once = (book.sheet(title, list("abcdef"), [10] * 6) for title in ("A", "B"))
    one_by_one.row()
    one_by_one.string(0, "label")
    one_by_one.string(2, "=input", xlsx.QUOTED)
    one_by_one.number(3, Decimal("1.5"), 4)
    one_by_one.number(4, date(2026, 1, 5), 5)
    one_by_one.number(5, None, 4)
    at_once.add_row(["label", None, ("=input", xlsx.QUOTED), (Decimal("1.5"), 4), (date(2026, 1, 5), 5), (None, 4)])
    assert at_once.xml == one_by_one.xml
    assert at_once.xml[-5:] == ['<c r="A2" t="inlineStr"><is><t>label</t></is></c>',
                                '<c r="C2" s="3" t="inlineStr"><is><t>=input</t></is></c>',
                                '<c r="D2" s="4"><v>1.5</v></c>', '<c r="E2" s="5"><v>46027</v></c>',
                                '<c r="F2" s="4"/>']
    assert (at_once.column, at_once.last_column) == (5, 5)


def test_sheet__add_row_more_cells_than_columns__refused():
    with pytest.raises(ValueError, match="sheet 'S': column 3 is outside its 3 columns \\(A to C\\)"):
        _sheet().add_row(["a", "b", "c", "d"])


def test_sheet__column_it_does_not_have__refused():
    with pytest.raises(ValueError, match="sheet 'S': column 3 is outside its 3 columns \\(A to C\\)"):
        _sheet().string(3, "d")


@pytest.mark.parametrize("headers, widths", [([], [10]), (["a"], []), ([], [])])
def test_sheet__no_columns__refused(headers, widths):
    with pytest.raises(ValueError, match="sheet 'S': a sheet needs at least one header and one column width"):
        xlsx.Workbook(date(2026, 1, 31), []).sheet("S", headers, widths)


@pytest.mark.parametrize("title", ["", "x" * 32, "a/b", "a[1]", "what?", "'quoted'"])
def test_workbook__sheet_title_excel_cannot_hold__refused(title):
    with pytest.raises(ValueError, match="1 to 31 characters"):
        xlsx.Workbook(date(2026, 1, 31), []).sheet(title, ["h"], [10])


def test_workbook__sheet_title_twice_in_any_case__refused():
    book = xlsx.Workbook(date(2026, 1, 31), [])
    book.sheet("Log", ["h"], [10])
    with pytest.raises(ValueError, match="sheet title 'LOG' is used twice"):
        book.sheet("LOG", ["h"], [10])


def test_chart__every_series_has_its_own_solid_line():
    # LibreOffice draws a series without a line style as no line at all (axes and legend only)
    with zipfile.ZipFile(io.BytesIO(_book())) as parts:
        chart = ElementTree.fromstring(parts.read("xl/charts/chart1.xml"))
    c, a = "{http://schemas.openxmlformats.org/drawingml/2006/chart}", xlsx.DRAWING_MAIN
    lines = [(ser.find(f"{c}spPr/{{{a}}}ln").get("w"), ser.find(f"{c}spPr/{{{a}}}ln//{{{a}}}srgbClr").get("val"))
             for ser in chart.iter(f"{c}ser")]
    assert lines == [("28575", "4472C4"), ("28575", "ED7D31")]
    assert [child.tag.removeprefix(c) for child in chart.find(f".//{c}ser")] == [
        "idx", "order", "tx", "spPr", "marker", "cat", "val", "smooth"]     # the schema's order


def test_earlier__its_entries_make_the_same_file__another_zip_refused():
    data = _book()
    earlier = xlsx.Earlier(data)
    with zipfile.ZipFile(io.BytesIO(data)) as parts:
        assert list(earlier.entries) == parts.namelist()
    assert xlsx.zip_entries(list(earlier.entries.values())) == data
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("a.xml", "<a/>")
        archive.comment = b"made elsewhere"
    with pytest.raises(ValueError, match="not a workbook of this writer: no zip end record"):
        xlsx.Earlier(other.getvalue())
    with pytest.raises(ValueError, match="the earlier workbook has no part xl/worksheets/sheet9.xml"):
        earlier.entry("xl/worksheets/sheet9.xml")
