"""The PDF of an issued document (overage invoice, top-up invoice, credit note), laid out here.

`render_pdf(doc)` reads the document view that the HTML template reads (a SimpleNamespace of
display strings, see `docview.invoice_context`) and returns the bytes of an A4 PDF. It does no
arithmetic and touches no database: everything printed arrives formatted.

Why our own layout (figures in docs/decisions.md, "PDF engine"): a night issues tens of thousands
of documents, and every general engine measured spends 7 ms or more on the smallest page; this
page has one fixed design, so its layout is a few hundred lines of arithmetic on the font's
advance widths, and the PDF embeds only the glyphs the document prints (`fonts.Face.subset`).

The page: seller and the document's title, number and dates at the top; the buyer; an optional
intro; the lines table, whose header row repeats on every page; the VAT breakdown beside the
totals; the payment block; a footer with "Page x of y" and, after the first page, a header
naming the document. A block that fits on a page is kept whole on one page; a line of the table
splits across pages only when it is longer than LONG_LINE_CHARS or than a page.

Untrusted text is only ever measured and drawn as glyphs, never interpreted. Text is wrapped at
spaces and at the zero-width spaces `view_data` puts into words wider than their column, and a
word still too wide breaks between characters, so nothing runs over the amounts beside it or off
the page. A character Source Sans Pro lacks (CJK, emoji, Hebrew, Arabic) prints as its
missing-glyph box; right-to-left text is printed in the order it was typed.
"""
from __future__ import annotations

import hashlib
import json
import re
import struct
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, NamedTuple

from transforms.documents import fonts
from transforms.workers import Pool

LANGUAGES = ("en", "de", "fr", "nl")

# English wording for a label the view lacks, so a missing key prints a word instead of failing.
DEFAULT_LABELS = {
    "number": "Number", "issued_on": "Issued on", "due_on": "Due on", "period": "Period",
    "corrects": "Corrects", "currency": "Currency", "seller": "From", "bill_to": "Bill to",
    "vat_id": "VAT ID", "company_id": "Company ID", "customer": "Customer",
    "buyer_reference": "Your reference", "date": "Date", "user": "User", "service": "Service",
    "description": "Description", "quantity": "Quantity", "rate": "Rate", "amount": "Amount",
    "net": "Net", "tax": "VAT", "total": "Total", "payment": "Payment", "iban": "IBAN", "bic": "BIC",
    "reference": "Reference", "page": "Page", "of": "of", "reason": "Reason", "continued": "continued",
    "email": "Email", "phone": "Phone", "terms": "Terms", "tax_category": "VAT category", "tax_rate": "Rate",
}

_WORD = re.compile(r"\S+")
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
PROSE_WORD = 40  # characters: a longer word in names, addresses and notes may break anywhere
LONG_LINE_CHARS = 1000  # a line with more text than this may split across pages (half a page or so)
PARALLEL_FROM = 40  # documents; below this, starting worker processes costs more than it saves


def render_pdf(doc: SimpleNamespace) -> bytes:
    """The A4 PDF of one document view; the same view gives the same bytes."""
    return _document(view_data(doc))


def render_pdfs(docs: Iterable[SimpleNamespace], workers: int | None = None) -> Iterator[bytes]:
    """The PDFs of many views, in their order, rendered in spawned processes from PARALLEL_FROM on.

    Yields as the documents come back, so a caller that writes each one holds few in memory.
    Only the views' JSON crosses to the workers: the same JSON gives the same bytes in any process.
    """
    payloads = [json.dumps(view_data(doc), ensure_ascii=False, sort_keys=True) for doc in docs]
    with Pool(len(payloads), PARALLEL_FROM, workers) as pool:
        yield from pool.map(_render_json, payloads)


def _render_json(data: str) -> bytes:
    return _document(json.loads(data))


def view_data(doc: SimpleNamespace) -> dict[str, Any]:
    """The fields of the view that the PDF prints, as plain JSON values (strings, lists, None)."""
    seller, buyer, payment = doc.seller, doc.buyer, doc.payment
    return {
        "language": doc.language if doc.language in LANGUAGES else "en",
        "labels": {key: _text(doc.labels.get(key)) or default for key, default in DEFAULT_LABELS.items()},
        **_strings(doc, ("title", "number", "kind", "issued_on", "due_on", "period", "currency", "corrects",
                         "corrects_issued_on", "net", "tax", "total")),
        **_strings(doc, ("intro", "exemption_note", "footer_note"), prose=True),
        "seller": None if seller is None else {
            **_party(seller), **_strings(seller, ("vat_id", "company_id", "email", "phone"), prose=True)},
        "buyer": {**_party(buyer),
                  **_strings(buyer, ("customer_id", "vat_id", "company_id", "buyer_reference"), prose=True)},
        "lines": [_line(line) for line in doc.lines],
        "tax_breakdown": [{**_strings(row, ("category", "rate", "net", "tax")), **_strings(row, ("label",), prose=True)}
                          for row in doc.tax_breakdown],
        "payment": None if payment is None else {
            **_strings(payment, ("iban", "bic", "reference", "due_on")), **_strings(payment, ("terms",), prose=True),
            # the sentence "Please pay … by …" where the view has one (optional)
            "instruction": _breakable(_text(getattr(payment, "instruction", "")), PROSE_WORD)},
    }


