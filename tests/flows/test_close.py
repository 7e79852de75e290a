"""Month-end close, run without Prefect: the reconciliation, refusals, locks, late adjustments."""

from __future__ import annotations

from datetime import date

import pytest

from tests.flows.conftest import rows
from transforms.close.close import Cumulative, Refused, reconcile_pools


def csv_text(path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def two_months(tmp_path_factory):
    """The story closed for January, then February with --force (e4 is pending): read only."""
    from tests.flows.conftest import STORY, table
    from tests.conftest import write_inbox
    from transforms.run.nightly import run_close

    root = tmp_path_factory.mktemp("two_months")
    inbox = write_inbox(root / "inbox", **STORY)
    reports = {p: run_close(inbox, root / "w.duckdb", root / f"close-{p}", p, force=(p == "2026-02"),
                            reports_enabled=False, today=date(2026, 6, 1)) for p in ("2026-01", "2026-02")}
    return root, reports, lambda query: table(root / "w.duckdb", query)


def test_close__tiny_story__exact_reconciliation_of_two_months(two_months):
    root, _, _ = two_months
    assert csv_text(root / "close-2026-01" / "reconciliation.csv") == (
        "customer_id,kind,service,opening,purchased,used,expired,closing,deferred_revenue,breakage\n"
        "c1,hours,support,0,600,120,0,480,800.00,0.00\n"
        "c1,unlimited,monitoring,,,45,,,300.00,\n")
    assert csv_text(root / "close-2026-02" / "reconciliation.csv") == (
        "customer_id,kind,service,opening,purchased,used,expired,closing,deferred_revenue,breakage\n"
        "c1,hours,support,480,0,60,420,0,0.00,700.00\n"
        "c1,unlimited,monitoring,,,0,,,20.00,\n"
        "c1,value,,0.00,500.00,0.00,0.00,500.00,450.00,0.00\n")


def test_close__entry_of_closed_month_authorized_later__late_adjustment_in_next_period(two_months):
    root, _, _ = two_months
    assert rows(root / "close-2026-01" / "late_adjustments.csv") == []
    assert rows(root / "close-2026-02" / "late_adjustments.csv") == [dict(
        customer_id="c1", entry_id="e3", work_date="2026-01-30", posted_on="2026-02-02",
        posted_in="2026-02", reason="charged_after_close", covered_minutes="60", value_amount="0.00",
        overage_minutes="0", overage_amount="0.00")]
    # ... and its 60 minutes are February's, not January's (frozen without them)
    jan = {r["kind"]: r for r in rows(root / "close-2026-01" / "reconciliation.csv")}
    feb = {r["kind"]: r for r in rows(root / "close-2026-02" / "reconciliation.csv")}
    assert (jan["hours"]["used"], feb["hours"]["used"]) == ("120", "60")


def test_close__pending_entry_in_period__force_closes_and_records_it(two_months):
    _, reports, query = two_months
    assert reports["2026-02"].close.pending == ["e4"] and reports["2026-02"].close.forced
    assert query("select period, event, forced, pending_entries from period_events order by run_id") == [
        ("2026-01", "close", False, 0), ("2026-02", "close", True, 1)]


def test_close__pending_entry_in_period__refused_and_nothing_changed(books):
    books.inbox()
    books.close("2026-01")
    tables = ("period_events", "close_pools", "close_entries", "documents", "files", "raw_timelogs")
    before = {t: books.query(f"select count(*) from {t}") for t in tables}

    books.inbox(authorizations="entry_id,authorized_at,authorized_by\ne1,2026-01-11T10:00,boss")  # new file
    with pytest.raises(Refused, match=r"close of 2026-02 refused: 1 pending .* \(e4\); authorize it or close with --force"):
        books.close("2026-02")

    assert {t: books.query(f"select count(*) from {t}") for t in tables} == before
    assert not books.out("close-2026-02").exists()
    assert books.query("select command, period, outcome from runs order by run_id desc limit 1") == [
        ("close", "2026-02", "refused")]


def test_close__entry_authorized_after_period_end__not_pending(books):
    books.inbox(timelogs=STORY_E3_ONLY)
    report = books.close("2026-01")   # e3 (30 Jan) is authorized on 2 Feb: not pending, not January's
    assert report.close.pending == []
    assert rows(books.out("close-2026-01") / "reconciliation.csv")[0]["used"] == "0"


STORY_E3_ONLY = ("entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
                 "e3,c1,ann,support,2026-01-30T09:00,60,2026-02-02T10:00")


def test_close__later_runs_and_backdated_purchase__closed_figures_unchanged(books):
    books.inbox()
    books.close("2026-01")
    frozen = books.query("select * from close_pools order by all")
    jan_csv = csv_text(books.out("close-2026-01") / "reconciliation.csv")

    # a purchase dated in January arrives in February; nightly runs go on
    books.inbox(purchases=STORY_PURCHASES + "\nb3,c1,hours,support,2,200.00,2026-01-20,,")
    books.nightly("2026-02-15")
    assert books.close("2026-01").outcome == "already_closed"
    report = books.close("2026-02", force=True)

    assert books.query("select * from close_pools where period = '2026-01' order by all") == frozen
    assert csv_text(books.out("close-2026-01") / "reconciliation.csv") == jan_csv
    hours = rows(books.out("close-2026-02") / "reconciliation.csv")[0]
    assert hours == dict(customer_id="c1", kind="hours", service="support", opening="480", purchased="120",
                         used="60", expired="420", closing="120", deferred_revenue="200.00", breakage="700.00")
    assert report.close.late_adjustments == 1


STORY_PURCHASES = (
    "block_id,customer_id,kind,service,quantity,amount_paid,purchased_on,starts_on,expires_on\n"
    "b1,c1,hours,support,10,1000.00,2026-01-01,,2026-02-28\n"
    "u1,c1,unlimited,monitoring,,610.00,2026-01-01,2026-01-01,2026-03-02\n"
    "v1,c1,value,,500.00,450.00,2026-02-10,,")


def test_close__already_closed__nothing_changes_and_run_recorded(books):
    books.inbox()
    first = books.close("2026-01")
    before = books.query("select count(*) from close_pools")
    again = books.close("2026-01", out="close-again")

    assert again.already_closed.run_id == first.run_id
    assert books.query("select count(*) from close_pools") == before
    assert not books.out("close-again").exists()
    assert books.query("select outcome from runs where run_id = ?", [again.run_id]) == [("already_closed",)]


def test_closed_period__nightly_as_of_a_date_in_it__refused(books):
    books.inbox()
    books.close("2026-01")
    with pytest.raises(Refused, match=r"2026-01-20 is in a closed period \(closed through 2026-01\)"):
        books.nightly("2026-01-20")
    books.nightly("2026-02-01")


def test_close__periods_out_of_order_or_not_ended__refused(books):
    books.inbox()
    books.close("2026-01")
    with pytest.raises(Refused, match=r"close 2026-02 first"):
        books.close("2026-03")
    books.today = date(2026, 2, 28)
    with pytest.raises(Refused, match=r"period 2026-02 has not ended yet"):
        books.close("2026-02", force=True)


def test_reopen__last_closed_period__recorded_then_closes_anew(books):
    books.inbox()
    books.close("2026-01")
    books.close("2026-02", force=True)
    with pytest.raises(Refused, match=r"only the last closed period can be reopened: reopen 2026-02 first"):
        books.reopen("2026-01")

    reopened = books.reopen("2026-02", reason="e4 authorized late")
    books.inbox(authorizations="entry_id,authorized_at,authorized_by\ne4,2026-02-06T09:00,boss")
    books.nightly("2026-02-20")     # allowed again: the period is open
    books.close("2026-02", out="close-2026-02-again")

    assert books.query("select period, event, reason from period_events order by run_id") == [
        ("2026-01", "close", None), ("2026-02", "close", None), ("2026-02", "reopen", "e4 authorized late"),
        ("2026-02", "close", None)]
    assert reopened.closed_by_run_id == books.query(
        "select min(run_id) from period_events where period = '2026-02'")[0][0]
    first, second = (rows(books.out(name) / "reconciliation.csv")[0]
                     for name in ("close-2026-02", "close-2026-02-again"))
    assert (first["used"], second["used"]) == ("60", "90")       # e4 counted in the new version
    assert books.query("select count(distinct run_id) from close_pools where period = '2026-02'") == [(2,)]


def test_close__first_close_ever__opening_is_state_before_the_period(books):
    books.inbox()
    books.close("2026-02", force=True)    # nothing closed before: January is its opening
    hours = rows(books.out("close-2026-02") / "reconciliation.csv")[0]
    assert hours == dict(customer_id="c1", kind="hours", service="support", opening="480", purchased="0",
                         used="60", expired="420", closing="0", deferred_revenue="0.00", breakage="700.00")


def test_reconcile_pools__movements_are_cumulative_now_minus_before__identity_holds():
    now = {("c1", "hours", None): Cumulative(900, 400, 100, 400, 5000, 3000, "EUR"),
           ("c1", "unlimited", "ops"): Cumulative(None, 70, None, None, 0, 1234, "EUR")}
    before = {("c1", "hours", None): Cumulative(600, 150, 0, 450, 0),
              ("c1", "unlimited", "ops"): Cumulative(None, 20, None, None, 0)}
    hours, unlimited = reconcile_pools(now, before)
    assert (hours.opening, hours.purchased, hours.used, hours.expired, hours.closing,
            hours.breakage_cents, hours.deferred_revenue_cents) == (450, 300, 250, 100, 400, 5000, 3000)
    assert (unlimited.opening, unlimited.purchased, unlimited.used, unlimited.expired, unlimited.closing,
            unlimited.breakage_cents, unlimited.deferred_revenue_cents) == (None, None, 50, None, None, None, 1234)


def test_reconcile_pools__pool_gone_since_last_close__reconciles_to_zero():
    before = {("c1", "value", None): Cumulative(5000, 1000, 0, 4000, 0, 0, "EUR")}
    (row,) = reconcile_pools({}, before)
    assert (row.opening, row.purchased, row.used, row.expired, row.closing) == (4000, -5000, -1000, 0, 0)
