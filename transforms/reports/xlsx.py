"""A small XLSX writer: the project's workbooks, written straight as SpreadsheetML.

What it writes: sheets of typed cells (text, numbers with every digit, dates as Excel serial
days), a bold header row that is frozen and printed on every page, column
widths, landscape pages one page wide, a fixed set of cell styles, and one line chart whose
series each carry an explicit solid line (LibreOffice draws a series without one as no line;
with explicit colours the workbook needs no theme part). Nothing else: it exists because a
general writer's cost per file and per cell was most of the time of a night's reports
(docs/decisions.md: about 27 s of a 1M-entry night), and a prepaid log needs only this.

How to use it: `Workbook(created, number_formats)`, then `sheet(title, headers, widths)`;
on a sheet, `row()` begins the next row and `string(col, text, style)` / `number(col, value,
style)` add its cells, left to right, or `add_row(cells)` writes a whole row in one call (the
cheaper way for sheets of many rows); `style(format)` is the style of a number format, and
HEADER, BOLD and QUOTED (text shown as typed, never evaluated) are fixed styles;
`line_chart(...)` draws a chart of a sheet's columns on another sheet; `bytes()` is the file.
`keep_sheet(title, Earlier(data))` and `keep_chart(...)` take a sheet or the chart of a file
written before, as it was compressed, for a sheet whose rows have not changed.
`padded(format)` keeps a digit's width free right of a number, so that it never touches the
left-aligned text of the next cell.

It refuses, with a ValueError naming the sheet and cell, what spreadsheet programs reject
although openpyxl reads it: cells of a row out of column order or written twice, a column
the sheet does not have, rows going up, a sheet without columns (an empty `<cols>`), a sheet
title Excel cannot hold or one used twice, text longer than a cell holds, two charts.

The same content always gives the same bytes: zip entries carry the fixed time 1980-01-01,
parts are compressed alike, and the parts many workbooks share are compressed once. Text is
written in its cell (an inline string), not in a table of shared strings that every sheet
numbers into, so a sheet's part depends on its own cells only: a sheet kept from an earlier
file is the sheet those cells give, and the file the one writing every sheet gives. It uses
the standard library only. `tests/transforms/test_xlsx.py` checks every part (well-formed,
standard root elements, typed and related), reads the files back with openpyxl, and checks
each refusal; `tests/transforms/test_libreoffice.py` opens every kind of workbook the project
writes in LibreOffice.
"""

from __future__ import annotations

import re
import struct
import zlib
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006"
REL = f"{OFFICE_DOCUMENT}/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CHART = "http://schemas.openxmlformats.org/drawingml/2006/chart"
DRAWING_MAIN = "http://schemas.openxmlformats.org/drawingml/2006/main"
SPREADSHEET_DRAWING = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

#: the cell styles every workbook has, by name; number formats follow from index FIRST_NUMBER
HEADER, BOLD, QUOTED = 1, 2, 3
FIRST_NUMBER = 4
#: number formats Excel knows by number; any other gets an id from 164 on
BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4}
CELL_LIMIT = 32_767                 # UTF-16 code units a cell holds
HEADER_FILL = "FF1D2330"
HEADER_FONT = "FFFFFFFF"
PIXELS_PER_ROW = 20                 # Excel's default row height (15 points)
EMU_PER_PIXEL = 9525

#: text needing more than writing as it is: XML's &, < and >; characters XML cannot hold
#: (control characters, U+FFFE and U+FFFF: written as _xHHHH_, as Excel does); a literal
#: _xHHHH_ (its underscore escaped as _x005F_, so that Excel does not read it as an escape);
#: and whitespace at either end (kept with xml:space="preserve")
_PLAIN_TEXT = re.compile(r"[^&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]*")
_LITERAL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_EXCEL_EPOCH = date(1899, 12, 31)
_MARCH_1900 = date(1900, 3, 1)


