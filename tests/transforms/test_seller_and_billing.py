"""SPEC §10: seller.toml, the customers' billing columns and VAT categories; §6 archive."""

import shutil
from datetime import date

import pytest

from flows.cli import main
from tests.conftest import write_inbox
from tests.transforms.einvoice_inbox import SELLER
from transforms.documents.seller import SellerError, parse
from transforms.run.nightly import run_nightly
from transforms.warehouse import connect

TL = "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at,description\n"
ENTRY = TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-05T12:00,Fix"
BILLING = "customer_id,name,currency,invoice_cadence,tax_rate_percent,country,endpoint,vat_id,tax_category,tax_exemption_reason\n"


def _seller(**changes) -> dict:
    import tomllib
    data = tomllib.loads(SELLER)
    data["seller"].update(changes)
    return {"seller": {k: v for k, v in data["seller"].items() if v is not None}}


@pytest.mark.parametrize("changes, message", [
    (dict(iban="BE68 5390 0754 7035"), "seller.iban 'BE68539007547035' is not a valid IBAN"),
    (dict(vat_id="0123456749"), "seller.vat_id '0123456749' is not a VAT id with its country prefix"),
    (dict(country="Belgium"), "seller.country 'Belgium' is not an ISO 3166-1 alpha-2 code"),
    (dict(endpoint="0123456749"), "seller.endpoint '0123456749' is not a Peppol id SCHEME:ID"),
    (dict(name=None), "seller.name is required"),
    (dict(payment_terms_days=-1), "seller.payment_terms_days must be a whole number of days"),
    (dict(ibna="BE68539007547034"), "unknown key seller.ibna"),
])
def test_seller_toml__rule_broken__error_names_the_key(changes, message):
    with pytest.raises(SellerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(_seller(**changes))


def test_seller_toml__valid__compact_iban_and_default_terms():
    seller = parse(_seller(payment_terms_days=None))
    assert (seller["iban"], seller["vat_id"], seller["payment_terms_days"]) == ("BE68539007547034", "BE0123456749", 30)


def test_bad_seller_toml__run_stops_before_anything_exit_2_one_line(tmp_path, capsys):
    inbox = write_inbox(tmp_path / "in", customers="customer_id,name,currency,invoice_cadence\nc1,C,EUR,nightly",
                        rates="hourly_rate\n60.00", timelogs=ENTRY)
    (inbox / "seller.toml").write_text(SELLER.replace('iban = "BE68', 'iban = "BE69'), encoding="utf-8")
    code = main(["nightly", "--no-prefect", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w.duckdb"),
                 "--out", str(tmp_path / "out"), "--as-of", "2026-01-31", "--no-reports"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "seller.iban" in err
    con = connect(tmp_path / "w.duckdb", read_only=True)
    assert con.execute("select count(*) from files").fetchone() == (0,)
    assert not (tmp_path / "out").exists()


def test_no_seller_toml__documents_as_before__one_warning(reconcile, tmp_path):
    report = run_nightly(write_inbox(tmp_path / "in", customers="customer_id,name,currency,invoice_cadence\nc1,C,EUR,nightly",
                                     rates="hourly_rate\n60.00", timelogs=ENTRY),
                         tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31), reports_enabled=False)
    assert report.documents == ["INV-2026-000001"]
    assert [w for w in report.warnings if "seller.toml" in w] == [
        "no seller.toml in the inbox: documents carry no seller details and no e-invoice (XML) is written"]
    assert sorted(p.name for p in (tmp_path / "out" / "invoices").iterdir()) == [
        "INV-2026-000001.html", "INV-2026-000001.pdf"]


def test_billing_columns__category_rules__quarantined_with_reason(reconcile):
    out = reconcile(as_of="2026-01-31", customers=BILLING + (
        "c1,Ok,EUR,nightly,21,BE,0208:0987654321,BE0987654321,,\n"
        "c2,S at zero,EUR,nightly,0,,,,S,\n"
        "c3,AE at 21,EUR,nightly,21,,,BE0987654321,AE,\n"
        "c4,E without reason,EUR,nightly,0,,,,E,\n"
        "c5,AE without VAT id,EUR,nightly,0,,,,AE,\n"
        "c6,Bad country,EUR,nightly,0,Belgium,,,,\n"
        "c7,Bad endpoint,EUR,nightly,0,,0987654321,,,\n"
        "c8,Bad category,EUR,nightly,0,,,,X,\n"
        "c9,E with reason,EUR,nightly,0,,,,e,Art. 44\n"))
    assert [(q["line"], q["column"], q["reason_code"]) for q in out.quarantine] == [
        ("3", "tax_category", "inconsistent_value"), ("4", "tax_category", "inconsistent_value"),
        ("5", "tax_exemption_reason", "missing_value"), ("6", "vat_id", "missing_value"),
        ("7", "country", "unparseable_value"), ("8", "endpoint", "unparseable_value"),
        ("9", "tax_category", "unparseable_value")]


def test_archive__run_killed_after_commit_before_archiving__next_run_archives_same_bytes(tmp_path):
    inbox = write_inbox(tmp_path / "in", customers=BILLING + "c1,C,EUR,nightly,21,BE,0208:0987654321,BE0987654321,,",
                        rates="hourly_rate\n60.00", timelogs=ENTRY)
    (inbox / "seller.toml").write_text(SELLER, encoding="utf-8")
    run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out1", date(2026, 1, 31), reports_enabled=False)
    archive = tmp_path / "w-documents"
    kept = {p.name: p.read_bytes() for p in archive.glob("INV-2026/2026-01-31/*")}
    shutil.rmtree(archive)        # as if killed between the commit and the archive
    report = run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out2", date(2026, 2, 1), reports_enabled=False)
    assert report.documents == []
    assert "archived 3 document file(s) of committed run 1" in report.warnings
    assert {p.name: p.read_bytes() for p in archive.glob("INV-2026/2026-01-31/*")} == kept
    assert sorted(p.name for p in archive.iterdir()) == [".runs", "INV-2026"]   # nothing left incoming
    assert sorted(kept) == ["INV-2026-000001.html", "INV-2026-000001.pdf", "INV-2026-000001.xml"]


def test_reprint__archived_file_wins__from_its_day_folder_or_an_older_archives_series_folder(tmp_path):
    """What the archive holds is what was sent (an older engine's PDF, say), and an archive
    written before the day folders keeps its files in the series folder."""
    inbox = write_inbox(tmp_path / "in", customers=BILLING + "c1,C,EUR,nightly,21,BE,0208:0987654321,BE0987654321,,",
                        rates="hourly_rate\n60.00", timelogs=ENTRY)
    (inbox / "seller.toml").write_text(SELLER, encoding="utf-8")
    run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31), reports_enabled=False)
    series = tmp_path / "w-documents" / "INV-2026"
    (series / "2026-01-31" / "INV-2026-000001.pdf").write_bytes(b"%PDF sent on the day")
    main(["document", "INV-2026-000001", "--warehouse", str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "r1")])
    assert (tmp_path / "r1" / "INV-2026-000001.pdf").read_bytes() == b"%PDF sent on the day"
    assert (tmp_path / "r1" / "INV-2026-000001.xml").read_bytes() == \
        (tmp_path / "out" / "invoices" / "INV-2026-000001.xml").read_bytes()
    (series / "2026-01-31" / "INV-2026-000001.pdf").rename(series / "INV-2026-000001.pdf")
    (series / "INV-2026-000001.pdf").write_bytes(b"%PDF of an older archive")
    main(["document", "INV-2026-000001", "--warehouse", str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "r2")])
    assert (tmp_path / "r2" / "INV-2026-000001.pdf").read_bytes() == b"%PDF of an older archive"


def test_archive__run_failing_after_its_documents_were_written__leaves_no_copy_in_the_archive(tmp_path, monkeypatch):
    from transforms.reports import reports

    inbox = write_inbox(tmp_path / "in", customers=BILLING + "c1,C,EUR,nightly,21,BE,0208:0987654321,BE0987654321,,",
                        rates="hourly_rate\n60.00", timelogs=ENTRY)
    (inbox / "seller.toml").write_text(SELLER, encoding="utf-8")
    written = []

    def failing(con, staged, *args, **kwargs):
        written.extend(p.relative_to(tmp_path).as_posix() for p in sorted((tmp_path / "w-documents").rglob("*.pdf")))
        raise RuntimeError("disk gone")

    monkeypatch.setattr(reports, "write_reports", failing)
    with pytest.raises(RuntimeError, match="disk gone"):
        run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31))
    assert written == ["w-documents/.incoming/1/INV-2026/INV-2026-000001.pdf"]
    assert list((tmp_path / "w-documents").iterdir()) == []
