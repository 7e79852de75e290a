"""SPEC §6 documents: cadence, numbering, immutability and corrections, top-ups, rendering."""

from pathlib import Path

import pytest

from transforms.documents import documents

TL = "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at,description\n"
RATE = "hourly_rate\n60.00"


def customers(cadence="monthly", tax="0"):
    return ("customer_id,name,currency,invoice_cadence,tax_rate_percent\n"
            f"c1,Customer One,EUR,{cadence},{tax}")


def test_monthly_cadence__first_run_catches_up_complete_months_only(reconcile):
    out = reconcile(customers=customers("monthly"), rates=RATE, as_of="2026-03-15",
                    timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,Jan work\n"
                                  "e2,c1,ann,support,2026-01-30T09:00,60,2026-02-02T00:00,Authorized in Feb\n"
                                  "e3,c1,ann,support,2026-03-02T09:00,15,2026-03-03T00:00,March work")
    assert out.rows("invoices") == [
        dict(number="INV-2026-000001", kind="overage", customer_id="c1", issued_on="2026-03-15",
             currency="EUR", net="30.00", tax="0.00", total="30.00", corrects=""),
        dict(number="INV-2026-000002", kind="overage", customer_id="c1", issued_on="2026-03-15",
             currency="EUR", net="60.00", tax="0.00", total="60.00", corrects=""),
    ]
    assert [(l["number"], l["entry_id"], l["minutes"], l["rate"], l["amount"]) for l in out.rows("invoice_lines")] == [
        ("INV-2026-000001", "e1", "30", "60.00", "30.00"),
        ("INV-2026-000002", "e2", "60", "60.00", "60.00"),
    ]
    assert [out.entry(e)["document_numbers"] for e in ("e1", "e2", "e3")] == ["INV-2026-000001", "INV-2026-000002", ""]


def test_nightly_cadence__one_invoice_with_every_unbilled_entry__tax_half_up(reconcile):
    out = reconcile(customers=customers("nightly", tax="19"), rates="hourly_rate\n20.10", as_of="2026-01-10",
                    timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,A\n"
                                  "e2,c1,bob,support,2026-01-09T09:00,0,2026-01-09T12:00,zero minutes")
    # net 10.05; tax 19% = 1.9095 -> 1.91
    assert out.rows("invoices") == [dict(number="INV-2026-000001", kind="overage", customer_id="c1",
                                         issued_on="2026-01-10", currency="EUR", net="10.05", tax="1.91",
                                         total="11.96", corrects="")]
    assert len(out.rows("invoice_lines")) == 1