def column_letter(index: int) -> str:
    """A, B, …, Z, AA, … for 0, 1, …"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@lru_cache(maxsize=None)
def _letters(columns: int) -> list[str]:
    """The letters of the first `columns` columns (shared by sheets: never changed)."""
    return [column_letter(c) for c in range(columns)]


def cell_text(value: str) -> tuple[str, bool]:
    """Text as SpreadsheetML holds it, and whether its edge whitespace must be preserved."""
    if not _PLAIN_TEXT.fullmatch(value):
        value = _LITERAL_ESCAPE.sub(r"_x005F\1", value)
        value = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value, value[:1].isspace() or value[-1:].isspace()


def fits_in_cell(text: str) -> bool:
    """Whether a cell holds `text`: at most CELL_LIMIT UTF-16 code units (a character above
    U+FFFF takes two; text of up to half the limit in characters always fits)."""
    return len(text) <= CELL_LIMIT // 2 or len(text.encode("utf-16-le")) // 2 <= CELL_LIMIT


def serial(value: date) -> str:
    """A date or instant (naive) as Excel's serial day number, exactly (no float): days since
    1899-12-31, one more from 1900-03-01 on (Excel counts a 29 February 1900), and the time
    of day as the exact fraction of a day."""
    day = value.date() if isinstance(value, datetime) else value
    days = (day - _EXCEL_EPOCH).days + (day >= _MARCH_1900)
    if not isinstance(value, datetime):
        return str(days)
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return str(days) if not seconds else format(days + Decimal(seconds) / 86400, "f")


#: what ends each section of a padded number format: a blank one digit wide (`_0`: the width
#: of a "0", left empty)
PAD = "_0"
_SECTIONS = re.compile(r';(?=(?:[^"]*"[^"]*")*[^"]*$)')     # a ; outside quoted text


def padded(number_format: str) -> str:
    """`number_format` with a digit's width kept free at the right edge of every section.

    Numbers and dates are right-aligned and text is left-aligned, so without it a number ends
    exactly where the text of the next cell begins ("31.12.2026aktiv").
    """
    return ";".join(section + PAD for section in _SECTIONS.split(number_format))


def number_text(value) -> str:
    """An int or Decimal with every digit (a reader gets the double nearest the exact value)."""
    return format(Decimal(value), "f")


#: the serial day of a date (dates repeat within a workbook and from one to the next)
_day_serial = lru_cache(maxsize=4096)(serial)


def _value_text(value) -> str:
    """A number cell's value as SpreadsheetML holds it (`number_text`; a date as its serial day)."""
    kind = type(value)
    if kind is Decimal:
        return format(value, "f")
    if kind is int:
        return str(value)               # what format(Decimal(value), "f") gives an int
    if kind is date:
        return _day_serial(value)
    return serial(value) if isinstance(value, date) else number_text(value)


