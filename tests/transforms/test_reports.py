"""SPEC §6 prepaid log: XLSX read back with openpyxl and compared cell by cell."""

from datetime import datetime

from openpyxl import load_workbook

from transforms.reports import customer_dir, safe_name

TL = "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at,description\n"


def test_prepaid_log__summary_log_pending_cells(reconcile):
    out = reconcile(
        customers="customer_id,name,currency\nc1,Acme,EUR",
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on\n"
                  "h1,c1,hours,2,200.00,2026-01-01,2026-01-20\n"
                  "v1,c1,value,50.00,45.00,2026-01-02,",
        rates="hourly_rate\n60", as_of="2026-01-31", reports=True,
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T08:00,=SUM(A1)\n"
                      "e2,c1,ann,support,2026-01-07T09:00,45,2026-01-08T08:00,Printer\n"
                      "e3,c1,bob,support,2026-01-09T09:00,30,,Waiting for approval")
    wb = load_workbook(out.path / "reports" / "c1" / "prepaid-log.xlsx")
    assert wb.sheetnames == ["Summary", "Log", "Pending", "Chart data"]
    summary = [[c.value for c in row] for row in wb["Summary"].iter_rows(min_row=1, max_row=3)]
    assert summary == [
        ["Block", "Kind", "Service", "Unit", "Purchased", "Used", "Expired", "Remaining", "Starts on",
         "Expires on", "Status", "Amount paid", "Breakage"],
        ["h1", "hours", "any", "hours", 2, 2, 0, 0, datetime(2026, 1, 1), datetime(2026, 1, 20),
         "expired", 200, 0],
        ["v1", "value", "any", "money", 50, 15, 0, 35, datetime(2026, 1, 2), None, "active", 45, 0],
    ]
    assert wb["Summary"].freeze_panes == "A2"
    assert wb["Summary"]["L2"].number_format == '"€" #,##0.00;-"€" #,##0.00'
    log = [[c.value for c in row] for row in wb["Log"].iter_rows(min_row=2)]
    assert log == [
        [datetime(2026, 1, 1), "purchase", "h1", "hours · any service", None, None, None, None, None, "hours", 2, 2],
        [datetime(2026, 1, 2), "purchase", "v1", "value · any service", None, None, None, None, None, "money", 50, 50],
        [datetime(2026, 1, 6, 8), "deduction", "h1", "hours · any service", "e1", datetime(2026, 1, 5), "ann",
         "support", "=SUM(A1)", "hours", -1.5, 0.5],
        [datetime(2026, 1, 8, 8), "deduction", "h1", "hours · any service", "e2", datetime(2026, 1, 7), "ann",
         "support", "Printer", "hours", -0.5, 0],
        [datetime(2026, 1, 8, 8), "deduction", "v1", "value · any service", "e2", datetime(2026, 1, 7), "ann",
         "support", "Printer", "money", -15, 35],
        [datetime(2026, 1, 21), "expiry", "h1", "hours · any service", None, None, None, None, None, "hours", 0, 0],
    ]
    assert wb["Log"]["I4"].value == "=SUM(A1)" and wb["Log"]["I4"].data_type == "s"
    pending = [[c.value for c in row] for row in wb["Pending"].iter_rows(min_row=2)]
    assert pending == [["e3", "pending", datetime(2026, 1, 9), "bob", "support", "Waiting for approval", 0.5]]
    assert not any(c.data_type == "f" for ws in wb for row in ws.iter_rows() for c in row)


def test_safe_name__hostile_ids_stay_inside_reports(tmp_path):
    assert safe_name("C-1001") == "C-1001"
    assert safe_name("../../x").startswith("x-") and "/" not in safe_name("../../x")
    assert safe_name("a/b") != safe_name("a_b")
    assert safe_name("..") != ".." and safe_name(".") != "."
    for cid in ("../../x", "a/b", "..", "/etc/passwd", "C:\\x", "x" * 300):
        assert customer_dir(tmp_path, cid).parent == (tmp_path / "reports").resolve()


def test_prepaid_log__rerun__byte_identical_xlsx_and_csv(reconcile):
    files = dict(purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\nh1,c1,hours,2,200,2026-01-01",
                 timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T08:00,Work",
                 as_of="2026-01-31", reports=True)
    first, second = reconcile(**files), reconcile(**files)
    for name in ("prepaid-log.xlsx", "prepaid-log.csv"):
        assert (first.path / "reports" / "c1" / name).read_bytes() == (second.path / "reports" / "c1" / name).read_bytes()
