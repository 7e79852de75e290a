"""The PDF of an issued document: what it prints, on how many A4 pages, with the same bytes every time."""
from __future__ import annotations

import io
from types import SimpleNamespace as NS

import pypdf
import pytest

from transforms.documents import fonts
from transforms.documents.pdf import (BODY, DEFAULT_LABELS, LONG_LINE_CHARS, PARALLEL_FROM, render_pdf, render_pdfs,
                                      view_data, width, wrap)

HOSTILE = '#import "x.typ": * <script>alert(1)</script> *bold* $x$ 東京 😀 שלום مرحبا \u202e Łódź'

# every label the view needs: the renderer's English defaults, plus the three titles
LABELS = {"title_overage": "Invoice", "title_topup": "Invoice", "title_credit_note": "Credit note",
          **DEFAULT_LABELS}


def view(n_lines: int = 5, kind: str = "overage", seller: bool = True, hostile: bool = False) -> NS:
    """A document view as documents.invoice_context gives it: display strings only."""
    extra = f" {HOSTILE}" if hostile else ""
    sign = "-" if kind == "credit_note" else ""
    lines = [NS(line_no=str(i), work_date="14 Mar 2026", user="anna", service="Consulting",
                description=f"Design review {i}, café façade{extra}", quantity="1 h 30 min",
                rate="€120.00", amount=f"{sign}€{100 + i}.00",
                note="Entry corrected: duration was wrong" if kind == "credit_note" else "")
             for i in range(1, n_lines + 1)]
    return NS(
        language="en", labels=LABELS, kind=kind,
        title="Credit note" if kind == "credit_note" else "Invoice",
        number="CN-2026-000003" if kind == "credit_note" else "INV-2026-000042",
        issued_on="31 Mar 2026", due_on="30 Apr 2026", period="1 Mar 2026 – 31 Mar 2026", currency="EUR",
        corrects="INV-2026-000001" if kind == "credit_note" else "",
        corrects_issued_on="28 Feb 2026" if kind == "credit_note" else "",
        seller=NS(name="Prepaid Services SA", address_lines=["Rue de la Loi 1", "1000 Bruxelles", "Belgium"],
                  vat_id="BE0123456749", company_id="0123.456.749", email="billing@prepaid.example",
                  phone="+32 2 123 45 67") if seller else None,
        buyer=NS(name=f"Müller & Søn B.V.{extra}", customer_id="C042",
                 address_lines=[f"Keizersgracht 1{extra}", "1015 CJ Amsterdam", "Netherlands"],
                 vat_id="NL123456789B01", company_id="", buyer_reference="PO-7781"),
        intro="This credit note corrects invoice INV-2026-000001 of 28 Feb 2026." if kind == "credit_note" else "",
        lines=lines,
        tax_breakdown=[NS(category="AE", label="Reverse charge", rate="0%", net="€10,800.00", tax="€0.00")],
        exemption_note="Reverse charge: VAT is due by the recipient (Art. 196 Directive 2006/112/EC)",
        net="€10,800.00", tax="€0.00", total="€10,800.00",
        payment=NS(iban="BE71 0961 2345 6769", bic="GKCCBEBB", reference="INV-2026-000042",
                   due_on="30 Apr 2026", terms="30 days net",
                   instruction="Please pay €10,800.00 to BE71 0961 2345 6769 by 30 Apr 2026.") if seller else None,
        footer_note="Registered office: Rue de la Loi 1, Brussels. RPM Brussels." if seller else "",
    )


def read(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in read(pdf).pages)


def test_render_pdf__same_view_twice__identical_bytes():
    assert render_pdf(view(12)) == render_pdf(view(12))