def _strings(obj: Any, keys: tuple[str, ...], prose: bool = False) -> dict[str, str]:
    # prose: free text from the inbox, where a word longer than PROSE_WORD may break anywhere
    return {key: _breakable(_text(_field(obj, key)), PROSE_WORD) if prose else _text(_field(obj, key))
            for key in keys}


def _party(party: Any) -> dict[str, Any]:
    return {"name": _breakable(_text(_field(party, "name")), PROSE_WORD),
            "address_lines": [_breakable(_text(x), PROSE_WORD) for x in _field(party, "address_lines")]}


def _line(line: Any) -> dict[str, Any]:
    out = {key: _text(_field(line, key)) for key in (
        "line_no", "work_date", "user", "service", "description", "quantity", "rate", "amount", "note")}
    # The narrow columns: a word wider than its column may break anywhere instead of running over
    # the amounts beside it.
    for key, width in (("user", 12), ("service", 12), ("description", 28), ("note", 28)):
        out[key] = _breakable(out[key], width)
    out["long"] = len(out["description"]) + len(out["note"]) > LONG_LINE_CHARS
    return out


def _breakable(text: str, longest: int) -> str:
    """`text` with a zero-width space between the characters of each word longer than `longest`."""
    return _WORD.sub(lambda m: _break_anywhere(m.group()) if len(m.group()) > longest else m.group(), text)


def _break_anywhere(word: str) -> str:
    # never inside a character cluster: not before a combining mark or after/before a joiner
    out = [word[0]]
    for before, char in zip(word, word[1:]):
        if not (unicodedata.category(char).startswith("M") or "\u200d" in (before, char)
                or 0xFE00 <= ord(char) <= 0xFE0F or 0x1F3FB <= ord(char) <= 0x1F3FF):
            out.append("\u200b")
        out.append(char)
    return "".join(out)


def _field(obj: Any, key: str) -> Any:
    # The view is read by attribute (SimpleNamespace); a dict in the same shape reads the same.
    return obj[key] if isinstance(obj, dict) else getattr(obj, key)


def _text(value: object) -> str:
    # Display strings by contract; None prints as nothing rather than "None". Bidi override and
    # isolate controls go: in a customer name they could make an amount or IBAN read reversed.
    return "" if value is None else str(value).translate(_BIDI_CONTROLS)


# The page, in points (1/72 inch); y is measured down from the top edge while laying out.
MM = 72 / 25.4
WIDTH, HEIGHT = 595.28, 841.89  # A4
TOP, BOTTOM, SIDE = 20 * MM, 22 * MM, 16 * MM
CONTENT = WIDTH - 2 * SIDE
FLOOR = HEIGHT - BOTTOM  # where the body ends
INK, MUTED, HAIRLINE, SHADE, ACCENT = ("0.114 0.137 0.188", "0.353 0.380 0.439", "0.867 0.882 0.910",
                                       "0.953 0.961 0.973", "0.541 0.576 0.651")
PITCH = 1.16  # line pitch, in sizes: cap height 0.66 plus 0.5 of leading, as a paragraph of prose
BASELINE = 0.9  # a line's baseline below its top, in sizes
PAD_X, PAD_Y = 1.6 * MM, 1.7 * MM  # the lines table's cell padding
ROUNDING = 0.01  # points: text measured as wide as its room fits it, whatever the rounding of sums


class Style(NamedTuple):
    face: str
    size: float
    color: str = INK
    tracking: float = 0.0  # points after each character


BODY = Style("regular", 9)
FADED = Style("regular", 9, MUTED)
STRONG = Style("semibold", 9)
LABEL = Style("semibold", 7.5, MUTED, 0.45)  # printed in capitals
NOTE = Style("italic", 8, MUTED)


class Line(NamedTuple):
    text: str
    style: Style

    @property
    def height(self) -> float:
        return self.style.size * PITCH


def width(text: str, style: Style) -> float:
    return fonts.face(style.face).width(text, style.size, style.tracking)


