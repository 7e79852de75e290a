"""transforms.reports.analysis: each helper on a tiny inline inbox, exact values, read-only."""

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from transforms.reports import analysis
from transforms.warehouse import open_warehouse

CUSTOMERS = ("customer_id,name,currency,requires_authorization\n"
             "c1,One,EUR,false\n"
             "c2,Two,USD,true")
TL = "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at,billable\n"


@pytest.fixture
def warehouse(reconcile, tmp_path):
    """Run the real nightly job on an inline inbox, then open its warehouse read-only."""
    def run(as_of: str, customers: str = CUSTOMERS, **files):
        path = tmp_path / "w.duckdb"
        reconcile(as_of=as_of, customers=customers, warehouse=path, **files)
        return open_warehouse(path)
    return run


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return [tuple(r) for r in frame[list(columns)].itertuples(index=False)]


def test_balances__as_of_last_run__money_as_decimal(warehouse):
    with warehouse(purchases="block_id,customer_id,kind,service,quantity,amount_paid,purchased_on\n"
                             "h1,c1,hours,,10,950.00,2026-01-01\n"
                             "v1,c1,value,,100.00,90.00,2026-01-01",
                   timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,,",
                   as_of="2026-01-31") as con:
        assert analysis.last_run(con).as_of == date(2026, 1, 31)
        frame = analysis.balances(con, as_of=date(2026, 1, 31))
        assert rows(frame, "block_id", "unit", "purchased", "used", "expired", "remaining",
                    "status", "currency", "amount_paid") == [
            ("h1", "minutes", 600, 90, 0, 510, "active", "EUR", Decimal("950.00")),
            ("v1", "money", Decimal("100.00"), Decimal("0.00"), Decimal("0.00"),
             Decimal("100.00"), "active", "EUR", Decimal("90.00")),
        ]
        assert list(analysis.balances(con, customer_id="c2").block_id) == []
        with pytest.raises(ValueError, match="as of 2026-01-31"):
            analysis.balances(con, as_of=date(2026, 2, 1))


def test_prepaid_log__running_remaining_per_pool__through_deductions_and_expiry(warehouse):
    with warehouse(purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on\n"
                             "h1,c1,hours,2,190.00,2026-01-01,2026-01-31\n"
                             "v1,c1,value,50.00,50.00,2026-01-01,",
                   rates="hourly_rate\n60.00",
                   timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,,\n"
                                 "e2,c1,bob,support,2026-01-10T09:00,20,,\n"
                                 "e3,c1,ann,support,2026-02-02T09:00,30,,",
                   as_of="2026-02-15") as con:
        log = analysis.prepaid_log(con, "c1")
    assert rows(log, "event", "block_id", "entry_id", "user", "minutes", "amount", "remaining") == [
        ("purchase", "h1", None, None, 120, None, 120),
        ("purchase", "v1", None, None, pd.NA, Decimal("50.00"), Decimal("50.00")),
        ("deduction", "h1", "e1", "ann", -90, None, 30),
        ("deduction", "h1", "e2", "bob", -20, None, 10),
        ("expiry", "h1", None, None, -10, None, 0),
        ("deduction", "v1", "e3", "ann", pd.NA, Decimal("-30.00"), Decimal("20.00")),
    ]
    assert list(log["at"][:3]) == [pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-01-01", tz="UTC"),
                                   pd.Timestamp("2026-01-05T10:30", tz="UTC")]


def test_burn_rate__constant_burn__run_out_projected(warehouse):
    # 60 minutes every Monday; the window is the 4 weeks 2026-01-04..2026-01-31.
    with warehouse(purchases="block_id,customer_id,kind,service,quantity,amount_paid,purchased_on\n"
                             "h1,c1,hours,,10,950.00,2025-12-01\n"
                             "v1,c1,value,,100.00,100.00,2025-12-01",
                   timelogs=TL + "e0,c1,ann,support,2026-01-02T09:00,60,,\n"
                                 "e1,c1,ann,support,2026-01-05T09:00,60,,\n"
                                 "e2,c1,ann,support,2026-01-12T09:00,60,,\n"
                                 "e3,c1,ann,support,2026-01-19T09:00,60,,\n"
                                 "e4,c1,ann,support,2026-01-26T09:00,60,,",
                   as_of="2026-01-31") as con:
        burn = analysis.burn_rates(con, weeks=4)
    assert rows(burn, "kind", "remaining", "burned", "burn_per_week", "run_out_on") == [
        # 300 left at 60 a week (e0 is before the window): 35 days
        ("hours", 300, 240, Decimal("60.00"), date(2026, 3, 7)),
        ("value", Decimal("100.00"), Decimal("0.00"), Decimal("0.00"), None),
    ]