def test_render_pdf__invoice__one_a4_page_with_number_totals_iban_and_reverse_charge():
    pdf = render_pdf(view(5))
    reader, text = read(pdf), text_of(pdf)
    assert len(reader.pages) == 1
    assert [round(float(x)) for x in reader.pages[0].mediabox] == [0, 0, 595, 842]  # A4 in points
    for expected in ("INV-2026-000042", "Prepaid Services SA", "BE0123456749", "NL123456789B01",
                     "Müller & Søn B.V.", "€10,800.00", "BE71 0961 2345 6769", "Due on", "30 Apr 2026",
                     "Reverse charge: VAT is due by the recipient", "Page 1 of 1", "VAT 0%",
                     "Please pay €10,800.00 to BE71 0961 2345 6769 by 30 Apr 2026.", "Terms: 30 days net"):
        assert expected in text, expected
    for amount in ("€101.00", "€102.00", "€103.00", "€104.00", "€105.00"):
        assert amount in text


def test_render_pdf__70_lines__three_pages_header_repeated_and_every_amount_printed():
    pdf = render_pdf(view(70))
    pages = [page.extract_text() for page in read(pdf).pages]
    assert len(pages) == 3
    assert all("DESCRIPTION" in page for page in pages)  # the table header on every page
    assert [f"Page {n} of 3" in page for n, page in enumerate(pages, 1)] == [True, True, True]
    assert ["(continued)" in page for page in pages] == [False, True, True]
    text = "\n".join(pages)
    assert all(f"€{100 + i}.00" in text for i in range(1, 71))


def test_render_pdf__credit_note__names_corrected_invoice_and_reason():
    text = text_of(render_pdf(view(2, kind="credit_note")))
    for expected in ("Credit note", "CN-2026-000003", "INV-2026-000001 (28 Feb 2026)",
                     "Entry corrected: duration was wrong", "-€101.00", "-€102.00"):
        assert expected in text, expected


def test_render_pdf__no_seller__no_seller_block_and_no_payment_block():
    text = text_of(render_pdf(view(3, seller=False)))
    assert "INV-2026-000042" in text and "C042" in text
    assert "Prepaid Services SA" not in text and "IBAN" not in text


def test_render_pdf__hostile_text__printed_as_text_not_markup():
    pdf = render_pdf(view(3, hostile=True))
    text = text_of(pdf)
    assert '#import "x.typ"' in text and "<script>alert(1)</script>" in text and "*bold*" in text
    assert "Łódź" in text  # the right-to-left override before it was dropped, not obeyed
    assert render_pdf(view(3, hostile=True)) == pdf


@pytest.mark.parametrize("language, typeset_as", [("de", "de"), ("fr", "fr"), ("nl", "nl"), ("xx", "en")])
def test_render_pdf__language__typeset_in_it_unknown_one_as_english(language, typeset_as):
    doc = view(1)
    doc.language = language
    assert view_data(doc)["language"] == typeset_as
    reader = read(render_pdf(doc))
    assert reader.trailer["/Root"]["/Lang"] == typeset_as
    assert len(reader.pages) == 1 and "INV-2026-000042" in reader.pages[0].extract_text()


def test_render_pdf__labels_missing__english_wording_printed():
    doc = view(1)
    doc.labels = {"bill_to": "Rechnung an"}
    text = text_of(render_pdf(doc))
    assert "RECHNUNG AN" in text and "Due on" in text and "Page 1 of 1" in text


def test_render_pdfs__parallel_workers__same_bytes_in_same_order_as_one_by_one():
    views = [view(1) for _ in range(PARALLEL_FROM)]
    for i, doc in enumerate(views):
        doc.number = f"INV-2026-{i:06d}"
    assert list(render_pdfs(views, workers=2)) == [render_pdf(doc) for doc in views]