def wrap(text: str, style: Style, room: float) -> list[Line]:
    """`text` in lines no wider than `room`: broken at spaces and zero-width spaces, and inside a
    word only when the word alone is wider than `room`. Empty text is no line."""
    text = _printable(text)
    if not text:
        return []
    room += ROUNDING
    face = fonts.face(style.face)
    size, tracking = style.size, style.tracking
    measure = lambda s: face.width(s, size, tracking)  # noqa: E731
    if "\n" not in text and measure(text) <= room:
        return [Line(text.replace("\u200b", ""), style)]
    lines = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for piece in _PIECE.findall(paragraph):
            word = piece.rstrip(" \u200b")
            wide = measure(word)
            if line and used + wide > room:
                lines.append(line.rstrip(" \u200b"))
                line, used = "", 0.0
            if wide > room:  # a word wider than the column: break it between characters
                for char in word:
                    step = measure(char)
                    if line and used + step > room:
                        lines.append(line)
                        line, used = "", 0.0
                    line, used = line + char, used + step
            else:
                line, used = line + word, used + wide
            gap = piece[len(word):]
            line, used = line + gap, used + measure(gap)
        lines.append(line.rstrip(" \u200b"))
    return [Line(line.replace("\u200b", ""), style) for line in lines]


_PIECE = re.compile(r"[^ \u200b]*[ \u200b]*")


class Block(NamedTuple):
    """Something drawn at a height: `draw(layout, top)` draws it with its top edge at `top`."""
    height: float
    draw: Callable[[_Layout, float], None]


def _column(page: _Layout, lines: list[Line], x: float, top: float, room: float, align: str) -> None:
    """`lines` one under the other from `top`: a cell of a table, or a label or value."""
    for line in lines:
        page.text(line, x, top, room, align)
        top += line.height


def _height(lines: list[Line]) -> float:
    return sum(line.height for line in lines)


def lines_block(lines: list[Line], x: float, room: float, align: str = "left") -> list[Block]:
    """One block per line, so a run of lines may break across pages between any two."""
    return [Block(line.height, lambda page, top, line=line: page.text(line, x, top, room, align))
            for line in lines]


class _Layout:
    """The pages of one document as content-stream operators, and the glyphs they use."""

    def __init__(self, d: dict[str, Any]):
        self.d = d
        self.pages: list[list[str]] = []
        self.glyphs: dict[str, dict[int, str]] = {}  # face -> glyph id -> the character it shows
        self.new_page()

    # -- drawing ------------------------------------------------------------------------------
    def text(self, line: Line, x: float, top: float, room: float = 0.0, align: str = "left") -> None:
        if not line.text:
            return
        style = line.style
        if align == "right":
            x += room - width(line.text, style)
        hexed = _encode(style.face, line.text, self.glyphs.setdefault(style.face, {}))
        tracking = f"{style.tracking:g} Tc " if style.tracking else ""
        reset = " 0 Tc" if style.tracking else ""
        self.ops.append(f"BT /{style.face} {style.size:g} Tf {style.color} rg {tracking}{x:.2f} "
                        f"{HEIGHT - top - BASELINE * style.size:.2f} Td [{hexed}] TJ{reset} ET")

    def rule(self, y: float, weight: float, color: str, x: float = SIDE, length: float = CONTENT) -> None:
        self.ops.append(f"{weight:g} w {color} RG {x:.2f} {HEIGHT - y:.2f} m {x + length:.2f} {HEIGHT - y:.2f} l S")

    def fill(self, at: int, x: float, top: float, w: float, h: float, color: str) -> None:
        # inserted at `at`, before what was drawn on it since
        self.ops.insert(at, f"{color} rg {x:.2f} {HEIGHT - top - h:.2f} {w:.2f} {h:.2f} re f")

    # -- flow ---------------------------------------------------------------------------------
    def new_page(self) -> None:
        self.ops: list[str] = []
        self.pages.append(self.ops)
        self.y = TOP
        if len(self.pages) > 1:
            d, small = self.d, Style("regular", 8, MUTED)
            self.text(Line(_fit(f"{d['title']} {d['number']}", small, CONTENT * 0.7), small), SIDE, TOP - 9 * MM)
            self.text(Line(f"({d['labels']['continued']})", small), SIDE, TOP - 9 * MM, CONTENT, "right")
            self.rule(TOP - 4 * MM, 0.4, HAIRLINE)

    def room(self) -> float:
        return FLOOR - self.y

    def place(self, blocks: list[Block], keep: bool = True) -> None:
        """Draw `blocks` one under the other: all on one page when they fit on one (`keep`),
        else breaking between blocks where the page ends."""
        total = sum(b.height for b in blocks)
        if keep and total > self.room() and total <= FLOOR - TOP:
            self.new_page()
        for block in blocks:
            if block.height > self.room() and self.y > TOP:
                self.new_page()
            block.draw(self, self.y)
            self.y += block.height

    def boxed(self, blocks: list[Block], fill: str, inset_y: float, accent: bool = False) -> None:
        """`blocks` in a shaded box as wide as the page, kept on one page when it fits; a box
        longer than a page is shaded on each page it covers."""
        total = sum(b.height for b in blocks) + 2 * inset_y
        if total > self.room() and total <= FLOOR - TOP:
            self.new_page()
        at, top = len(self.ops), self.y

        def close() -> None:
            self.fill(at, SIDE, top, CONTENT, self.y - top, fill)
            if accent:
                self.ops.append(f"2 w {ACCENT} RG {SIDE + 1:.2f} {HEIGHT - top:.2f} m "
                                f"{SIDE + 1:.2f} {HEIGHT - self.y:.2f} l S")

        self.y += inset_y
        for block in blocks:
            if block.height > self.room() and self.y > TOP:
                close()
                self.new_page()
                at, top = len(self.ops), self.y
            block.draw(self, self.y)
            self.y += block.height
        self.y += inset_y
        close()

    def gap(self, points: float) -> None:
        self.y = min(self.y + points, FLOOR)

    def side_by_side(self, left: list[Block], right: list[Block]) -> None:
        """Two columns of blocks from the same top, kept on one page when they fit on one; taller
        than a page, the left column flows first and the right one under it."""
        tall = max(sum(b.height for b in left), sum(b.height for b in right))
        if tall > FLOOR - TOP:
            self.place(left, keep=False)
            self.place(right, keep=False)
            return
        if tall > self.room():
            self.new_page()
        for column in (left, right):
            top = self.y
            for block in column:
                block.draw(self, top)
                top += block.height
        self.y += tall