def test_rerun_with_nothing_new__issues_nothing__numbering_continues_without_gap(reconcile, tmp_path):
    w = tmp_path / "shared.duckdb"
    files = dict(customers=customers("nightly"), rates=RATE, warehouse=w,
                 timelogs={"a.csv": TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,A"})
    first = reconcile(as_of="2026-01-10", **files)
    again = reconcile(as_of="2026-01-10", **files)
    files["timelogs"]["b.csv"] = TL + "e2,c1,ann,support,2026-01-11T09:00,45,2026-01-11T12:00,B"
    later = reconcile(as_of="2026-01-11", **files)
    assert [r["number"] for r in first.rows("invoices")] == ["INV-2026-000001"]
    assert again.rows("invoices") == [] and again.rows("invoice_lines") == []
    assert [r["number"] for r in later.rows("invoices")] == ["INV-2026-000002"]
    assert [(l["entry_id"], l["amount"]) for l in later.rows("invoice_lines")] == [("e2", "45.00")]
    assert later.entry("e1")["document_numbers"] == "INV-2026-000001"


def test_numbering__per_year_of_issue_date(reconcile, tmp_path):
    w = tmp_path / "shared.duckdb"
    files = dict(customers=customers("nightly"), rates=RATE, warehouse=w)
    reconcile(as_of="2026-12-31", timelogs={"a.csv": TL + "e1,c1,ann,support,2026-12-30T09:00,30,2026-12-30T12:00,A"}, **files)
    out = reconcile(as_of="2027-01-02", timelogs={"a.csv": TL + "e1,c1,ann,support,2026-12-30T09:00,30,2026-12-30T12:00,A",
                                                  "b.csv": TL + "e2,c1,ann,support,2027-01-01T09:00,30,2027-01-01T12:00,B"}, **files)
    assert [r["number"] for r in out.rows("invoices")] == ["INV-2027-000001"]


def test_backdated_purchase__credit_note_names_the_original_invoice(reconcile, tmp_path):
    w = tmp_path / "shared.duckdb"
    files = dict(customers=customers("nightly", tax="10"), rates=RATE, warehouse=w,
                 timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T00:00,Server patching")
    first = reconcile(as_of="2026-01-10", **files)
    later = reconcile(as_of="2026-01-12", purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                                                    "b1,c1,hours,1,50,2026-01-01", **files)
    assert [(r["number"], r["net"], r["tax"], r["total"]) for r in first.rows("invoices")] == [
        ("INV-2026-000001", "90.00", "9.00", "99.00")]
    assert later.rows("invoices") == [dict(number="CN-2026-000001", kind="credit_note", customer_id="c1",
                                           issued_on="2026-01-12", currency="EUR", net="-60.00", tax="-6.00",
                                           total="-66.00", corrects="INV-2026-000001")]
    line = later.rows("invoice_lines")[0]
    assert (line["entry_id"], line["minutes"], line["amount"], line["corrects"]) == ("e1", "-60", "-60.00", "INV-2026-000001")
    assert later.entry("e1", "overage_amount", "document_numbers") == dict(
        overage_amount="30.00", document_numbers="INV-2026-000001|CN-2026-000001")


def test_edited_entry_longer__difference_billed_as_adjustment_on_next_invoice(reconcile, tmp_path):
    w = tmp_path / "shared.duckdb"
    files = dict(customers=customers("nightly"), rates=RATE, warehouse=w)
    reconcile(as_of="2026-01-10", timelogs={"a.csv": TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,Fix"}, **files)
    out = reconcile(as_of="2026-01-11", timelogs={"a.csv": TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,Fix",
                                                  "b.csv": TL + "e1,c1,ann,support,2026-01-05T09:00,50,2026-01-06T00:00,Fix"}, **files)
    assert [(l["number"], l["entry_id"], l["description"], l["minutes"], l["amount"]) for l in out.rows("invoice_lines")] == [
        ("INV-2026-000002", "e1", "Adjustment: Fix", "20", "20.00")]
    assert out.entry("e1")["document_numbers"] == "INV-2026-000001|INV-2026-000002"


def test_topup__issued_once_per_breach_episode__purchase_naming_it_ends_episode(reconcile, tmp_path):
    w = tmp_path / "shared.duckdb"
    block = ("block_id,customer_id,kind,quantity,amount_paid,purchased_on,reorder_point,auto_invoice,invoice_number\n"
             "b1,c1,hours,2,200.00,2026-01-01,1,yes,\n")
    files = dict(customers=customers("monthly", tax="20"), rates=RATE, warehouse=w,
                 timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T00:00,Work")
    night1 = reconcile(as_of="2026-01-06", purchases=block, **files)
    night2 = reconcile(as_of="2026-01-07", purchases=block, **files)
    renewed = block + "b2,c1,hours,2,200.00,2026-01-08,1,yes,INV-2026-000001\n"
    night3 = reconcile(as_of="2026-01-08", purchases=renewed, **files)
    assert night1.rows("invoices") == [dict(number="INV-2026-000001", kind="topup", customer_id="c1",
                                            issued_on="2026-01-06", currency="EUR", net="200.00", tax="40.00",
                                            total="240.00", corrects="")]
    assert night1.rows("invoice_lines")[0]["description"] == "Top-up: 2 hours (any service), as block b1"
    assert night1.breaches[0]["topup_invoice_number"] == "INV-2026-000001"
    assert night2.rows("invoices") == []
    assert night2.breaches[0]["topup_invoice_number"] == "INV-2026-000001"
    assert night3.breaches == [] and night3.rows("invoices") == []


@pytest.mark.parametrize("batch", [1, 2, 2000])
def test_customer_batches__any_size__numbers_in_customer_then_kind_order(reconcile, monkeypatch, batch):
    monkeypatch.setattr(documents, "CUSTOMER_BATCH", batch)
    names = "customer_id,name,currency,invoice_cadence,tax_rate_percent\n"
    out = reconcile(customers=names + "".join(f"{c},{c},EUR,nightly,0\n" for c in ("c2", "c10", "c1")),
                    rates=RATE, as_of="2026-01-10",
                    purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,reorder_point,"
                              "auto_invoice,invoice_number\nb1,c10,hours,2,100.00,2026-01-01,1,yes,\n",
                    timelogs=TL + "e1,c2,ann,support,2026-01-05T09:00,60,2026-01-06T00:00,A\n"
                                  "e2,c10,ann,support,2026-01-05T09:00,150,2026-01-06T00:00,B\n"
                                  "e3,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,C")
    assert [(r["number"], r["customer_id"], r["kind"], r["net"]) for r in out.rows("invoices")] == [
        ("INV-2026-000001", "c1", "overage", "30.00"), ("INV-2026-000002", "c10", "overage", "30.00"),
        ("INV-2026-000003", "c10", "topup", "100.00"), ("INV-2026-000004", "c2", "overage", "60.00")]
    assert [(l["number"], l["entry_id"]) for l in out.rows("invoice_lines")] == [
        ("INV-2026-000001", "e3"), ("INV-2026-000002", "e2"), ("INV-2026-000003", ""), ("INV-2026-000004", "e1")]


def test_hostile_text__csv_cells_neutralized__html_escaped(reconcile):
    out = reconcile(customers=customers("nightly"), rates=RATE, as_of="2026-01-10",
                    timelogs=TL + 'e1,c1,=cmd,support,2026-01-05T09:00,30,2026-01-06T00:00,"=HYPERLINK(""http://x"",""y"")"\n'
                                  "e2,c1,ann,support,2026-01-05T10:00,30,2026-01-06T00:00,<script>alert(1)</script>")
    lines = out.rows("invoice_lines")
    assert [l["description"] for l in lines] == ["'=HYPERLINK(\"http://x\",\"y\")", "<script>alert(1)</script>"]
    assert lines[0]["user"] == "'=cmd"
    html = (out.path / "invoices" / "INV-2026-000001.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in html


GOLDEN = Path(__file__).parent.parent / "golden"


def test_invoice_html__matches_golden_file(reconcile):
    out = reconcile(customers="customer_id,name,currency,invoice_cadence,tax_rate_percent\n"
                              "c1,Müller & Söhne GmbH,EUR,monthly,19",
                    rates="customer_id,service,hourly_rate\nc1,support,95.00\nc1,consulting,140.00",
                    as_of="2026-02-01",
                    timelogs=TL + "e1,c1,anna,support,2026-01-05T09:00,75,2026-01-06T00:00,Reset VPN token for j.doe\n"
                                  "e2,c1,ben,consulting,2026-01-19T14:00,1234.5,2026-01-20T09:00,Firewall migration")
    html = (out.path / "invoices" / "INV-2026-000001.html").read_text(encoding="utf-8")
    assert html == (GOLDEN / "INV-2026-000001.html").read_text(encoding="utf-8")


def test_writing_documents__live_display__counts_documents_written_of_the_run(reconcile, tmp_path, monkeypatch):
    import io

    from transforms import progress
    from transforms.documents import archive
    from transforms.warehouse import connect

    w = tmp_path / "w.duckdb"
    reconcile(customers="customer_id,name,currency,invoice_cadence\nc1,One,EUR,nightly\nc2,Two,EUR,nightly\n"
                        "c3,Three,EUR,nightly", rates=RATE, as_of="2026-01-10", warehouse=w,
              timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,A\n"
                            "e2,c2,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,B\n"
                            "e3,c3,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,C")
    seen, render = [], archive.render

    def shown():
        task = progress._display.tasks[0]
        return task.description, task.completed, task.total

    monkeypatch.setattr(archive, "render", lambda doc, lines: seen.append(shown()) or render(doc, lines))
    con = connect(w, read_only=True)
    with progress.cli_output(progress.NORMAL, stream=io.StringIO(), live=True):
        with progress.phase("write_outputs"):
            names = archive.write_run_documents(con, tmp_path / "again", 1)
            seen.append(shown())
    con.close()
    assert seen == [("write_outputs: documents", n, 3) for n in range(4)]
    assert names == [f"INV-2026-00000{n}.{ext}" for n in (1, 2, 3) for ext in ("html", "pdf")]