def test_view_data__word_wider_than_its_column__may_break_anywhere_short_words_untouched():
    doc = view(1)
    doc.lines[0].description = "short words " + "X" * 30
    doc.lines[0].user = "j.smith@client.example"
    doc.buyer.name = "Müller & Søn " + "N" * 41
    data = view_data(doc)
    assert data["lines"][0]["description"] == "short words " + "\u200b".join("X" * 30)
    assert data["lines"][0]["user"] == "\u200b".join("j.smith@client.example")
    assert data["lines"][0]["service"] == "Consulting"
    assert data["buyer"]["name"] == "Müller & Søn " + "\u200b".join("N" * 41)


def test_render_pdf__line_longer_than_a_page__splits_across_pages_from_the_first():
    doc = view(1)
    doc.lines[0].description = "lorem ipsum dolor " * 800
    assert len(doc.lines[0].description) > LONG_LINE_CHARS
    pages = [page.extract_text() for page in read(render_pdf(doc)).pages]
    assert len(pages) == 6
    assert "DESCRIPTION" in pages[0] and "lorem ipsum" in pages[0]  # not pushed whole to page 2
    assert sum(page.count("lorem") for page in pages) == 800


def test_render_pdf__fonts__only_source_sans_pro_from_its_wheel_embedded():
    reader = read(render_pdf(view(3)))
    fonts = {font.get_object()["/BaseFont"].split("+")[1]
             for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert fonts == {"SourceSansPro-Regular", "SourceSansPro-Bold", "SourceSansPro-Semibold"}


def test_render_pdf__greek_cyrillic_polish_and_a_typed_accent__read_back_as_typed():
    doc = view(1)
    doc.buyer.name = "Łódź Ελλάδα Москва Cafe\u0301"  # e + combining acute: printed as the one glyph é
    assert "Łódź Ελλάδα Москва Café" in text_of(render_pdf(doc))


def test_render_pdf__characters_no_face_has__boxes_read_back_as_replacement_characters():
    doc = view(1)
    doc.buyer.name = "東京 Trading"
    assert "\ufffd\ufffd Trading" in text_of(render_pdf(doc))


def test_render_pdf__metadata__title_is_the_document_title_and_number_and_no_date():
    info = read(render_pdf(view(1))).metadata
    assert dict(info) == {"/Title": "Invoice INV-2026-000042"}


@pytest.mark.parametrize("n_lines", range(8, 40))
def test_render_pdf__totals_and_payment__each_block_whole_on_one_page(n_lines):
    pages = [page.extract_text() for page in read(render_pdf(view(n_lines))).pages]
    assert [("VAT CATEGORY" in page, "Total" in page) for page in pages].count((True, True)) == 1
    assert [("PAYMENT" in page, "Terms: 30 days net" in page) for page in pages].count((True, True)) == 1
    assert sum(f"Design review {i}," in page for i in range(1, n_lines + 1) for page in pages) == n_lines


def test_render_pdf__credit_note__note_in_the_italic_face():
    reader = read(render_pdf(view(3, kind="credit_note")))
    fonts_used = {font.get_object()["/BaseFont"].split("+")[1] for font in reader.pages[0]["/Resources"]["/Font"].values()}
    assert "SourceSansPro-It" in fonts_used


def test_wrap__fits__one_line_else_broken_at_spaces_and_zero_width_spaces():
    assert [line.text for line in wrap("aa bb", BODY, width("aa bb", BODY))] == ["aa bb"]
    assert [line.text for line in wrap("aa bb", BODY, width("aa bb", BODY) - 0.1)] == ["aa", "bb"]
    assert [line.text for line in wrap("abc\u200bdef", BODY, width("abcd", BODY))] == ["abc", "def"]
    assert wrap("", BODY, 100) == []


def test_wrap__word_wider_than_the_room__broken_between_characters():
    # digits have one width in Source Sans Pro: three fit in the room of three
    lines = [line.text for line in wrap("x 123456789 y", BODY, width("123", BODY) + 0.01)]
    assert lines == ["x", "123", "456", "789", "y"]


def test_subset__printed_glyphs_and_their_components__same_outlines_same_ids_others_empty():
    face = fonts.face("regular")
    e_acute, a = face.glyph("é")[0], face.glyph("a")[0]
    program = fonts._table_directory(face.subset({e_acute}))
    data = face.subset({e_acute})

    def outline(glyf_at, loca, gid):
        return data[glyf_at + loca[gid]:glyf_at + loca[gid + 1]]

    glyf_at, _ = program[b"glyf"]
    loca_at, loca_len = program[b"loca"]
    loca = [int.from_bytes(data[loca_at + 4 * i:loca_at + 4 * i + 4], "big") for i in range(loca_len // 4)]
    original = face.table(b"glyf")
    components = fonts._components(original, face.loca, e_acute)
    assert len(components) == 2  # é is drawn from e and the acute accent
    for gid in [0, e_acute, *components]:
        kept = outline(glyf_at, loca, gid)
        assert kept.rstrip(b"\0") == original[face.loca[gid]:face.loca[gid + 1]].rstrip(b"\0") and kept
    assert outline(glyf_at, loca, a) == b""
    assert len(loca) == max(e_acute, *components) + 2  # glyphs after the last used one are left out


def font_programs(pdf: bytes) -> dict[str, bytes]:
    """Each embedded face's font program (its FontFile2 stream, decompressed), by face name."""
    out = {}
    for font in read(pdf).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        out[font["/BaseFont"].split("+")[1]] = descriptor["/FontFile2"].get_object().get_data()
    return out


def test_render_pdf__other_ascii_text_and_amounts__documents_share_their_subsets():
    one, other_amounts, other_text, accented = view(1), view(1), view(1), view(1)
    one.total, other_amounts.total = "€1,234.50", "€98,760.00"
    # the address prints in the body face (the name in bold, which shares digits only)
    other_text.buyer.address_lines = ["Quick Jazz Wharf 907", "Box Hill", "Kenya"]
    accented.buyer.address_lines = ["ulica Łódź 5", "90-001 Łódź", "Poland"]
    programs = [font_programs(render_pdf(doc)) for doc in (one, other_amounts, other_text, accented)]
    assert programs[0] == programs[1]    # other digits: the same three font programs
    regular = [p["SourceSansPro-Regular"] for p in programs]
    assert regular[2] == regular[0]      # other ASCII text in the body face: its same program
    assert regular[3] != regular[0]      # Ł, ó, ź are added to the body face's shared glyphs
    face, kept = fonts.face("regular"), fonts._table_directory(regular[0])
    glyf_at, _ = kept[b"glyf"]
    loca_at, loca_len = kept[b"loca"]
    loca = [int.from_bytes(regular[0][loca_at + 4 * i:loca_at + 4 * i + 4], "big") for i in range(loca_len // 4)]
    # every printable ASCII character has its outline, printed or not ("~" is in no view here)
    assert all(loca[face.glyph(c)[0] + 1] > loca[face.glyph(c)[0]] for c in map(chr, range(0x21, 0x7F)))
    assert loca[face.glyph("Ł")[0] + 1] == loca[face.glyph("Ł")[0]]   # a glyph nobody printed stays empty


def test_kerns__the_faces_kern_feature__pairs_as_the_font_sets_them_and_widths_include_them():
    face = fonts.face("regular")  # values checked against fontTools' reading of the same GPOS table
    assert (face.kerns("Te"), face.kerns("AV"), face.kerns("L'"), face.kerns("ab")) == ([-66], [-14], [-89], [0])
    assert width("Te", BODY) == (face.glyph("T")[1] + face.glyph("e")[1] - 66) * 9 / 1000


def test_fit__text_wider_than_the_room__cut_with_an_ellipsis_on_one_line():
    from transforms.documents.pdf import _fit
    room = width("xxx", BODY) + width("…", BODY)
    assert _fit("x" * 3000, BODY, room) == "xxx…"
    assert _fit("a\nb", BODY, 100) == "a b"