def _document(d: dict[str, Any]) -> bytes:
    page = _Layout(d)
    heading = _heading_width(d)
    page.side_by_side(_seller(d, CONTENT - heading - 10 * MM), _heading(d, heading))
    page.gap(2 * MM)
    page.place([Block(3 * MM + 1.2, lambda p, top: p.rule(top + 0.6, 1.2, INK))])
    page.gap(2 * MM)
    page.place(_buyer(d))
    if d["intro"]:
        page.gap(2 * MM)
        page.boxed(lines_block(wrap(d["intro"], BODY, CONTENT - 8 * MM), SIDE + 4 * MM, CONTENT - 8 * MM),
                   SHADE, 3 * MM, accent=True)
    page.gap(4 * MM)
    _lines_table(page, d)
    page.gap(5 * MM)
    _totals(page, d)
    if d["payment"] is not None:
        page.gap(6 * MM)
        page.boxed(_payment(d), SHADE, 4 * MM)
    if d["footer_note"]:
        page.gap(6 * MM)
        page.place(lines_block(wrap(d["footer_note"], Style("regular", 8, MUTED), CONTENT), SIDE, CONTENT), keep=False)
    _footers(page, d)
    return _pdf(page, d)


def _gap(points: float) -> Block:
    return Block(points, lambda page, top: None)


def _seller(d: dict[str, Any], room: float) -> list[Block]:
    s = d["seller"]
    if s is None:
        return []
    blocks = lines_block(wrap(s["name"], Style("bold", 12), room), SIDE, room)
    for text in [*s["address_lines"], *_ids(s, d["labels"]), s["email"], s["phone"]]:
        blocks += lines_block(wrap(text, BODY, room), SIDE, room)
    return blocks


def _ids(party: dict[str, Any], labels: dict[str, str]) -> list[str]:
    return [f"{labels[key]}: {party[key]}" for key in ("vat_id", "company_id") if party[key]]


TITLE, NUMBER = Style("bold", 20, INK, 0.4), Style("regular", 11)
HEADING_SHARE = 0.6  # of the width, at most, for the title, number and dates
GUTTER = 4 * MM  # between a label and its value


def _meta_rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    labels = d["labels"]
    rows = [(labels["issued_on"], d["issued_on"]), (labels["due_on"], d["due_on"]), (labels["period"], d["period"])]
    if d["corrects"]:
        corrects = f"{d['corrects']} ({d['corrects_issued_on']})" if d["corrects_issued_on"] else d["corrects"]
        rows.append((labels["corrects"], corrects))
    rows.append((labels["currency"], d["currency"]))
    return [row for row in rows if row[1]]


def _heading_width(d: dict[str, Any]) -> float:
    rows = _meta_rows(d)
    grid = (max(width(label, FADED) for label, _ in rows) + GUTTER + max(width(value, BODY) for _, value in rows)
            if rows else 0.0)
    return min(max(width(d["title"], TITLE), width(d["number"], NUMBER), grid), CONTENT * HEADING_SHARE)


