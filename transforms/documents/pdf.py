"""The PDF of an issued document (overage invoice, top-up invoice, credit note), rendered with Typst.

`render_pdf(doc)` reads the document view that the HTML template reads (a SimpleNamespace of
display strings, see `documents.invoice_context`) and returns the bytes of an A4 PDF. It does no
arithmetic and touches no database: everything printed arrives formatted.

Why Typst (figures in docs/decisions.md, "PDF engine"): a wheel with no system libraries, the
fastest of the candidates measured, real table layout (the header row repeats on each page) and
identical bytes on every run once the document date is left out.

Untrusted text never becomes markup: the view goes in as one JSON string through `sys.inputs`
and the Typst program only displays its strings, so `#import`, `*bold*` or `<script>` in a
customer name print as typed. Glyphs missing from every font print as boxes; nothing fails.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from importlib.resources import files
from types import SimpleNamespace
from typing import Any

import typst

from transforms.workers import Pool

# Only these three faces of Source Sans Pro (SIL OFL 1.1, from the font-source-sans-pro wheel) are
# offered to Typst: the wheel holds each face as both .otf and .ttf, and which twin a folder scan
# meets first could differ between machines, and with it the bytes of every PDF.
FONT_FILES = ("SourceSansPro-Regular.ttf", "SourceSansPro-Semibold.ttf", "SourceSansPro-Bold.ttf")
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

TEMPLATE = r"""
#let d = json(bytes(sys.inputs.doc))
#let L = d.labels
#let ink = rgb("#1d2330")
#let muted = rgb("#5a6170")
#let hairline = rgb("#dde1e8")
#let shade = rgb("#f3f5f8")