class Sheet:
    """One worksheet: a header row, then rows of cells, added in order (rows from the top,
    the cells of a row from the left: SpreadsheetML requires that order).

    `string` and `number` are called for every cell of a workbook, so they do their work
    inline (the checks, the cell's text) rather than in helpers."""

    def __init__(self, book: "Workbook", title: str, headers: list[str], widths: list[int]):
        if not headers or not widths:
            # an empty <cols/> or a sheet without columns breaks the schema (Excel repairs the file)
            raise ValueError(f"sheet {title!r}: a sheet needs at least one header and one column width")
        self.book, self.title, self.widths = book, title, widths
        self.letters = _letters(max(len(headers), len(widths)))
        self.columns = len(self.letters)
        self.last = 1                       # Excel's number of the current row (1: the header)
        self.last_column = len(headers) - 1
        self.column = -1                    # the last column written in the current row
        self.xml: list[str] = ['<row r="1">']
        for c, text in enumerate(headers):
            self.string(c, text, HEADER)
        self.chart: tuple | None = None     # (anchor row, anchor column, size, chart part xml or Earlier)
        self.kept: Earlier | None = None    # this sheet is that workbook's, as it was (`keep_sheet`)

    def _refuse(self, col: int) -> None:
        """Refuse a cell SpreadsheetML cannot hold where it would go: a column the sheet does
        not have, or one at or left of the last cell written in the row (a duplicate cell, or
        cells out of column order: openpyxl reads such a file, Excel and LibreOffice do not).
        (`string` and `number` test for both inline: it is the cost of every cell.)"""
        if not 0 <= col < len(self.letters):
            raise ValueError(f"sheet {self.title!r}: column {col} is outside its {len(self.letters)} columns "
                             f"(A to {self.letters[-1]})")
        here, before = f"{self.letters[col]}{self.last}", f"{self.letters[self.column]}{self.last}"
        raise ValueError(f"sheet {self.title!r}: cell {here} written twice" if col == self.column else
                         f"sheet {self.title!r}: cell {here} after {before}: the cells of a row go "
                         f"left to right")

    def row(self, at: int | None = None) -> None:
        """Begin the next row (or row `at`, counted from 1, below the current one)."""
        if at is not None and at <= self.last:
            raise ValueError(f"row {at} is not below row {self.last}")
        self.last = self.last + 1 if at is None else at
        self.column = -1
        self.xml.append(f'</row><row r="{self.last}">')

    def string(self, col: int, text: str, style: int | None = None) -> None:
        """A string cell, as it is (a label of ours, or input text already made safe)."""
        if col <= self.column or col >= self.columns:
            self._refuse(col)
        self.column = col
        if col > self.last_column:
            self.last_column = col
        s = "" if style is None else f' s="{style}"'
        self.xml.append(f'<c r="{self.letters[col]}{self.last}"{s} t="inlineStr">{inline(text)}</c>')

    def number(self, col: int, value, style: int) -> None:
        """A number, date or instant with a number-format style; None: an empty styled cell."""
        if col <= self.column or col >= self.columns:
            self._refuse(col)
        self.column = col
        if col > self.last_column:
            self.last_column = col
        if value is None:
            self.xml.append(f'<c r="{self.letters[col]}{self.last}" s="{style}"/>')
        else:
            self.xml.append(f'<c r="{self.letters[col]}{self.last}" s="{style}"><v>{_value_text(value)}</v></c>')

    def add_row(self, cells: list) -> None:
        """The next row, its cells from column A on, in one call (for sheets of many rows): each
        None (no cell), a str (a string cell), or a (value, style) pair: a string cell of that
        style when the value is a str, else a number cell as `number` writes it."""
        self.row()
        if len(cells) > self.columns:
            self._refuse(len(cells) - 1)
        letters, xml, r = self.letters, self.xml, str(self.last)
        col = -1
        for col, cell in enumerate(cells):
            if cell is None:
                continue
            value, style = (cell, None) if type(cell) is str else cell
            if type(value) is str:
                s = "" if style is None else f' s="{style}"'
                xml.append(f'<c r="{letters[col]}{r}"{s} t="inlineStr">{inline(value)}</c>')
            elif value is None:
                xml.append(f'<c r="{letters[col]}{r}" s="{style}"/>')
            else:
                xml.append(f'<c r="{letters[col]}{r}" s="{style}"><v>{_value_text(value)}</v></c>')
        while col >= 0 and cells[col] is None:      # the last cell written
            col -= 1
        self.column = col
        if col > self.last_column:
            self.last_column = col

    def part(self, index: int) -> str:
        selected = ' tabSelected="1"' if index == 0 else ""
        cols = "".join(f'<col min="{c + 1}" max="{c + 1}" width="{width_text(w)}" customWidth="1"/>'
                       for c, w in enumerate(self.widths))
        drawing = '<drawing r:id="rId1"/>' if self.chart else ""
        return (f'{DECLARATION}<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
                f'<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
                f'<dimension ref="A1:{self.letters[self.last_column]}{self.last}"/>'
                f'<sheetViews><sheetView{selected} workbookViewId="0">'
                f'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                f'<selection pane="bottomLeft"/></sheetView></sheetViews>'
                f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
                f'<sheetData>{"".join(self.xml)}</row></sheetData>'
                f'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
                f'<pageSetup paperSize="9" orientation="landscape" fitToHeight="0"/>{drawing}</worksheet>')