def _heading(d: dict[str, Any], room: float) -> list[Block]:
    x = SIDE + CONTENT - room
    blocks = lines_block(wrap(d["title"], TITLE, room), x, room, "right")
    blocks += lines_block(wrap(d["number"], NUMBER, room), x, room, "right")
    blocks.append(_gap(3 * MM))
    rows = _meta_rows(d)
    if rows:
        # the labels as wide as the widest, unless the values then lack room: then half of it
        widest_value = max(width(value, BODY) for _, value in rows)
        label_room = min(max(width(label, FADED) for label, _ in rows), max(room - GUTTER - widest_value, room / 2))
        value_room = min(widest_value, room - label_room - GUTTER)
        left = SIDE + CONTENT - value_room - GUTTER - label_room
        blocks += _grid(rows, left, label_room, value_room, FADED, BODY, "right")
    return blocks


def _grid(rows: list[tuple[str, str]], x: float, label_room: float, value_room: float,
          label_style: Style, value_style: Style, align: str) -> list[Block]:
    """Label and value side by side, a row per pair."""
    blocks = []
    for label, value in rows:
        labels, values = wrap(label, label_style, label_room), wrap(value, value_style, value_room)

        def draw(page: _Layout, top: float, labels=labels, values=values) -> None:
            _column(page, labels, x, top, label_room, "left")
            _column(page, values, x + label_room + GUTTER, top, value_room, align)
        blocks.append(Block(max(_height(labels), _height(values)) + 0.8 * MM, draw))
    return blocks


def _buyer(d: dict[str, Any]) -> list[Block]:
    b, labels = d["buyer"], d["labels"]
    blocks = lines_block(wrap(labels["bill_to"].upper(), LABEL, CONTENT), SIDE, CONTENT) + [_gap(0.6 * MM)]
    blocks += lines_block(wrap(b["name"], Style("bold", 10.5), CONTENT), SIDE, CONTENT)
    extra = [f"{labels['customer']}: {b['customer_id']}"]
    if b["buyer_reference"]:
        extra.append(f"{labels['buyer_reference']}: {b['buyer_reference']}")
    for text in [*b["address_lines"], *_ids(b, labels), *extra]:
        blocks += lines_block(wrap(text, BODY, CONTENT), SIDE, CONTENT)
    return blocks


# The lines table: (key, label key, align, width in points); a None width is as wide as the
# column's widest cell, and the description (0.0) takes what the others leave.
COLUMNS = (("line_no", None, "right", None), ("work_date", "date", "left", None), ("user", "user", "left", 20 * MM),
           ("service", "service", "left", 22 * MM), ("description", "description", "left", 0.0),
           ("quantity", "quantity", "right", None), ("rate", "rate", "right", None),
           ("amount", "amount", "right", None))
AUTO_SHARE = 0.14  # of the width, at most, for a column sized by its content
HEAD_NUMBER = Style("regular", 7.5, MUTED)
HEAD_ROW = LABEL.size * PITCH + 2 * PAD_Y  # the height of the table's header row


class _Row(NamedTuple):
    cells: list[list[Line]]
    levels: list[float]  # the height of each line level: the tallest cell line at that level
    breakable: bool

    @property
    def height(self) -> float:
        return sum(self.levels) + 2 * PAD_Y


def _lines_table(page: _Layout, d: dict[str, Any]) -> None:
    labels = d["labels"]
    heads = [Line("#", HEAD_NUMBER)] + [Line(labels[key].upper(), LABEL) for _, key, _, _ in COLUMNS[1:]]
    widths = []
    for (key, _, _, fixed), head in zip(COLUMNS, heads):
        if fixed is None:
            widest = max([width(head.text, head.style)] + [width(line[key], BODY) for line in d["lines"]])
            fixed = min(widest + 2 * PAD_X, CONTENT * AUTO_SHARE)
        widths.append(fixed)
    widths[4] = CONTENT - sum(widths)
    xs = [SIDE + sum(widths[:i]) for i in range(len(widths))]
    aligns = [align for _, _, align, _ in COLUMNS]
    head_row = _row([[line] for line in heads], False)

    def draw(row: _Row, first: int, last: int, top: float, rule: tuple[float, str]) -> float:
        height = sum(row.levels[first:last]) + 2 * PAD_Y
        for x, w, align, cell in zip(xs, widths, aligns, row.cells):
            _column(page, cell[first:last], x + PAD_X, top + PAD_Y, w - 2 * PAD_X, align)
        page.rule(top + height, *rule)
        return height

    def header() -> None:
        page.y += draw(head_row, 0, 1, page.y, (0.8, INK))

    rows = [_row_of(line, widths) for line in d["lines"]]
    if rows and not rows[0].breakable and head_row.height + rows[0].height > page.room():
        page.new_page()  # no table header alone at the foot of a page
    header()
    at_top = TOP + head_row.height + 0.01
    for row in rows:
        first = 0
        while first < len(row.levels):
            fits, room = first, page.room() - 2 * PAD_Y
            while fits < len(row.levels) and row.levels[fits] <= room:
                room -= row.levels[fits]
                fits += 1
            if fits < len(row.levels) and (not row.breakable or fits == first):
                if page.y > at_top:  # not already at the top of a page
                    page.new_page()
                    header()
                    continue
                fits = max(fits, first + 1)  # taller than a page yet unbreakable: never happens
            page.y += draw(row, first, fits, page.y, (0.4, HAIRLINE))
            first = fits