#set document(title: d.title + " " + d.number, date: none)
#set text(font: "Source Sans Pro", size: 9pt, fill: ink, lang: d.language)
#set par(leading: 0.5em, spacing: 0.9em)
#set page(
  paper: "a4",
  margin: (top: 20mm, bottom: 22mm, x: 16mm),
  header: context {
    if here().page() > 1 {
      set text(size: 8pt, fill: muted)
      grid(columns: (1fr, auto), [#d.title #d.number], [(#L.continued)])
      v(-2mm)
      line(length: 100%, stroke: 0.4pt + hairline)
    }
  },
  footer: context {
    set text(size: 7.5pt, fill: muted)
    line(length: 100%, stroke: 0.4pt + hairline)
    v(-1mm)
    grid(columns: (1fr, auto),
      if d.seller != none [#d.seller.name · #d.number] else [#d.number],
      [#L.page #counter(page).display() #L.of #counter(page).final().first()])
  },
)

#let label(key) = text(size: 7.5pt, fill: muted, weight: "semibold", tracking: 0.06em, upper(L.at(key)))
#let lines-of(items) = items.filter(x => x != "").map(x => [#x]).join(linebreak())
#let id-lines(p) = {
  let out = ()
  if p.vat_id != "" { out.push([#L.vat_id: #p.vat_id]) }
  if p.company_id != "" { out.push([#L.company_id: #p.company_id]) }
  out
}

// Seller on the left, title and dates on the right.
#grid(columns: (1fr, auto), column-gutter: 10mm,
  if d.seller != none {
    let s = d.seller
    text(size: 12pt, weight: "bold")[#s.name]
    linebreak()
    lines-of(s.address_lines + id-lines(s) + (s.email, s.phone))
  },
  align(right, {
    text(size: 20pt, weight: "bold", tracking: 0.02em)[#d.title]
    linebreak()
    text(size: 11pt)[#d.number]
    v(3mm)
    let rows = ((L.issued_on, d.issued_on), (L.due_on, d.due_on), (L.period, d.period))
    if d.corrects != "" {
      rows.push((L.corrects, if d.corrects_issued_on != "" [#d.corrects (#d.corrects_issued_on)] else [#d.corrects]))
    }
    rows.push((L.currency, d.currency))
    grid(columns: (auto, auto), column-gutter: 4mm, row-gutter: 1.6mm, align: (left, right),
      ..rows.filter(r => r.at(1) != "").map(r => (text(fill: muted)[#r.at(0)], [#r.at(1)])).flatten())
  }),
)
#v(2mm)
#line(length: 100%, stroke: 1.2pt + ink)
#v(3mm)

// The buyer.
#block(breakable: false, {
  label("bill_to")
  v(0.6mm)
  let b = d.buyer
  text(size: 10.5pt, weight: "bold")[#b.name]
  linebreak()
  let extra = ([#L.customer: #b.customer_id],)
  if b.buyer_reference != "" { extra.push([#L.buyer_reference: #b.buyer_reference]) }
  lines-of(b.address_lines + id-lines(b) + extra)
})

#if d.intro != "" {
  v(2mm)
  block(fill: shade, stroke: (left: 2pt + rgb("#8a93a6")), inset: (x: 4mm, y: 3mm), width: 100%)[#d.intro]
}
#v(4mm)

// The lines: the header row repeats on every page; a line splits across pages only when it is
// too long to fit on one (`long`, decided in Python), so no text is ever pushed off a page.
#let head(key, end: false) = align(if end { right } else { left }, label(key))
#set table.cell(breakable: false)
#table(
  columns: (auto, auto, 20mm, 22mm, 1fr, auto, auto, auto),
  align: (right, left, left, left, left, right, right, right),
  inset: (x: 1.6mm, y: 2.5mm),
  stroke: (x, y) => (bottom: if y == 0 { 0.8pt + ink } else { 0.4pt + hairline }),
  table.header(align(right, text(size: 7.5pt, fill: muted)[\#]), head("date"), head("user"), head("service"),
    head("description"), head("quantity", end: true), head("rate", end: true), head("amount", end: true)),
  ..d.lines.map(l => {
    let cells = (
      [#l.line_no], [#l.work_date], [#l.user], [#l.service],
      if l.note != "" [#l.description \ #text(size: 8pt, fill: muted, style: "italic")[#l.note]] else [#l.description],
      [#l.quantity], [#l.rate], [#l.amount],
    )
    if l.long { cells.map(c => table.cell(breakable: true, c)) } else { cells }
  }).flatten(),
)
#v(5mm)

// VAT by category on the left, totals on the right.
#block(breakable: false, grid(columns: (1fr, 72mm), column-gutter: 10mm,
  {
    table(columns: (1fr, auto, auto, auto), align: (left, right, right, right),
      inset: (x: 1.6mm, y: 1.6mm),
      stroke: (x, y) => (bottom: if y == 0 { 0.6pt + ink } else { 0.4pt + hairline }),
      table.header(label("tax_category"), align(right, label("tax_rate")), align(right, label("net")), align(right, label("tax"))),
      ..d.tax_breakdown.map(t => ([#t.category · #t.label], [#t.rate], [#t.net], [#t.tax])).flatten())
    if d.exemption_note != "" {
      v(1mm)
      text(weight: "semibold")[#d.exemption_note]
    }
  },
  table(columns: (1fr, auto), align: (left, right), inset: (x: 1.6mm, y: 1.8mm), stroke: none,
    [#L.net], [#d.net],
    ..d.tax_breakdown.map(t => ([#L.tax #t.rate], [#t.tax])).flatten(),
    table.hline(stroke: 1.2pt + ink),
    text(size: 11pt, weight: "bold")[#L.total], text(size: 11pt, weight: "bold")[#d.total],
  ),
))

#if d.payment != none {
  let p = d.payment
  v(6mm)
  block(breakable: false, fill: shade, inset: 4mm, width: 100%, {
    label("payment")
    v(0.6mm)
    if p.instruction != "" { [#p.instruction]; v(1mm) }
    let rows = ((L.iban, p.iban), (L.bic, p.bic), (L.reference, p.reference), (L.due_on, p.due_on))
    grid(columns: (auto, 1fr), column-gutter: 4mm, row-gutter: 1.6mm,
      ..rows.filter(r => r.at(1) != "").map(r => (text(fill: muted)[#r.at(0)], text(weight: "semibold")[#r.at(1)])).flatten())
    if p.terms != "" { v(1mm); text(fill: muted)[#L.terms: #p.terms] }
  })
}

#if d.footer_note != "" {
  v(6mm)
  text(size: 8pt, fill: muted)[#d.footer_note]
}
"""

_SOURCE = TEMPLATE.encode()
_WORD = re.compile(r"\S+")
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
PROSE_WORD = 40  # characters: a longer word in names, addresses and notes may break anywhere
LONG_LINE_CHARS = 1000  # a line with more text than this may split across pages (half a page or so)
PARALLEL_FROM = 40  # documents; below this, starting worker processes costs more than it saves
_local = threading.local()  # one compiler per thread: it holds the parsed fonts between documents
_font_dirs: dict[int, str] = {}  # process id -> the folder of FONT_FILES
_font_lock = threading.Lock()


def render_pdf(doc: SimpleNamespace) -> bytes:
    """The A4 PDF of one document view; the same view gives the same bytes."""
    return _render_json(_json(doc))


def render_pdfs(docs: Iterable[SimpleNamespace], workers: int | None = None) -> Iterator[bytes]:
    """The PDFs of many views, in their order, rendered in spawned processes from PARALLEL_FROM on.

    Yields as the documents come back, so a caller that writes each one holds few in memory.
    Only the views' JSON crosses to the workers: they need neither the warehouse nor the caller's
    objects, and the same JSON gives the same bytes in any process.
    """
    payloads = [_json(doc) for doc in docs]
    with Pool(len(payloads), PARALLEL_FROM, workers) as pool:
        yield from pool.map(_render_json, payloads)


def _json(doc: SimpleNamespace) -> str:
    return json.dumps(view_data(doc), ensure_ascii=False, sort_keys=True)


def _render_json(data: str) -> bytes:
    return _compiler().compile(_SOURCE, sys_inputs={"doc": data}, pdf_tags=False)


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


def _compiler() -> typst.Compiler:
    # Keyed by process id too: a compiler or font folder inherited through fork is not reused.
    if getattr(_local, "pid", None) != os.getpid():
        font_dir = _font_dir()
        # No system fonts: the PDF must not change with what a machine has installed. Typst's own
        # embedded fonts stay as a fallback for glyphs Source Sans Pro lacks.
        fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=True, font_paths=[font_dir])
        # root: the folder Typst may read files from; the template reads none, the data cannot ask.
        _local.compiler, _local.pid = typst.Compiler(root=font_dir, font_paths=fonts), os.getpid()
    return _local.compiler


def _font_dir() -> str:
    with _font_lock:
        if os.getpid() not in _font_dirs:
            font_dir = tempfile.mkdtemp(prefix="prepaid-fonts-")
            atexit.register(shutil.rmtree, font_dir, True)
            source = files("font_source_sans_pro") / "files"
            for name in FONT_FILES:
                shutil.copyfile(str(source / name), os.path.join(font_dir, name))
            _font_dirs[os.getpid()] = font_dir
        return _font_dirs[os.getpid()]
