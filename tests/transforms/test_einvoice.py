"""SPEC §10 e-invoices and §6 archive/reprint on a generated inbox of five countries, every VAT
category and hostile text, over a night and a later night with corrections."""

import subprocess
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import read_csv
from tests.transforms.einvoice_inbox import write_night
from transforms import workers
from transforms.documents import archive
from transforms.documents.archive import PARALLEL_FROM, load, render, render_all, reprint
from transforms.run.nightly import run_nightly
from transforms.warehouse import connect

CHECKER = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "einvoice-check"
NS = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
ROOTS = {"Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
         "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"}
#: the UBL 2.1 schema's order of the top-level elements we write (Invoice; CreditNote alike)
UBL_ORDER = ["CustomizationID", "ProfileID", "ID", "IssueDate", "DueDate", "InvoiceTypeCode",
             "CreditNoteTypeCode", "Note", "DocumentCurrencyCode", "BuyerReference", "InvoicePeriod",
             "BillingReference", "AccountingSupplierParty", "AccountingCustomerParty", "PaymentMeans",
             "PaymentTerms", "TaxTotal", "LegalMonetaryTotal", "InvoiceLine", "CreditNoteLine"]
#: the schema's order inside the aggregates we write (UBL 2.1 common aggregate components)
UBL_CHILD_ORDER = {
    "Party": ["EndpointID", "PartyIdentification", "PartyName", "PostalAddress", "PartyTaxScheme",
              "PartyLegalEntity", "Contact"],
    "PostalAddress": ["StreetName", "CityName", "PostalZone", "Country"],
    "Contact": ["Name", "Telephone", "ElectronicMail"],
    "PaymentMeans": ["PaymentMeansCode", "PaymentID", "PayeeFinancialAccount"],
    "PayeeFinancialAccount": ["ID", "Name", "FinancialInstitutionBranch"],
    "InvoiceLine": ["ID", "Note", "InvoicedQuantity", "LineExtensionAmount", "InvoicePeriod", "AllowanceCharge",
                    "Item", "Price"],
    "CreditNoteLine": ["ID", "Note", "CreditedQuantity", "LineExtensionAmount", "InvoicePeriod",
                       "AllowanceCharge", "Item", "Price"],
    "AllowanceCharge": ["ChargeIndicator", "AllowanceChargeReason", "Amount", "BaseAmount"],
    "Item": ["Description", "Name", "SellersItemIdentification", "ClassifiedTaxCategory"],
    "TaxCategory": ["ID", "Percent", "TaxExemptionReasonCode", "TaxExemptionReason", "TaxScheme"],
    "ClassifiedTaxCategory": ["ID", "Percent", "TaxScheme"],
    "TaxSubtotal": ["TaxableAmount", "TaxAmount", "TaxCategory"],
    "LegalMonetaryTotal": ["LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount"],
    "Price": ["PriceAmount", "BaseQuantity"],
}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Both nights run once for the module (each run takes seconds)."""
    base = tmp_path_factory.mktemp("einvoice")
    warehouse = base / "w.duckdb"
    reports = []
    for night, as_of in ((1, date(2026, 1, 31)), (2, date(2026, 2, 3))):
        inbox = write_night(base / f"inbox{night}", night)
        reports.append(run_nightly(inbox, warehouse, base / f"out{night}", as_of, reports_enabled=False))
    return base, reports


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[1]


def _money(el) -> str:
    return el.text


def test_every_document__html_pdf_and_xml__xml_only_where_details_allow(nights):
    base, reports = nights
    for n in (1, 2):
        out = base / f"out{n}"
        docs = read_csv(out / "invoices.csv")
        names = sorted(p.name for p in (out / "invoices").iterdir())
        expected = sorted([f"{d['number']}.{ext}" for d in docs for ext in ("html", "pdf")]
                          + [f"{d['number']}.xml" for d in docs if d["customer_id"] != "xx1"])
        assert names == expected
    assert {d["kind"] for d in read_csv(base / "out1" / "invoices.csv")} == {"overage", "topup"}
    # one credit note per corrected invoice: be1's three corrections, nl1's rate change
    assert [d["customer_id"] for d in read_csv(base / "out2" / "invoices.csv") if d["kind"] == "credit_note"] == [
        "be1", "nl1"]
    assert "customer xx1 gets no e-invoice (XML): missing country, endpoint" in reports[0].warnings


def test_xml__structure_totals_dates_and_billing_reference_match_invoices_csv(nights):
    base, _ = nights
    issued = {}
    for n in (1, 2):
        out = base / f"out{n}"
        lines = read_csv(out / "invoice_lines.csv")
        for doc in read_csv(out / "invoices.csv"):
            issued[doc["number"]] = doc
            path = out / "invoices" / f"{doc['number']}.xml"
            if not path.exists():
                continue
            root = ET.parse(path).getroot()
            kind = "CreditNote" if doc["kind"] == "credit_note" else "Invoice"
            assert root.tag == f"{{{ROOTS[kind]}}}{kind}"
            order = [UBL_ORDER.index(_local(child.tag)) for child in root]
            assert order == sorted(order), f"{path.name}: elements out of UBL order"
            for el in root.iter():
                expected = UBL_CHILD_ORDER.get(_local(el.tag))
                if expected:
                    order = [expected.index(_local(child.tag)) for child in el]
                    assert order == sorted(order), f"{path.name}: {_local(el.tag)} out of UBL order"
                assert el.text is None or el.text.strip() or len(el), f"{path.name}: empty {_local(el.tag)}"
            total = root.find("cac:LegalMonetaryTotal", NS)
            strip = lambda v: v.lstrip("-")     # a CreditNote states credited amounts positive
            assert [total.find(f"cbc:{k}", NS).text for k in ("TaxExclusiveAmount", "TaxInclusiveAmount",
                                                               "PayableAmount")] == [
                strip(doc["net"]), strip(doc["total"]), strip(doc["total"])]
            assert root.find("cac:TaxTotal/cbc:TaxAmount", NS).text == strip(doc["tax"])
            assert root.find("cbc:IssueDate", NS).text == doc["issued_on"]
            doc_lines = root.findall(f"cac:{kind}Line", NS)
            assert [l.find("cbc:LineExtensionAmount", NS).text for l in doc_lines] == [
                strip(l["amount"]) for l in lines if l["number"] == doc["number"]]
            if kind == "Invoice":
                due = date.fromisoformat(doc["issued_on"]) + timedelta(days=30)
                assert root.find("cbc:DueDate", NS).text == due.isoformat()
            else:
                ref = root.find("cac:BillingReference/cac:InvoiceDocumentReference", NS)
                assert ref.find("cbc:ID", NS).text == doc["corrects"]
                assert ref.find("cbc:IssueDate", NS).text == issued[doc["corrects"]]["issued_on"]
            assert root.find("cac:PaymentMeans/cbc:PaymentID", NS).text == doc["number"]
            assert root.find("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", NS).text == "BE68539007547034"


def test_credit_notes__say_why__each_reason_once(nights):
    base, _ = nights
    html = " ".join((base / "out2" / "invoices" / f"{d['number']}.html").read_text(encoding="utf-8")
                    for d in read_csv(base / "out2" / "invoices.csv") if d["kind"] == "credit_note")
    # be1 is Dutch-speaking, nl1 too: the reasons are in Dutch, with what was billed first
    for reason in ("Later gekocht blok dekt haar: boeking e1 eerder gefactureerd €\u00a090,00 op factuur "
                   "INV-2026-000001 van 31 jan 2026",
                   "Boeking gewijzigd: boeking e8", "Boeking vervangen: boeking e9", "Tarief gewijzigd: boeking e3"):
        assert reason in html


def test_hostile_text__escaped_in_html_and_xml(nights):
    base, _ = nights
    number = next(d["number"] for d in read_csv(base / "out1" / "invoices.csv") if d["customer_id"] == "be1")
    html = (base / "out1" / "invoices" / f"{number}.html").read_text(encoding="utf-8")
    xml = (base / "out1" / "invoices" / f"{number}.xml").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Zonen" in html
    assert "<img" not in html and "<script>" not in xml and "<img" not in xml
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.find("cac:AccountingCustomerParty/cac:Party/cac:PartyName/cbc:Name", NS).text == \
        '<script>alert(1)</script> & Zonen "NV"'
    assert root.find("cbc:BuyerReference", NS).text == "=cmd|' /C calc'!A0"


def test_reprint__every_document_byte_identical__from_warehouse_alone(nights, tmp_path):
    base, _ = nights
    con = connect(base / "w.duckdb", read_only=True)
    try:
        for n in (1, 2):
            for path in sorted((base / f"out{n}" / "invoices").iterdir()):
                number = path.name.rsplit(".", 1)[0]
                reprint(con, number, tmp_path / "fresh", archive=None)      # rendered anew
                reprint(con, number, tmp_path / "kept", archive=base / "w-documents")
                assert (tmp_path / "fresh" / path.name).read_bytes() == path.read_bytes()
                assert (tmp_path / "kept" / path.name).read_bytes() == path.read_bytes()
    finally:
        con.close()


def test_archive__keeps_both_nights_by_series_and_day__a_night_issuing_nothing_leaves_them(nights):
    base, _ = nights
    documents = base / "w-documents"

    def archived() -> list[str]:
        return sorted(p.relative_to(documents).as_posix() for p in documents.rglob("*")
                      if p.is_file() and p.parent.name != ".runs")

    written = sorted(f"{p.name.rsplit('-', 1)[0]}/{day}/{p.name}"
                     for n, day in ((1, "2026-01-31"), (2, "2026-02-03"))
                     for p in (base / f"out{n}" / "invoices").iterdir())
    assert archived() == written
    assert sorted(p.name for p in (documents / ".runs").iterdir()) == ["1", "2"]
    assert not (documents / ".incoming").exists()
    again = run_nightly(write_night(base / "inbox3", 2), base / "w.duckdb", base / "out3", date(2026, 2, 3),
                        reports_enabled=False)
    assert again.documents == []
    assert archived() == written


@pytest.mark.skipif(not CHECKER.exists(), reason="../shared/tools/einvoice-check is not beside this clone")
def test_official_rules__en16931_and_peppol__no_fatal_failure(nights):
    base, _ = nights
    result = subprocess.run([str(CHECKER), str(base / "out1" / "invoices"), str(base / "out2" / "invoices")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    checked = sum(1 for n in (1, 2) for _ in (base / f"out{n}" / "invoices").glob("*.xml"))
    assert f"{checked} document(s) checked, 0 with fatal failures" in result.stdout


def test_rendering_in_worker_processes__same_bytes_as_one_by_one(nights):
    base, _ = nights
    con = connect(base / "w.duckdb", read_only=True)
    try:
        jobs = load(con, "true", []) * 5          # 50 documents: above PARALLEL_FROM
    finally:
        con.close()
    assert len(jobs) >= PARALLEL_FROM
    assert list(render_all(jobs)) == [render(*job) for job in jobs]


def test_nightly_documents__parallel_workers_in_batches__same_files_and_bytes_as_serial(tmp_path, monkeypatch):
    inbox = write_night(tmp_path / "inbox", 1)
    pools = []

    class Recorded(workers.Pool):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pools.append(self.parallel)

    monkeypatch.setattr(archive.workers, "Pool", Recorded)
    monkeypatch.setattr(workers, "count", lambda: 2)
    files = {}
    for mode, parallel_from, batch in (("serial", 10 ** 9, 5000), ("parallel", 1, 3)):
        monkeypatch.setattr(archive, "PARALLEL_FROM", parallel_from)
        monkeypatch.setattr(archive, "BATCH", batch)      # several batches, queued behind each other
        run_nightly(inbox, tmp_path / f"{mode}.duckdb", tmp_path / mode, date(2026, 1, 31), reports_enabled=False)
        files[mode] = {str(p.relative_to(tmp_path)).split("/", 1)[1]: p.read_bytes()
                       for folder in (tmp_path / mode / "invoices", tmp_path / f"{mode}-documents")
                       for p in sorted(folder.rglob("*")) if p.is_file() and ".runs" not in p.parts}
    assert pools == [False, True]
    # 7 documents (batches of 3, 3 and 1), each HTML and PDF, and XML but for xx1's
    assert len([name for name in files["serial"] if name.startswith("invoices/")]) == 7 + 7 + 6
    assert files["parallel"] == files["serial"]


def test_line_partly_paid_by_value_block__all_minutes_at_rate_less_explicit_allowance(nights):
    base, _ = nights
    number = next(d["number"] for d in read_csv(base / "out1" / "invoices.csv") if d["customer_id"] == "de1")
    line = ET.parse(base / "out1" / "invoices" / f"{number}.xml").getroot().find("cac:InvoiceLine", NS)
    # e2: 75 min at 95.00/h = 118.75; the value block paid 50.00; billed 68.75
    assert (line.find("cbc:InvoicedQuantity", NS).text, line.find("cbc:LineExtensionAmount", NS).text,
            line.find("cac:AllowanceCharge/cbc:ChargeIndicator", NS).text,
            line.find("cac:AllowanceCharge/cbc:Amount", NS).text,
            line.find("cac:Price/cbc:PriceAmount", NS).text) == ("75", "68.75", "false", "50.00", "95.00")
    html = (base / "out1" / "invoices" / f"{number}.html").read_text(encoding="utf-8")
    assert "1 h 15 min" in html and "Abzüglich verrechnetes Guthaben: 50,00\u00a0€" in html


def test_prepaid_document_command__writes_the_issued_files__unknown_number_exit_2(nights, tmp_path, capsys):
    from flows.cli import main

    base, _ = nights
    code = main(["document", "CN-2026-000001", "--warehouse", str(base / "w.duckdb"), "--out", str(tmp_path)])
    assert code == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
        p.name: p.read_bytes() for p in (base / "out2" / "invoices").glob("CN-2026-000001.*")}
    assert main(["document", "INV-2099-000001", "--warehouse", str(base / "w.duckdb"), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("prepaid: no document 'INV-2099-000001'")