def _row_of(line: dict[str, Any], widths: list[float]) -> _Row:
    cells = []
    for (key, _, _, _), w in zip(COLUMNS, widths):
        cell = wrap(line[key], BODY, w - 2 * PAD_X)
        if key == "description":
            cell += wrap(line["note"], NOTE, w - 2 * PAD_X)
        cells.append(cell)
    row = _row(cells, line["long"])
    # A line taller than what a page holds under the table header must split anyway.
    return row if row.breakable or row.height <= FLOOR - TOP - HEAD_ROW else row._replace(breakable=True)


def _row(cells: list[list[Line]], breakable: bool) -> _Row:
    depth = max((len(cell) for cell in cells), default=0)
    levels = [max((cell[i].height for cell in cells if i < len(cell)), default=0.0) for i in range(depth)]
    return _Row(cells, levels or [BODY.size * PITCH], breakable)


TOTALS_WIDTH = 72 * MM
TOTAL = Style("bold", 11)


def _totals(page: _Layout, d: dict[str, Any]) -> None:
    """The VAT breakdown by category on the left, the totals on the right; the exemption wording
    under the breakdown (flowing on after it when the whole would not fit on a page)."""
    labels, pad = d["labels"], 1.6 * MM
    room = CONTENT - TOTALS_WIDTH - 10 * MM
    heads = [Line(labels[key].upper(), LABEL) for key in ("tax_category", "tax_rate", "net", "tax")]
    cells = [[f"{t['category']} · {t['label']}", t["rate"], t["net"], t["tax"]] for t in d["tax_breakdown"]]
    widths = [0.0] + [min(max([width(heads[i].text, LABEL)] + [width(row[i], BODY) for row in cells]) + 2 * pad,
                          room / 4) for i in (1, 2, 3)]
    widths[0] = room - sum(widths)
    xs = [SIDE + sum(widths[:i]) for i in range(4)]
    left = [_table_row([[h] for h in heads], xs, widths, pad, pad, (0.6, INK))]
    left += [_table_row([wrap(text, BODY, w - 2 * pad) for text, w in zip(row, widths)], xs, widths, pad, pad,
                        (0.4, HAIRLINE)) for row in cells]
    note = [_gap(2 * MM), *lines_block(wrap(d["exemption_note"], STRONG, room), SIDE, room)] if d["exemption_note"] else []
    x, w = SIDE + CONTENT - TOTALS_WIDTH, TOTALS_WIDTH
    pairs = [(labels["net"], d["net"])] + [(f"{labels['tax']} {t['rate']}", t["tax"]) for t in d["tax_breakdown"]]
    right = [_table_row([wrap(a, BODY, w / 2 - 2 * pad), wrap(b, BODY, w / 2 - 2 * pad)], [x, x + w / 2],
                        [w / 2, w / 2], pad, 1.8 * MM, None) for a, b in pairs]
    right.append(Block(1.2, lambda p, top: p.rule(top + 0.6, 1.2, INK, x, w)))
    right.append(_table_row([wrap(labels["total"], TOTAL, w / 2 - 2 * pad), wrap(d["total"], TOTAL, w / 2 - 2 * pad)],
                            [x, x + w / 2], [w / 2, w / 2], pad, 1.8 * MM, None))
    if max(sum(b.height for b in left + note), sum(b.height for b in right)) <= FLOOR - TOP:
        page.side_by_side(left + note, right)
    else:
        page.side_by_side(left, right)
        page.place(note, keep=False)


def _table_row(cells: list[list[Line]], xs: list[float], widths: list[float], pad_x: float, pad_y: float,
               rule: tuple[float, str] | None) -> Block:
    """One row of a small table; the first column left-aligned, the others right-aligned."""
    height = max((_height(cell) for cell in cells), default=0.0) + 2 * pad_y

    def draw(page: _Layout, top: float) -> None:
        for i, (x, w, cell) in enumerate(zip(xs, widths, cells)):
            _column(page, cell, x + pad_x, top + pad_y, w - 2 * pad_x, "right" if i else "left")
        if rule is not None:
            page.rule(top + height, rule[0], rule[1], xs[0], sum(widths))
    return Block(height, draw)


