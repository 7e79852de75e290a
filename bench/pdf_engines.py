"""Measure candidate PDF engines on the same invoice: ms per document, same bytes on rerun, hostile text.

Each engine renders the same content (title block, two party blocks, a lines table, totals) in
Source Sans Pro from the `font-source-sans-pro` wheel, so the figures compare engines, not fonts.
Run it once per engine, in a venv holding only that engine and the font package:

    python bench/pdf_engines.py fpdf2 [--runs 30]

`python bench/pdf_engines.py throughput --docs 400 --lines 5 --workers 2` measures documents per
second of transforms.documents.pdf.render_pdfs (the project's venv).

Each engine run prints one line: engine, CPU ms of the first document (imports, fonts), CPU ms per document for
5 and 60 lines (median of the runs, after one warm-up), bytes, identical-on-rerun, and whether the hostile text rendered without an error.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import sys
import time
from html import escape
from importlib.resources import files
from pathlib import Path

FONT_DIR = files("font_source_sans_pro") / "files"
REGULAR = str(FONT_DIR / "SourceSansPro-Regular.ttf")
BOLD = str(FONT_DIR / "SourceSansPro-Bold.ttf")

HOSTILE = "<script>alert(1)</script> 東京都 株式会社 😀 שלום مرحبا Ωmega Łódź Å ñ € £ ¥ \u202e"


def sample(n_lines: int, hostile: bool = False, seq: int = 42) -> dict:
    extra = f" {HOSTILE}" if hostile else ""
    return {
        "title": "Invoice", "number": f"INV-2026-{seq:06d}", "issued_on": "31 Mar 2026",
        "due_on": "30 Apr 2026", "period": "1 Mar 2026 – 31 Mar 2026",
        "seller": ["Prepaid Services SA", "Rue de la Loi 1", "1000 Bruxelles", "BE0123456749"],
        "buyer": ["Müller & Søn GmbH" + extra, "Königstraße 5", "70173 Stuttgart", "DE123456789"],
        "lines": [[str(i), "14 Mar 2026", "anna.o'neil", "Consulting",
                   f"Design review, café résumé naïve façade{extra}", "1 h 30 min", "€120.00", "€180.00"]
                  for i in range(1, n_lines + 1)],
        "net": "€10,800.00", "tax": "€2,268.00", "total": "€13,068.00",
    }


def fpdf2_render(doc: dict) -> bytes:
    import datetime as dt

    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    pdf.add_font("ssp", "", REGULAR)
    pdf.add_font("ssp", "B", BOLD)
    pdf.add_page()
    pdf.set_font("ssp", "B", 18)
    pdf.cell(0, 10, f"{doc['title']} {doc['number']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("ssp", "", 9)
    for a, b in zip(doc["seller"], doc["buyer"]):
        pdf.cell(90, 5, a)
        pdf.cell(90, 5, b, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (8, 22, 24, 22, 60, 18, 18, 18)
    with pdf.table(col_widths=widths, text_align=("LEFT",) * 5 + ("RIGHT",) * 3, repeat_headings=1) as table:
        table.row(["#", "Date", "User", "Service", "Description", "Quantity", "Rate", "Amount"])
        for line in doc["lines"]:
            table.row(line)
    for k in ("net", "tax", "total"):
        pdf.cell(150, 6, k.title(), align="R")
        pdf.cell(30, 6, doc[k], align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def reportlab_render(doc: dict) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    if "ssp" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("ssp", REGULAR))
        pdfmetrics.registerFont(TTFont("ssp-b", BOLD))
    body = ParagraphStyle("b", fontName="ssp", fontSize=9, leading=11)
    title = ParagraphStyle("t", fontName="ssp-b", fontSize=18, leading=22)
    p = lambda text, style=body: Paragraph(escape(text), style)  # noqa: E731 (Paragraph reads markup)
    buf = io.BytesIO()
    story = [p(f"{doc['title']} {doc['number']}", title), Spacer(1, 4 * mm),
             Table([[p(a), p(b)] for a, b in zip(doc["seller"], doc["buyer"])], colWidths=[90 * mm] * 2),
             Spacer(1, 4 * mm)]
    head = ["#", "Date", "User", "Service", "Description", "Quantity", "Rate", "Amount"]
    rows = [[p(c) for c in head]] + [[p(c) for c in line] for line in doc["lines"]]
    widths = [w * mm for w in (8, 22, 24, 22, 60, 18, 18, 18)]
    story.append(Table(rows, colWidths=widths, repeatRows=1))
    story.append(Table([[k.title(), doc[k]] for k in ("net", "tax", "total")], colWidths=[150 * mm, 30 * mm]))
    SimpleDocTemplate(buf, pagesize=A4, invariant=1).build(story)
    return buf.getvalue()


TYPST_SOURCE = """
#let d = json(bytes(sys.inputs.doc))
#set page(paper: "a4")
#set document(date: none)
#set text(font: "Source Sans Pro", size: 9pt)
#text(size: 18pt, weight: "bold")[#d.title #d.number]
#grid(columns: (1fr, 1fr), ..d.seller.zip(d.buyer).flatten())
#table(columns: (8mm, 22mm, 24mm, 22mm, 1fr, 18mm, 18mm, 18mm),
  table.header(..("#", "Date", "User", "Service", "Description", "Quantity", "Rate", "Amount")),
  ..d.lines.flatten())