def width_pixels(width: int) -> int:
    """Pixels of a column `width` characters wide: 7-pixel digits and 5 pixels of padding."""
    return width * 7 + 5 if width else 0


@lru_cache(maxsize=None)
def width_text(width: int) -> str:
    """A column width as Excel stores it: its pixels in digits, to 1/256 of a character."""
    return number_text(Decimal(width_pixels(width) * 256 // 7) / 256)


class Workbook:
    """An XLSX file being written: sheets, at most one line chart, then `bytes()`.

    `number_formats` are the number formats cells may use; `style(format)` gives the style
    number of one. The document properties carry `created` as creation and modification
    time (a night's as-of date, so that a rerun gives the same bytes).
    """

    def __init__(self, created: date, number_formats: list[str]):
        self.created = created
        self.number_formats = list(dict.fromkeys(number_formats))
        self.sheets: list[Sheet] = []

    def style(self, number_format: str) -> int:
        return FIRST_NUMBER + self.number_formats.index(number_format)

    def sheet(self, title: str, headers: list[str], widths: list[int]) -> Sheet:
        """A new sheet after the others. Its title follows Excel's rules: 1 to 31 characters,
        none of []:*?/\\, not starting or ending with an apostrophe, unique in any case."""
        if not 1 <= len(title) <= 31 or re.search(r"[\[\]:*?/\\]", title) or title[0] == "'" or title[-1] == "'":
            raise ValueError(f"sheet title {title!r}: 1 to 31 characters, none of []:*?/\\, no apostrophe at "
                             f"either end")
        if title.casefold() in {s.title.casefold() for s in self.sheets}:
            raise ValueError(f"sheet title {title!r} is used twice")
        sheet = Sheet(self, title, headers, widths)
        self.sheets.append(sheet)
        return sheet

    def line_chart(self, on: Sheet, row: int, col: int, data: Sheet, series: list[int], rows: int,
                   title: str, y_title: str, x_format: str, size: tuple[int, int]) -> None:
        """A line chart of `data`'s columns `series` (values in rows 2…rows + 1, categories in
        column A, names in row 1) drawn on `on` with its top left corner at (row, col), both
        counted from 0, `size` pixels wide and high. The chart keeps no copy of the values:
        spreadsheet programs read them from the cells."""
        on.chart = (row, col, size, _chart_part(data, series, rows, title, y_title, x_format))

    def keep_sheet(self, title: str, earlier: "Earlier") -> None:
        """A sheet after the others that is the sheet at the same place of `earlier`, unchanged
        (its part is copied as it was compressed). The caller vouches that the sheet would be
        written the same today; `bytes()` checks that `earlier` has the same sheets."""
        self.sheet(title, [title], [1]).kept = earlier

    def keep_chart(self, on: Sheet, row: int, col: int, size: tuple[int, int], earlier: "Earlier") -> None:
        """`line_chart`, of the chart of `earlier` unchanged (its data sheet kept too); none
        when `earlier` has none."""
        if CHART_PART in earlier.entries:
            on.chart = (row, col, size, earlier)

    def bytes(self) -> bytes:
        """The XLSX file. Parts that many workbooks share (the same bytes) are compressed once;
        kept parts are copied as `earlier` had them compressed."""
        charts = [s for s in self.sheets if s.chart]
        if len(charts) > 1:
            raise ValueError("one chart per workbook")
        names = tuple(s.title for s in self.sheets)
        shared = [
            ("[Content_Types].xml", _content_types(len(self.sheets), bool(charts))),
            ("_rels/.rels", _ROOT_RELS),
            ("docProps/app.xml", _app(names)),
            ("xl/workbook.xml", _workbook(names)),                 # (entries[3]: the sheets' names)
            ("xl/_rels/workbook.xml.rels", _workbook_rels(len(self.sheets))),
            ("xl/styles.xml", _styles(tuple(self.number_formats))),
            ("docProps/core.xml", _core(self.created)),       # the same for a night's workbooks
        ]
        entries = [(name, len(data), *_compressed(data)) for name, data in shared]
        workbook = entries[3]
        for earlier in {id(s.kept): s.kept for s in self.sheets if s.kept}.values():
            if earlier.entry("xl/workbook.xml") != workbook:
                raise ValueError(f"sheets kept from a workbook whose sheets are not {list(names)}")
        for i, sheet in enumerate(self.sheets):
            name = f"xl/worksheets/sheet{i + 1}.xml"
            entries.append(sheet.kept.entry(name) if sheet.kept else deflated(name, sheet.part(i).encode("utf-8")))
            if sheet.chart:
                row, col, size, chart = sheet.chart
                drawing = _drawing(row, col, size, tuple(sheet.widths))
                entries += [(name, len(data), *_compressed(data)) for name, data in (
                    (f"xl/worksheets/_rels/sheet{i + 1}.xml.rels", _sheet_drawing_rels()),
                    ("xl/drawings/drawing1.xml", drawing),
                    ("xl/drawings/_rels/drawing1.xml.rels", _drawing_chart_rels()))]
                if isinstance(chart, Earlier):
                    entries.append(chart.entry(CHART_PART))
                else:
                    # charts of as many rows of the same series recur from workbook to workbook
                    data = chart.encode("utf-8")
                    entries.append((CHART_PART, len(data), *_compressed(data)))
        return zip_entries(entries)


CHART_PART = "xl/charts/chart1.xml"


class Earlier:
    """A workbook this writer wrote before, whose parts a new one may keep (`Workbook.keep_sheet`,
    `Workbook.keep_chart`): its entries as they are compressed, by name.

    It reads the zip file as `zip_entries` writes it (an end record without comment, entries
    without extra fields; zipfile's reader costs more than rendering a small sheet) and
    refuses any other file."""

    def __init__(self, data: bytes):
        end = len(data) - 22
        if end < 0 or data[end:end + 4] != b"PK\x05\x06":
            raise ValueError("not a workbook of this writer: no zip end record where it writes it")
        count, _, at = struct.unpack_from("<HII", data, end + 10)
        self.entries: dict[str, tuple[str, int, int, bytes]] = {}
        for _ in range(count):
            (signature, crc, compressed, size, name_length, extra, comment, offset) = struct.unpack_from(
                "<I12xIIIHHH8xI", data, at)
            if signature != 0x02014B50 or extra or comment:
                raise ValueError("not a workbook of this writer: a zip directory entry it does not write")
            name = data[at + 46:at + 46 + name_length].decode("utf-8")
            local_name, local_extra = struct.unpack_from("<HH", data, offset + 26)
            start = offset + 30 + local_name + local_extra      # the local header, the name, then the data
            self.entries[name] = (name, size, crc, data[start:start + compressed])
            at += 46 + name_length

    def entry(self, name: str) -> tuple[str, int, int, bytes]:
        """An entry for `zip_entries`, as this workbook has it."""
        try:
            return self.entries[name]
        except KeyError:
            raise ValueError(f"the earlier workbook has no part {name}") from None


# --- the parts ----------------------------------------------------------------------------

def _inline_item(text: str) -> str:
    """A string cell's text element."""
    if not fits_in_cell(text):
        raise ValueError(f"text of {len(text)} characters is longer than a cell holds ({CELL_LIMIT})")
    text, keep = cell_text(text)
    return f'<is><t xml:space="preserve">{text}</t></is>' if keep else f"<is><t>{text}</t></is>"


#: short texts recur in workbook after workbook (labels, names, services): their elements are
#: kept, at most 4096 of them of at most KNOWN_TEXT characters (a few MB, whatever the inputs)
KNOWN_TEXT = 256
_known_item = lru_cache(maxsize=4096)(_inline_item)


def inline(text: str) -> str:
    """The element of a string cell's text."""
    return _known_item(text) if len(text) <= KNOWN_TEXT else _inline_item(text)


_ROOT_RELS = (
    f'{DECLARATION}<Relationships xmlns="{PKG_REL}">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{PKG_REL}/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{REL}/extended-properties" Target="docProps/app.xml"/>'
    f'</Relationships>').encode()

_OFFICE = "application/vnd.openxmlformats-officedocument"


@lru_cache(maxsize=None)
def _content_types(sheets: int, chart: bool) -> bytes:
    overrides = [("/docProps/app.xml", f"{_OFFICE}.extended-properties+xml"),
                 ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
                 ("/xl/workbook.xml", f"{_OFFICE}.spreadsheetml.sheet.main+xml"),
                 ("/xl/styles.xml", f"{_OFFICE}.spreadsheetml.styles+xml")]
    overrides += [(f"/xl/worksheets/sheet{i + 1}.xml", f"{_OFFICE}.spreadsheetml.worksheet+xml")
                  for i in range(sheets)]
    if chart:
        overrides += [("/xl/drawings/drawing1.xml", f"{_OFFICE}.drawing+xml"),
                      ("/xl/charts/chart1.xml", f"{_OFFICE}.drawingml.chart+xml")]
    return (f'{DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>'
            + "".join(f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in overrides)
            + "</Types>").encode()


@lru_cache(maxsize=None)
def _app(names: tuple[str, ...]) -> bytes:
    titles = "".join(f"<vt:lpstr>{escape(n)}</vt:lpstr>" for n in names)
    return (f'{DECLARATION}<Properties xmlns="{OFFICE_DOCUMENT}/extended-properties" '
            f'xmlns:vt="{OFFICE_DOCUMENT}/docPropsVTypes"><Application>Prepaid Reconciler</Application>'
            f'<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr>'
            f'</vt:variant><vt:variant><vt:i4>{len(names)}</vt:i4></vt:variant></vt:vector></HeadingPairs>'
            f'<TitlesOfParts><vt:vector size="{len(names)}" baseType="lpstr">{titles}</vt:vector></TitlesOfParts>'
            f'</Properties>').encode()


@lru_cache(maxsize=16)
def _core(created: date) -> bytes:
    when = f"{created.isoformat()}T00:00:00Z"
    return (f'{DECLARATION}<cp:coreProperties '
            f'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>Prepaid Reconciler</dc:creator>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified>'
            f'</cp:coreProperties>').encode()


def sheet_reference(name: str) -> str:
    """A sheet name as formulas write it: quoted when it is not a plain word."""
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else "'" + name.replace("'", "''") + "'"


@lru_cache(maxsize=None)
def _workbook(names: tuple[str, ...]) -> bytes:
    sheets = "".join(f'<sheet name={quoteattr(n)} sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                     for i, n in enumerate(names))
    titles = "".join(f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
                     f'{escape(sheet_reference(n))}!$1:$1</definedName>' for i, n in enumerate(names))
    return (f'{DECLARATION}<workbook xmlns="{MAIN}" xmlns:r="{REL}"><bookViews><workbookView/></bookViews>'
            f'<sheets>{sheets}</sheets><definedNames>{titles}</definedNames>'
            f'<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>').encode()


@lru_cache(maxsize=None)
def _workbook_rels(sheets: int) -> bytes:
    rels = [f'<Relationship Id="rId{i + 1}" Type="{REL}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
            for i in range(sheets)]
    rels.append(f'<Relationship Id="rId{sheets + 1}" Type="{REL}/styles" Target="styles.xml"/>')
    return f'{DECLARATION}<Relationships xmlns="{PKG_REL}">{"".join(rels)}</Relationships>'.encode()


@lru_cache(maxsize=None)
def _styles(number_formats: tuple[str, ...]) -> bytes:
    custom, ids = [], []
    for fmt in number_formats:
        if fmt in BUILTIN_FORMATS:
            ids.append(BUILTIN_FORMATS[fmt])
        else:
            ids.append(164 + len(custom))
            custom.append(f'<numFmt numFmtId="{ids[-1]}" formatCode={quoteattr(fmt)}/>')
    font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
    xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
           '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>',
           '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>',
           '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>']
    xfs += [f'<xf numFmtId="{i}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            for i in ids]
    num_fmts = f'<numFmts count="{len(custom)}">{"".join(custom)}</numFmts>' if custom else ""
    return (f'{DECLARATION}<styleSheet xmlns="{MAIN}">{num_fmts}'
            f'<fonts count="3"><font>{font}</font><font><b/><sz val="11"/><color rgb="{HEADER_FONT}"/>'
            f'<name val="Calibri"/><family val="2"/></font><font><b/>{font}</font></fonts>'
            f'<fills count="3"><fill><patternFill patternType="none"/></fill>'
            f'<fill><patternFill patternType="gray125"/></fill>'
            f'<fill><patternFill patternType="solid"><fgColor rgb="{HEADER_FILL}"/><bgColor indexed="64"/>'
            f'</patternFill></fill></fills>'
            f'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            f'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            f'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            f'</styleSheet>').encode()


@lru_cache(maxsize=None)
def _sheet_drawing_rels() -> bytes:
    return (f'{DECLARATION}<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/drawing" '
            f'Target="../drawings/drawing1.xml"/></Relationships>').encode()


@lru_cache(maxsize=None)
def _drawing_chart_rels() -> bytes:
    return (f'{DECLARATION}<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/chart" '
            f'Target="../charts/chart1.xml"/></Relationships>').encode()


@lru_cache(maxsize=None)
def _drawing(row: int, col: int, size: tuple[int, int], widths: tuple[int, ...]) -> bytes:
    """The chart's frame from cell (row, col) over `size` pixels: it ends in the column and
    row where those pixels run out (columns as wide as the sheet's, rows of the default
    height), as spreadsheet programs place it."""
    width, height = size
    end_col, left = col, width
    while end_col < len(widths) and left >= width_pixels(widths[end_col]):
        left -= width_pixels(widths[end_col])
        end_col += 1
    end_row, down = row + height // PIXELS_PER_ROW, height % PIXELS_PER_ROW

    def point(tag: str, c: int, c_off: int, r: int, r_off: int) -> str:
        return (f"<xdr:{tag}><xdr:col>{c}</xdr:col><xdr:colOff>{c_off * EMU_PER_PIXEL}</xdr:colOff>"
                f"<xdr:row>{r}</xdr:row><xdr:rowOff>{r_off * EMU_PER_PIXEL}</xdr:rowOff></xdr:{tag}>")

    return (f'{DECLARATION}<xdr:wsDr xmlns:xdr="{SPREADSHEET_DRAWING}" xmlns:a="{DRAWING_MAIN}">'
            f'<xdr:twoCellAnchor>{point("from", col, 0, row, 0)}{point("to", end_col, left, end_row, down)}'
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="2" name="Chart 1"/>'
            f'<xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>'
            f'<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
            f'<a:graphic><a:graphicData uri="{CHART}"><c:chart xmlns:c="{CHART}" xmlns:r="{REL}" r:id="rId1"/>'
            f'</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>'
            f'</xdr:wsDr>').encode()


def _rich(text: str, vertical: bool = False) -> str:
    body = '<a:bodyPr rot="-5400000" vert="horz"/>' if vertical else "<a:bodyPr/>"
    return (f'<c:tx><c:rich>{body}<a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr><a:r><a:rPr lang="en-US"/>'
            f'<a:t>{escape(text)}</a:t></a:r></a:p></c:rich></c:tx>')


#: the colours of a chart's lines in turn (Office's accents); every series names its own,
#: because a series without a line style is drawn by LibreOffice as no line at all
SERIES_COLOURS = ("4472C4", "ED7D31", "70AD47", "FFC000", "5B9BD5", "A5A5A5", "264478", "9E480E")


def _line(colour: str, width_emu: int = 28575) -> str:
    """A solid line (2.25 pt by default) in an RGB colour."""
    return (f'<a:ln w="{width_emu}" cap="rnd"><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill>'
            f'<a:round/></a:ln>')


def _chart_part(data: Sheet, series: list[int], rows: int, title: str, y_title: str, x_format: str) -> str:
    sheet = escape(sheet_reference(data.title))
    last = rows + 1
    cells = lambda letter: f"{sheet}!${letter}$2" + (f":${letter}${last}" if last > 2 else "")
    ser = []
    for i, col in enumerate(series):
        letter = column_letter(col)
        ser.append(f'<c:ser><c:idx val="{i}"/><c:order val="{i}"/>'
                   f'<c:tx><c:strRef><c:f>{sheet}!${letter}$1</c:f></c:strRef></c:tx>'
                   f'<c:spPr>{_line(SERIES_COLOURS[i % len(SERIES_COLOURS)])}</c:spPr>'
                   f'<c:marker><c:symbol val="none"/></c:marker>'
                   f'<c:cat><c:numRef><c:f>{cells("A")}</c:f></c:numRef></c:cat>'
                   f'<c:val><c:numRef><c:f>{cells(letter)}</c:f></c:numRef></c:val>'
                   f'<c:smooth val="0"/></c:ser>')
    x_axis, y_axis = 50010001, 50010002
    return (f'{DECLARATION}<c:chartSpace xmlns:c="{CHART}" xmlns:a="{DRAWING_MAIN}" xmlns:r="{REL}">'
            f'<c:lang val="en-US"/><c:chart><c:title>{_rich(title)}<c:overlay val="0"/></c:title>'
            f'<c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>'
            f'<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>{"".join(ser)}'
            f'<c:marker val="1"/><c:axId val="{x_axis}"/><c:axId val="{y_axis}"/></c:lineChart>'
            f'<c:catAx><c:axId val="{x_axis}"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
            f'<c:delete val="0"/><c:axPos val="b"/><c:numFmt formatCode={quoteattr(x_format)} sourceLinked="0"/>'
            f'<c:majorTickMark val="out"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
            f'<c:crossAx val="{y_axis}"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/>'
            f'<c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>'
            f'<c:valAx><c:axId val="{y_axis}"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
            f'<c:delete val="0"/><c:axPos val="l"/><c:majorGridlines/>'
            f'<c:title>{_rich(y_title, vertical=True)}<c:overlay val="0"/></c:title>'
            f'<c:numFmt formatCode="General" sourceLinked="1"/><c:majorTickMark val="out"/>'
            f'<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/><c:crossAx val="{x_axis}"/>'
            f'<c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx></c:plotArea>'
            f'<c:legend><c:legendPos val="r"/><c:overlay val="0"/></c:legend><c:plotVisOnly val="1"/>'
            f'<c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>')


# --- the zip file -------------------------------------------------------------------------

#: DOS date and time of every entry: 1980-01-01 00:00 (the same content, the same bytes)
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1
COMPRESSION_LEVEL = 6


@lru_cache(maxsize=1024)
def _compressed(data: bytes) -> tuple[int, bytes]:
    """(CRC-32, raw deflate) of a part that many workbooks share (computed once)."""
    return _deflate(data)


def _deflate(data: bytes) -> tuple[int, bytes]:
    packer = zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, -15)
    return zlib.crc32(data), packer.compress(data) + packer.flush()


def zip_entries(entries: list[tuple[str, int, int, bytes]]) -> bytes:
    """A zip file of already deflated entries (name, size, crc32, deflated bytes)."""
    out, central = [], []
    offset = 0
    for name, size, crc, deflated in entries:
        encoded = name.encode("utf-8")
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, _DOS_TIME, _DOS_DATE, crc,
                             len(deflated), size, len(encoded), 0)
        out += [header, encoded, deflated]
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, _DOS_TIME, _DOS_DATE,
                                   crc, len(deflated), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
        offset += len(header) + len(encoded) + len(deflated)
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), offset, 0)
    return b"".join(out) + directory + end


def deflated(name: str, data: bytes) -> tuple[str, int, int, bytes]:
    """An entry for `zip_entries`."""
    return (name, len(data), *_deflate(data))