def _payment(d: dict[str, Any]) -> list[Block]:
    p, labels = d["payment"], d["labels"]
    x, room = SIDE + 4 * MM, CONTENT - 8 * MM
    blocks = lines_block(wrap(labels["payment"].upper(), LABEL, room), x, room) + [_gap(0.6 * MM)]
    if p["instruction"]:
        blocks += lines_block(wrap(p["instruction"], BODY, room), x, room) + [_gap(1 * MM)]
    rows = [(labels[key], p[key]) for key in ("iban", "bic", "reference", "due_on") if p[key]]
    if rows:
        label_room = min(max(width(label, FADED) for label, _ in rows), room / 3)
        blocks += _grid(rows, x, label_room, room - label_room - GUTTER, FADED, STRONG, "left")
    if p["terms"]:
        blocks += lines_block(wrap(f"{labels['terms']}: {p['terms']}", FADED, room), x, room)
    return blocks


def _footers(page: _Layout, d: dict[str, Any]) -> None:
    labels, small = d["labels"], Style("regular", 7.5, MUTED)
    who = f"{d['seller']['name']} · {d['number']}" if d["seller"] is not None else d["number"]
    left = Line(_fit(who, small, CONTENT * 0.7), small)
    count = len(page.pages)
    for number, ops in enumerate(page.pages, 1):
        page.ops = ops
        page.rule(FLOOR + 4 * MM, 0.4, HAIRLINE)
        page.text(left, SIDE, FLOOR + 5.5 * MM)
        page.text(Line(f"{labels['page']} {number} {labels['of']} {count}", small), SIDE, FLOOR + 5.5 * MM,
                  CONTENT, "right")


def _fit(text: str, style: Style, room: float) -> str:
    """`text` on one line no wider than `room`, cut short with an ellipsis when it is wider."""
    text = _printable(text).replace("\n", " ").replace("\u200b", "")
    if width(text, style) <= room:
        return text
    # character by character (kerning aside, which only ever shifts the cut by a character)
    room += ROUNDING - width("…", style)
    used, end = 0.0, 0
    while end < len(text) and used + width(text[end], style) <= room:
        used += width(text[end], style)
        end += 1
    return text[:end] + "…"


_CONTROLS = dict.fromkeys([*range(0x00, 0x0A), *range(0x0B, 0x20), 0x7F], " ")


def _printable(text: str) -> str:
    """Composed characters (one glyph for é), control characters as spaces, line breaks kept."""
    return fonts.nfc(text).translate(_CONTROLS)


# Glyph ids per (face, text), shared by the documents of a process: labels, dates, services and
# amounts repeat from one document to the next. Cleared when full, so memory stays bounded.
_ENCODED: dict[tuple[str, str], tuple[str, dict[int, str]]] = {}
_ENCODED_MAX = 100_000


def _encode(face: str, text: str, used: dict[int, str]) -> str:
    """`text` as the operand of TJ: its glyph ids (2 bytes each, in hex) with their kerning;
    records the glyphs in `used`."""
    key = (face, text)
    hit = _ENCODED.get(key)
    if hit is None:
        font = fonts.face(face)
        gids = [font.glyph(char)[0] for char in text]
        # The TJ operand: runs of glyphs, and between two runs the kerning of the pair that
        # separates them (in 1/1000 of the size; TJ moves left by it, so closer is positive).
        parts, start = [], 0
        for i, kern in enumerate(font.kerns(text), 1):
            if kern:
                parts += [struct.pack(f">{i - start}H", *gids[start:i]).hex().join("<>"), str(-kern)]
                start = i
        parts.append(struct.pack(f">{len(gids) - start}H", *gids[start:]).hex().join("<>"))
        # a glyph shown by two characters (only the missing-glyph box) reads back as the last
        hit = (" ".join(parts), dict(zip(gids, text)))
        if len(_ENCODED) >= _ENCODED_MAX:
            _ENCODED.clear()
        _ENCODED[key] = hit
    used.update(hit[1])
    return hit[0]


# -- the PDF file --------------------------------------------------------------------------------