#align(right)[Net #d.net \\ Tax #d.tax \\ *Total #d.total*]
"""


_typst_compiler = None


def typst_render(doc: dict) -> bytes:
    global _typst_compiler
    import typst

    if _typst_compiler is None:  # one compiler per process, as transforms/documents/pdf.py does: fonts parsed once
        fonts = typst.Fonts(include_system_fonts=False, font_paths=[str(FONT_DIR)])
        _typst_compiler = typst.Compiler(font_paths=fonts)
    # the data goes in as JSON through sys.inputs: never spliced into markup, so it stays text
    return _typst_compiler.compile(TYPST_SOURCE.encode(), sys_inputs={"doc": json.dumps(doc)})


def typst_cold_render(doc: dict) -> bytes:
    """typst.compile with a new compiler per document: what reusing one saves."""
    import typst

    return typst.compile(TYPST_SOURCE.encode(), font_paths=[str(FONT_DIR)], sys_inputs={"doc": json.dumps(doc)})


def xhtml2pdf_render(doc: dict) -> bytes:
    from reportlab import rl_config
    from xhtml2pdf import pisa

    rl_config.invariant = 1  # fixed creation date and document id in the reportlab underneath
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in line) + "</tr>" for line in doc["lines"])
    parties = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td></tr>" for a, b in zip(doc["seller"], doc["buyer"]))
    html = f"""<html><head><style>
    @font-face {{ font-family: ssp; src: url({REGULAR}); }}
    @font-face {{ font-family: ssp; src: url({BOLD}); font-weight: bold; }}
    @page {{ size: a4; margin: 15mm; }} body {{ font-family: ssp; font-size: 9pt; }}
    </style></head><body><h1>{escape(doc['title'])} {escape(doc['number'])}</h1>
    <table>{parties}</table>
    <table repeat="1"><thead><tr><th>#</th><th>Date</th><th>User</th><th>Service</th><th>Description</th>
    <th>Quantity</th><th>Rate</th><th>Amount</th></tr></thead>{rows}</table>
    <p>Net {escape(doc['net'])}<br>Tax {escape(doc['tax'])}<br><b>Total {escape(doc['total'])}</b></p>
    </body></html>"""
    buf = io.BytesIO()
    status = pisa.CreatePDF(html, dest=buf)
    if status.err:
        raise RuntimeError(f"xhtml2pdf: {status.err} errors")
    return buf.getvalue()


def prepaid_render(doc: dict) -> bytes:
    """The project's own renderer (transforms/documents/pdf.py, its own layout) on a full document view."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.transforms.test_pdf import view  # the test's view builder: one source of sample views
    from transforms.documents.pdf import render_pdf

    v = view(n_lines=len(doc["lines"]), hostile=doc["buyer"][0].endswith(HOSTILE))
    v.number = doc["number"]
    return render_pdf(v)


ENGINES = {"fpdf2": fpdf2_render, "reportlab": reportlab_render, "typst": typst_render, "typst-cold": typst_cold_render,
           "xhtml2pdf": xhtml2pdf_render, "prepaid": prepaid_render}


def ms_per_doc(render, n_lines: int, runs: int) -> float:
    """Median CPU milliseconds of one document (all threads of the process): the machine is shared,
    and CPU time moves less with the other load than wall time does."""
    render(sample(n_lines))  # warm-up: imports, font parsing
    times = []
    for seq in range(runs):
        # A new number each run: Typst memoizes, and the same document again would cost nothing.
        doc = sample(n_lines, seq=1000 + seq)
        started = time.process_time_ns()
        render(doc)
        times.append(time.process_time_ns() - started)
    return statistics.median(times) / 1e6


def throughput(n_docs: int, n_lines: int, workers: int) -> None:
    """Documents per second (wall) of transforms.documents.pdf.render_pdfs over n_docs distinct documents."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.transforms.test_pdf import view
    from transforms.documents.pdf import render_pdfs

    docs = []
    for seq in range(n_docs):
        doc = view(n_lines=n_lines)
        doc.number = f"INV-2026-{seq:06d}"
        docs.append(doc)
    started = time.perf_counter()
    total = sum(len(pdf) for pdf in render_pdfs(docs, workers=workers))
    seconds = time.perf_counter() - started
    print(f"render_pdfs: {n_docs} documents of {n_lines} lines, {workers} workers: {seconds:.1f} s, "
          f"{n_docs / seconds:.0f} documents/s, {total / n_docs:.0f} bytes each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=sorted(ENGINES) + ["throughput"])
    parser.add_argument("--docs", type=int, default=400, help="throughput: how many documents")
    parser.add_argument("--lines", type=int, default=5, help="throughput: lines per document")
    parser.add_argument("--workers", type=int, default=2, help="throughput: worker processes")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", help="write the 60-line and hostile PDFs with this prefix, to look at")
    args = parser.parse_args()
    if args.engine == "throughput":
        throughput(args.docs, args.lines, args.workers)
        return
    render = ENGINES[args.engine]
    started = time.process_time()
    first = render(sample(5))
    first_ms = (time.process_time() - started) * 1000
    small, large = ms_per_doc(render, 5, args.runs), ms_per_doc(render, 60, args.runs)
    same = hashlib.sha256(render(sample(60))).digest() == hashlib.sha256(render(sample(60))).digest()
    try:
        hostile_pdf = render(sample(60, hostile=True))
        hostile = "ok"
    except Exception as exc:  # noqa: BLE001 (the bench reports any failure as a finding)
        hostile_pdf, hostile = b"", f"FAILED {type(exc).__name__}: {str(exc)[:80]}"
    if args.out:
        for name, pdf in (("60", render(sample(60))), ("hostile", hostile_pdf)):
            with open(f"{args.out}-{name}.pdf", "wb") as fh:
                fh.write(pdf)
    print(f"{args.engine} python{sys.version_info.major}.{sys.version_info.minor}: first {first_ms:.0f} ms, "
          f"5 lines {small:.1f} ms, 60 lines {large:.1f} ms, {len(first)} / {len(render(sample(60)))} bytes, "
          f"identical on rerun: {same}, hostile text: {hostile}")


if __name__ == "__main__":
    main()