@pytest.mark.parametrize("remaining,burned,weeks,expected", [
    (300, 240, 4, date(2026, 3, 7)),           # exactly 35 days
    (1, 7, 1, date(2026, 2, 1)),               # one day's burn: the next day
    (8, 7, 1, date(2026, 2, 8)),               # 8/7 days: runs out during the 2nd day -> ceil
    (Decimal("100.00"), Decimal("25.00"), 1, date(2026, 2, 28)),
    (0, 60, 4, date(2026, 1, 31)),             # nothing left: already run out
    (300, 0, 4, None),                         # no burn: no projection
])
def test_project_run_out__constant_burn(remaining, burned, weeks, expected):
    assert analysis.project_run_out(remaining, burned, weeks, date(2026, 1, 31)) == expected


def test_expiring_blocks__within_days__money_that_expires_half_up(warehouse):
    with warehouse(purchases="block_id,customer_id,kind,service,quantity,amount_paid,purchased_on,expires_on\n"
                             "h1,c1,hours,consulting,3,100.00,2026-01-01,2026-02-20\n"
                             "v1,c1,value,support,10.00,9.97,2026-01-01,2026-02-15\n"
                             "h2,c1,hours,consulting,1,100.00,2026-01-01,2026-06-30\n"
                             "h3,c1,hours,training,1,100.00,2026-01-01,2026-02-10",
                   rates="hourly_rate\n60.00",
                   timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,5,,\n"
                                 "e2,c1,ann,consulting,2026-01-06T09:00,60,,\n"
                                 "e3,c1,ann,training,2026-01-07T09:00,60,,",
                   as_of="2026-01-31") as con:
        frame = analysis.expiring_blocks(con, days=30)
    # h2 expires after the window, h3 has nothing left; v1: 5.00 × 9.97 / 10.00 = 4.985 -> 4.99
    assert rows(frame, "block_id", "expires_on", "days_left", "remaining", "currency", "expiring_amount") == [
        ("v1", date(2026, 2, 15), 15, Decimal("5.00"), "EUR", Decimal("4.99")),
        ("h1", date(2026, 2, 20), 20, 120, "EUR", Decimal("66.67")),
    ]


def test_pending_by_user__unauthorized_billable_time_only(warehouse):
    with warehouse(timelogs=TL + "p1,c2,ann,support,2026-01-05T09:00,30,,\n"
                                 "p2,c2,ann,support,2026-01-07T09:00,45,,\n"
                                 "p3,c2,bob,support,2026-01-06T09:00,60,,\n"
                                 "a1,c2,bob,support,2026-01-06T11:00,60,2026-01-08T00:00,\n"
                                 "n1,c2,ann,support,2026-01-04T09:00,60,,false",
                   as_of="2026-01-31") as con:
        frame = analysis.pending_by_user(con)
    assert rows(frame, "user", "entries", "billable_minutes", "customers", "oldest_work_date") == [
        ("ann", 2, 75, 1, date(2026, 1, 5)),
        ("bob", 1, 60, 1, date(2026, 1, 6)),
    ]


def test_overage_by_month__posting_month_per_customer__unpriced_counted(warehouse):
    # e2 ends (and so is authorized) after midnight: it is posted in February.
    with warehouse(rates="customer_id,hourly_rate\nc1,60.00",
                   timelogs=TL + "e1,c1,ann,support,2026-01-10T09:00,30,,\n"
                                 "e2,c1,ann,support,2026-01-31T23:30,60,,\n"
                                 "e3,c2,bob,support,2026-02-03T09:00,45,2026-02-04T00:00,",
                   as_of="2026-02-28") as con:
        frame = analysis.overage_by_month(con)
    assert rows(frame, *analysis.OVERAGE_COLUMNS) == [
        ("2026-01", "c1", 1, 30, Decimal("30.00"), 0, "EUR"),
        ("2026-02", "c1", 1, 60, Decimal("60.00"), 0, "EUR"),
        ("2026-02", "c2", 1, 45, Decimal("0.00"), 1, "USD"),
    ]


def test_last_run__warehouse_without_nightly_run__clear_error(tmp_path):
    from tests.conftest import write_inbox
    from transforms.run.nightly import run_ingest
    run_ingest(write_inbox(tmp_path / "inbox"), tmp_path / "w.duckdb")
    with open_warehouse(tmp_path / "w.duckdb") as con, pytest.raises(LookupError, match="prepaid nightly"):
        analysis.balances(con)