def _pdf(page: _Layout, d: dict[str, Any]) -> bytes:
    """The pages as a PDF 1.7 file: objects in a fixed order, no dates, ids from the content."""
    objects: list[bytes] = [b"", b"", b""]  # 1 catalog, 2 page tree, 3 information

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    used = [key for key in fonts.FACES if page.glyphs.get(key)]
    font_refs = " ".join(f"/{key} {_font(add, key, page.glyphs[key])} 0 R" for key in used)
    resources = add(f"<< /Font << {font_refs} >> >>".encode())
    kids = []
    for ops in page.pages:
        content = add(_stream("\n".join(ops).encode()))
        kids.append(add(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {WIDTH} {HEIGHT}] "
                        f"/Resources {resources} 0 R /Contents {content} 0 R >>".encode()))
    objects[0] = f"<< /Type /Catalog /Pages 2 0 R /Lang {_string(d['language'])} >>".encode()
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{kid} 0 R' for kid in kids)}] /Count {len(kids)} >>".encode()
    objects[2] = f"<< /Title {_string(_printable(d['title'] + ' ' + d['number']))} >>".encode()
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    ident = hashlib.md5(out).hexdigest()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 3 0 R /ID [<{ident}> <{ident}>] >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def _font(add: Callable[[bytes], int], style: str, used: dict[int, str]) -> int:
    """The objects of one face's subset (PDF 1.7, 9.7: a Type 0 font over a CIDFontType2 whose CIDs
    are the glyph ids); returns the Type 0 font's object number."""
    face = fonts.face(style)
    name, program = _program(style, tuple(sorted(used.keys() | _base(style))))
    scale = 1000 / face.units
    bbox = " ".join(str(round(v * scale)) for v in face.bbox)
    program_ref = add(program)
    descriptor = add((f"<< /Type /FontDescriptor /FontName /{name} /Flags {4 | (64 if face.italic_angle else 0)} "
                      f"/FontBBox [{bbox}] /ItalicAngle {face.italic_angle:g} /Ascent {round(face.ascent * scale)} "
                      f"/Descent {round(face.descent * scale)} /CapHeight {round(face.cap_height * scale)} "
                      f"/StemV 80 /FontFile2 {program_ref} 0 R >>").encode())
    widths = " ".join(f"{gid} [{face.glyph(char)[1]}]" for gid, char in sorted(used.items()))
    cid = add((f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << /Registry (Adobe) "
               f"/Ordering (Identity) /Supplement 0 >> /FontDescriptor {descriptor} 0 R /DW 0 /W [{widths}] "
               f"/CIDToGIDMap /Identity >>").encode())
    to_unicode = add(_stream(_to_unicode(used)))
    return add((f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
                f"/DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>").encode())


REPLACEMENT = "\ufffd"


#: glyphs every subset of a face holds besides those its document prints, so that most documents
#: share their subsets (one subset made and compressed per process, not one per document): the
#: body face prints each customer's own text, the other faces amounts, dates and numbers
BASE_TEXT = {"regular": "".join(map(chr, range(0x20, 0x7F)))}
BASE_NUMBERS = "0123456789 .,-+%/:"


@lru_cache(maxsize=None)
def _base(style: str) -> frozenset[int]:
    face = fonts.face(style)
    return frozenset(face.glyph(char)[0] for char in BASE_TEXT.get(style, BASE_NUMBERS))


@lru_cache(maxsize=512)
def _program(style: str, gids: tuple[int, ...]) -> tuple[str, bytes]:
    """The subset's PDF name and its font-file stream. Kept for the next document that prints
    the same glyphs of a face (the labels' face prints the same few in every document)."""
    face = fonts.face(style)
    program = face.subset(set(gids))
    tag = "".join(chr(65 + byte % 26) for byte in hashlib.md5(program).digest()[:6])
    return f"{tag}+{face.name}", _stream(program, f" /Length1 {len(program)}")


def _to_unicode(used: dict[int, str]) -> bytes:
    """The map from glyph id back to text, so text copied or searched in the PDF reads as typed.
    The missing-glyph box stands for many characters and maps to U+FFFD."""
    pairs = [f"<{gid:04X}> <{(char if gid else REPLACEMENT).encode('utf-16-be').hex().upper()}>"
             for gid, char in sorted(used.items())]
    chunks = "".join(f"{len(pairs[i:i + 100])} beginbfchar\n" + "\n".join(pairs[i:i + 100]) + "\nendbfchar\n"
                     for i in range(0, len(pairs), 100))
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + chunks +
            "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode()


def _stream(data: bytes, extra: str = "") -> bytes:
    packed = zlib.compress(data, 6)
    return b"<< /Length %d /Filter /FlateDecode%s >>\nstream\n%s\nendstream" % (len(packed), extra.encode(), packed)


def _string(text: str) -> str:
    """A PDF text string: UTF-16 with its byte-order mark, in hex, so no character needs escaping."""
    return f"<FEFF{text.encode('utf-16-be').hex().upper()}>"
