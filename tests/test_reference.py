"""Rule tests for the reference implementation (tests/reference.py) of SPEC §3–§5.

Each test is a tiny inline ledger read top to bottom: customers, blocks, rates, entries,
the as-of date, and the exact CSV cells expected back.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.reference import reconcile_reference

D = date(2026, 1, 31)
UTC = ZoneInfo("UTC")


# -- inline builders -----------------------------------------------------------------------


def customer(customer_id="c1", **kw) -> dict:
    row = dict(customer_id=customer_id, currency="EUR", rounding_increment_minutes=1,
               rounding_mode="nearest", minimum_entry_minutes=0, requires_authorization=True,
               invoice_cadence="monthly", tax_rate_percent=Decimal("0"))
    row.update(kw)
    return row


def block(block_id, kind, quantity, *, customer_id="c1", service=None, amount_paid="0",
          purchased_on="2026-01-01", starts_on=None, expires_on=None, reorder_point=None,
          auto_invoice=False) -> dict:
    purchased = date.fromisoformat(purchased_on)
    return dict(
        block_id=block_id, customer_id=customer_id, kind=kind, service=service,
        quantity=None if quantity is None else Decimal(quantity),
        amount_paid=Decimal(amount_paid), purchased_on=purchased,
        starts_on=purchased if starts_on is None else date.fromisoformat(starts_on),
        expires_on=None if expires_on is None else date.fromisoformat(expires_on),
        reorder_point=None if reorder_point is None else Decimal(reorder_point),
        auto_invoice=auto_invoice)


def rate(hourly_rate, *, customer_id=None, service=None, user=None, valid_from=None,
         valid_to=None) -> dict:
    return dict(customer_id=customer_id, service=service, user=user,
                hourly_rate=Decimal(hourly_rate),
                valid_from=None if valid_from is None else date.fromisoformat(valid_from),
                valid_to=None if valid_to is None else date.fromisoformat(valid_to))


def ts(text: str) -> datetime:
    """ISO timestamp; without an offset it is UTC."""
    instant = datetime.fromisoformat(text)
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def entry(entry_id, minutes=None, *, seconds=None, customer_id="c1", user="ann",
          service="support", started_at="2026-01-10T09:00", billable=True,
          incident_id=None, authorized_at="2026-01-20T12:00") -> dict:
    return dict(entry_id=entry_id, customer_id=customer_id, user=user, service=service,
                started_at=ts(started_at),
                duration_seconds=seconds if seconds is not None else minutes * 60,
                billable=billable, incident_id=incident_id,
                authorized_at=None if authorized_at is None else ts(authorized_at))


def run(entries=(), blocks=(), rates=(), customers=None, as_of=D, tz="UTC"):
    return reconcile_reference(customers or [customer()], list(blocks), list(rates),
                               list(entries), as_of, tz)


def by_id(rows, key):
    return {row[key]: row for row in rows}


def charged(covered, value, overage_minutes, overage_amount, block_ids, unpriced="false"):
    """The allocation cells of a charged entry."""
    return dict(status="charged", covered_minutes=covered, value_amount=value,
                overage_minutes=overage_minutes, overage_amount=overage_amount,
                unpriced=unpriced, block_ids=block_ids)


def alloc(out, entry_id):
    row = by_id(out["entries"], "entry_id")[entry_id]
    keys = ("status", "covered_minutes", "value_amount", "overage_minutes",
            "overage_amount", "unpriced", "block_ids")
    return {k: row[k] for k in keys}


def balance(out, block_id):
    row = by_id(out["balances"], "block_id")[block_id]
    return (row["purchased"], row["used"], row["expired"], row["remaining"], row["status"])


# -- §3 billable minutes ---------------------------------------------------------------------


@pytest.mark.parametrize("mode,increment,seconds,expected", [
    ("nearest", 15, 449, "0"),      # 7 min 29 s: below half of 15 min
    ("nearest", 15, 450, "15"),     # exactly half: rounds up
    ("nearest", 15, 1349, "15"),
    ("nearest", 15, 1350, "30"),
    ("nearest", 1, 29, "0"),
    ("nearest", 1, 30, "1"),
    ("up", 15, 1, "15"),
    ("up", 15, 900, "15"),
    ("up", 15, 901, "30"),
    ("down", 15, 899, "0"),
    ("down", 15, 1799, "15"),
    ("down", 6, 720, "12"),
])
def test_billable_minutes__rounding_modes_and_halves(mode, increment, seconds, expected):
    out = run([entry("e1", seconds=seconds)],
              customers=[customer(rounding_mode=mode, rounding_increment_minutes=increment)])
    assert out["entries"][0]["billable_minutes"] == expected


@pytest.mark.parametrize("seconds,expected", [
    (0, "0"),      # minimum applies only to entries longer than 0 s
    (1, "20"),     # rounds up to 15, then at least 20 (not rounded again to 30)
    (900, "20"),
    (1200, "30"),  # 20 min rounds up to 30, above the minimum
])
def test_billable_minutes__minimum_only_when_longer_than_zero(seconds, expected):
    out = run([entry("e1", seconds=seconds)],
              customers=[customer(rounding_mode="up", rounding_increment_minutes=15,
                                  minimum_entry_minutes=20)])
    assert out["entries"][0]["billable_minutes"] == expected


# -- §3 charged / pending / not_billable -------------------------------------------------------


def test_status__authorized_before_midnight_of_d_plus_1_in_business_tz():
    entries = [
        entry("e1", 60, authorized_at="2026-01-31T23:59:59+01:00"),
        entry("e2", 60, authorized_at="2026-02-01T00:00:00+01:00"),  # = start of D+1 Berlin
        entry("e3", 60, authorized_at="2026-01-31T23:30:00+00:00"),  # 00:30 Feb 1 in Berlin
        entry("e4", 60, authorized_at=None),
        entry("e5", 60, billable=False),
        entry("e6", 60, authorized_at="2026-02-05T09:00", started_at="2026-02-03T09:00"),
    ]
    berlin = {r["entry_id"]: r["status"] for r in run(entries, tz="Europe/Berlin")["entries"]}
    utc = {r["entry_id"]: r["status"] for r in run(entries, tz="UTC")["entries"]}
    assert berlin == dict(e1="charged", e2="pending", e3="pending", e4="pending",
                          e5="not_billable", e6="pending")
    assert utc == dict(e1="charged", e2="charged", e3="charged", e4="pending",
                       e5="not_billable", e6="pending")


def test_status__non_charged_rows_have_blank_allocation_cells():
    out = run([entry("e1", 61, authorized_at=None), entry("e2", 30, billable=False)])
    assert out["entries"] == [
        dict(entry_id="e1", customer_id="c1", status="pending", work_date="2026-01-10",
             billable_minutes="61", covered_minutes="", value_amount="", overage_minutes="",
             overage_amount="", unpriced="false", block_ids=""),
        dict(entry_id="e2", customer_id="c1", status="not_billable", work_date="2026-01-10",
             billable_minutes="30", covered_minutes="", value_amount="", overage_minutes="",
             overage_amount="", unpriced="false", block_ids=""),
    ]


def test_status__no_authorization_required__authorized_at_end_time_whatever_authorized_at_says():
    entries = [
        entry("e1", 60, authorized_at=None),
        entry("e2", 60, authorized_at="2026-03-01T00:00"),             # ignored
        entry("e3", 60, started_at="2026-01-31T23:00", authorized_at=None),  # ends at 00:00 D+1
        entry("e4", 59, started_at="2026-01-31T23:00", authorized_at=None),  # ends 23:59
    ]
    out = run(entries, customers=[customer(requires_authorization=False)])
    assert {r["entry_id"]: r["status"] for r in out["entries"]} == dict(
        e1="charged", e2="charged", e3="pending", e4="charged")


def test_work_date__local_date_of_started_at_in_business_tz():
    entries = [entry("e1", 60, started_at="2026-01-09T23:30:00+00:00")]
    assert run(entries, tz="Europe/Berlin")["entries"][0]["work_date"] == "2026-01-10"
    assert run(entries, tz="UTC")["entries"][0]["work_date"] == "2026-01-09"


# -- §2 rates ---------------------------------------------------------------------------------


def test_rate__highest_specificity_wins():
    rates = [
        rate("10.00"),                                   # 0
        rate("11.00", user="ann"),                       # 1
        rate("12.00", service="support"),                # 2
        rate("13.00", service="support", user="ann"),    # 3
        rate("14.00", customer_id="c1"),                 # 4
        rate("15.00", customer_id="c1", user="ann"),     # 5
        rate("16.00", customer_id="c1", service="support"),  # 6
        rate("99.00", customer_id="c2", service="support", user="ann"),  # other customer
        rate("98.00", customer_id="c1", service="dev", user="ann"),      # other service
    ]
    out = run([entry("e1", 60), entry("e2", 60, user="bob", service="dev"),
               entry("e3", 60, user="bob", service="ops")], rates=rates)
    assert alloc(out, "e1")["overage_amount"] == "16.00"
    assert alloc(out, "e2")["overage_amount"] == "14.00"
    assert alloc(out, "e3")["overage_amount"] == "14.00"
    # Without customer rows, user-only (1) loses to service-only (2).
    out = run([entry("e1", 60), entry("e2", 60, service="dev")], rates=rates[:3])
    assert alloc(out, "e1")["overage_amount"] == "12.00"
    assert alloc(out, "e2")["overage_amount"] == "11.00"


def test_rate__tie_goes_to_latest_valid_from_blank_earliest__valid_to_inclusive():
    rates = [
        rate("20.00", customer_id="c1"),
        rate("25.00", customer_id="c1", valid_from="2026-01-10", valid_to="2026-01-20"),
        rate("30.00", customer_id="c1", valid_from="2026-01-15", valid_to="2026-01-16"),
    ]
    out = run([entry("e09", 60, started_at="2026-01-09T10:00"),
               entry("e10", 60, started_at="2026-01-10T10:00"),
               entry("e15", 60, started_at="2026-01-15T10:00"),
               entry("e16", 60, started_at="2026-01-16T10:00"),
               entry("e17", 60, started_at="2026-01-17T10:00"),
               entry("e20", 60, started_at="2026-01-20T10:00"),
               entry("e21", 60, started_at="2026-01-21T10:00")], rates=rates)
    assert {r["entry_id"]: r["overage_amount"] for r in out["entries"]} == dict(
        e09="20.00", e10="25.00", e15="30.00", e16="30.00", e17="25.00", e20="25.00",
        e21="20.00")


# -- §3 posting order, §4 hours ---------------------------------------------------------------


def test_hours_block__entry_spans_two_blocks__oldest_expiry_first():
    blocks = [block("b2", "hours", "2"),                              # no expiry: last
              block("b1", "hours", "1", expires_on="2026-02-28")]
    out = run([entry("e1", 90)], blocks=blocks, rates=[rate("60.00")])
    assert alloc(out, "e1") == charged("90", "0.00", "0", "0.00", "b1|b2")
    assert balance(out, "b1") == ("60", "60", "0", "0", "exhausted")
    assert balance(out, "b2") == ("120", "30", "0", "90", "active")


def test_hours_block__precedence_starts_on_then_purchased_on_then_block_id():
    blocks = [block("bC", "hours", "0.5", purchased_on="2026-01-01"),
              block("bB", "hours", "0.5", purchased_on="2026-01-02", starts_on="2026-01-02"),
              block("bA", "hours", "0.5", purchased_on="2026-01-01", starts_on="2026-01-03"),
              block("bD", "hours", "0.5", purchased_on="2026-01-01")]
    out = run([entry("e1", 120)], blocks=blocks, rates=[rate("0")])
    assert alloc(out, "e1") == charged("120", "0.00", "0", "0.00", "bC|bD|bB|bA")


def test_hours_block__service_specific_before_any_service():
    blocks = [block("b_any", "hours", "1", expires_on="2026-02-01"),
              block("b_sup", "hours", "1", service="support"),
              block("b_dev", "hours", "1", service="dev")]
    out = run([entry("e1", 90)], blocks=blocks)
    assert alloc(out, "e1") == charged("90", "0.00", "0", "0.00", "b_sup|b_any")
    assert balance(out, "b_dev") == ("60", "0", "0", "60", "active")


def test_posting_order__authorized_at_then_started_at_then_entry_id_code_points():
    blocks = [block("b1", "hours", "1")]
    entries = [
        entry("e_early_work", 40, started_at="2026-01-05T09:00",
              authorized_at="2026-01-20T12:00"),
        entry("e_late_work", 40, started_at="2026-01-15T09:00",
              authorized_at="2026-01-16T12:00"),  # authorized first: posted first
    ]
    out = run(entries, blocks=blocks, rates=[rate("60.00")])
    assert alloc(out, "e_late_work") == charged("40", "0.00", "0", "0.00", "b1")
    assert alloc(out, "e_early_work") == charged("20", "0.00", "20", "20.00", "b1")

    # Same authorized_at and started_at: "B" < "a" in code-point order.
    entries = [entry("a", 40), entry("B", 40)]
    out = run(entries, blocks=blocks, rates=[rate("60.00")])
    assert alloc(out, "B")["covered_minutes"] == "40"
    assert alloc(out, "a")["covered_minutes"] == "20"


def test_zero_minute_entry__takes_nothing_and_lists_no_block():
    out = run([entry("e1", 0, incident_id="T1")],
              blocks=[block("b1", "hours", "1"), block("i1", "incidents", "1")])
    assert alloc(out, "e1") == charged("0", "0.00", "0", "0.00", "")
    assert balance(out, "i1") == ("1", "0", "0", "1", "active")


# -- §4 unlimited, incidents -----------------------------------------------------------------


def test_unlimited__covers_everything_and_reports_covered_minutes():
    blocks = [block("u1", "unlimited", None, expires_on="2026-12-31"),
              block("h1", "hours", "10"), block("i1", "incidents", "5")]
    out = run([entry("e1", 95, incident_id="T1"), entry("e2", 30)], blocks=blocks)
    assert alloc(out, "e1") == charged("95", "0.00", "0", "0.00", "u1")
    assert alloc(out, "e2") == charged("30", "0.00", "0", "0.00", "u1")
    assert by_id(out["balances"], "block_id")["u1"] == dict(
        customer_id="c1", block_id="u1", kind="unlimited", service="", purchased="",
        used="125", expired="", remaining="", starts_on="2026-01-01",
        expires_on="2026-12-31", status="active")
    assert balance(out, "h1") == ("600", "0", "0", "600", "active")
    assert balance(out, "i1") == ("5", "0", "0", "5", "active")


def test_incidents__reuse_at_no_cost_even_after_block_used_up():
    blocks = [block("i1", "incidents", "1"), block("h1", "hours", "1")]
    entries = [
        entry("e1", 30, incident_id="T1", authorized_at="2026-01-20T10:00"),
        entry("e2", 45, incident_id="T1", authorized_at="2026-01-20T11:00"),  # reuse
        entry("e3", 20, incident_id="T2", authorized_at="2026-01-20T12:00"),  # none left
        entry("e4", 10, authorized_at="2026-01-20T13:00"),                    # no incident
    ]
    out = run(entries, blocks=blocks, rates=[rate("60.00")])
    assert alloc(out, "e1") == charged("30", "0.00", "0", "0.00", "i1")
    assert alloc(out, "e2") == charged("45", "0.00", "0", "0.00", "i1")
    assert alloc(out, "e3") == charged("20", "0.00", "0", "0.00", "h1")
    assert alloc(out, "e4") == charged("10", "0.00", "0", "0.00", "h1")
    assert balance(out, "i1") == ("1", "1", "0", "0", "exhausted")
    assert balance(out, "h1") == ("60", "30", "0", "30", "active")


def test_incidents__reuse_only_when_cover_window_includes_entry():
    blocks = [block("i_jan", "incidents", "5", expires_on="2026-01-15"),
              block("i_year", "incidents", "5", expires_on="2026-12-31"),
              block("i_dev", "incidents", "5", service="dev")]
    entries = [
        entry("e1", 30, incident_id="T1", started_at="2026-01-10T09:00",
              authorized_at="2026-01-10T12:00"),
        # Work after i_jan expired: not in its window; i_year consumes one.
        entry("e2", 30, incident_id="T1", started_at="2026-01-16T09:00",
              authorized_at="2026-01-16T12:00"),
        # Work inside i_jan's dates but authorized after its expiry instant.
        entry("e3", 30, incident_id="T1", started_at="2026-01-12T09:00",
              authorized_at="2026-01-16T00:00"),
        # Same incident, dev service: i_dev is service-specific, but i_year was charged
        # with T1 already and its window includes dev work: reuse, first such block.
        entry("e4", 30, incident_id="T1", service="dev", started_at="2026-01-17T09:00",
              authorized_at="2026-01-17T12:00"),
        # Another customer's T1 is another incident.
        entry("e5", 30, incident_id="T1", customer_id="c2", authorized_at="2026-01-18T12:00"),
    ]
    out = run(entries, blocks=blocks, customers=[customer(), customer("c2")])
    assert alloc(out, "e1")["block_ids"] == "i_jan"
    assert alloc(out, "e2")["block_ids"] == "i_year"
    assert alloc(out, "e3")["block_ids"] == "i_year"
    assert alloc(out, "e4")["block_ids"] == "i_year"
    assert alloc(out, "e5") == charged("0", "0.00", "30", "", "", unpriced="true")
    assert balance(out, "i_jan") == ("5", "1", "4", "0", "expired")
    assert balance(out, "i_year") == ("5", "1", "0", "4", "active")
    assert balance(out, "i_dev") == ("5", "0", "0", "5", "active")


def test_incidents__reuse_picks_first_charged_block_in_precedence_order():
    blocks = [block("i_a", "incidents", "1", starts_on="2026-01-05", expires_on="2026-06-30"),
              block("i_b", "incidents", "3")]  # no expiry: after i_a in precedence
    entries = [
        # i_a has not started on Jan 2: i_b is charged with T1.
        entry("e1", 30, incident_id="T1", started_at="2026-01-02T09:00",
              authorized_at="2026-01-20T10:00"),
        # i_a would come first but was never charged with T1: reuse i_b.
        entry("e2", 30, incident_id="T1", authorized_at="2026-01-20T11:00"),
        entry("e3", 30, incident_id="T2", authorized_at="2026-01-20T12:00"),
    ]
    out = run(entries, blocks=blocks)
    assert [alloc(out, e)["block_ids"] for e in ("e1", "e2", "e3")] == ["i_b", "i_b", "i_a"]
    assert balance(out, "i_a") == ("1", "1", "0", "0", "exhausted")
    assert balance(out, "i_b") == ("3", "1", "0", "2", "active")


# -- §4 value, overage, unpriced ------------------------------------------------------------


def test_value_block__partial_cover__rest_is_overage():
    out = run([entry("e1", 90)], blocks=[block("v1", "value", "50.00", amount_paid="50.00")],
              rates=[rate("60.00", customer_id="c1")])
    assert alloc(out, "e1") == charged("0", "50.00", "40", "40.00", "v1")
    assert balance(out, "v1") == ("50.00", "50.00", "0.00", "0.00", "exhausted")


def test_value_block__cost_round_half_up__overage_minutes_floor_formula():
    # 7 min at 100.00/h = 11.666… → 11.67; v1 takes 5.00, leaving 6.67.
    # overage_minutes = 7 − ⌊7 × 5.00 / 11.67⌋ = 7 − ⌊2.999…⌋ = 5.
    out = run([entry("e1", 7)], blocks=[block("v1", "value", "5.00")],
              rates=[rate("100.00")])
    assert alloc(out, "e1") == charged("0", "5.00", "5", "6.67", "v1")
    # Exactly half a cent rounds up: 1 min at 0.30/h = 0.005 → 0.01.
    out = run([entry("e1", 1)], rates=[rate("0.30")])
    assert alloc(out, "e1") == charged("0", "0.00", "1", "0.01", "")


def test_value_blocks__after_hours__two_value_blocks_in_turn():
    blocks = [block("h1", "hours", "0.5"),
              block("v2", "value", "100.00"),
              block("v1", "value", "10.00", expires_on="2026-06-30")]
    out = run([entry("e1", 90)], blocks=blocks, rates=[rate("30.00")])
    # 60 min left after h1 → cost 30.00; v1 takes 10.00, v2 takes 20.00.
    assert alloc(out, "e1") == charged("30", "30.00", "0", "0.00", "h1|v1|v2")
    assert balance(out, "v1") == ("10.00", "10.00", "0.00", "0.00", "exhausted")
    assert balance(out, "v2") == ("100.00", "20.00", "0.00", "80.00", "active")


def test_cost_zero__takes_nothing_from_value_blocks():
    blocks = [block("v1", "value", "10.00")]
    out = run([entry("e1", 45)], blocks=blocks, rates=[rate("0")])
    assert alloc(out, "e1") == charged("0", "0.00", "45", "0.00", "")
    # A tiny remainder: 1 min at 0.10/h = 0.0016… → 0.00.
    out = run([entry("e1", 1)], blocks=blocks, rates=[rate("0.10")])
    assert alloc(out, "e1") == charged("0", "0.00", "1", "0.00", "")
    assert balance(out, "v1") == ("10.00", "0.00", "0.00", "10.00", "active")


def test_unpriced__keeps_non_value_cover__takes_nothing_from_value_blocks():
    blocks = [block("h1", "hours", "0.5"), block("v1", "value", "100.00")]
    out = run([entry("e1", 90), entry("e2", 20, service="dev", started_at="2026-01-11T09:00")],
              blocks=blocks, rates=[rate("60.00", service="dev")])
    assert alloc(out, "e1") == charged("30", "0.00", "60", "", "h1", unpriced="true")
    assert balance(out, "v1") == ("100.00", "20.00", "0.00", "80.00", "active")
    assert alloc(out, "e2") == charged("0", "20.00", "0", "0.00", "v1")
    # No money needed: no rate is fine.
    out = run([entry("e1", 30)], blocks=blocks)
    assert alloc(out, "e1") == charged("30", "0.00", "0", "0.00", "h1")


# -- §4 + §5 expiry, known blocks ----------------------------------------------------------------


def test_expiry__work_on_expiry_day_counts_only_if_authorized_before_expiry_instant():
    blocks = [block("b1", "hours", "2", expires_on="2026-01-31")]
    entries = [
        entry("e1", 30, started_at="2026-01-31T10:00", authorized_at="2026-01-31T23:59:59"),
        entry("e2", 30, started_at="2026-01-31T11:00", authorized_at="2026-02-01T00:00"),
        entry("e3", 30, started_at="2026-02-01T09:00", authorized_at="2026-02-01T10:00"),
    ]
    out = run(entries, blocks=blocks, rates=[rate("60.00")], as_of=date(2026, 2, 1))
    assert alloc(out, "e1") == charged("30", "0.00", "0", "0.00", "b1")
    assert alloc(out, "e2") == charged("0", "0.00", "30", "30.00", "")
    assert alloc(out, "e3") == charged("0", "0.00", "30", "30.00", "")
    assert balance(out, "b1") == ("120", "30", "90", "0", "expired")


def test_expiry__instant_is_midnight_in_business_tz():
    blocks = [block("b1", "hours", "2", expires_on="2026-01-31")]
    # 23:30 UTC on Jan 31 is 00:30 on Feb 1 in Berlin: after the expiry instant there.
    entries = [entry("e1", 30, started_at="2026-01-31T10:00",
                     authorized_at="2026-01-31T23:30:00+00:00")]
    berlin = run(entries, blocks=blocks, as_of=date(2026, 2, 1), tz="Europe/Berlin")
    utc = run(entries, blocks=blocks, as_of=date(2026, 2, 1), tz="UTC")
    assert alloc(berlin, "e1")["block_ids"] == ""
    assert alloc(utc, "e1")["block_ids"] == "b1"


def test_block_not_known_as_of_d__not_listed_and_covers_nothing():
    blocks = [block("b_late", "hours", "5", purchased_on="2026-02-01", starts_on="2026-01-01")]
    out = run([entry("e1", 30)], blocks=blocks, rates=[rate("60.00")])
    assert out["balances"] == []
    assert alloc(out, "e1") == charged("0", "0.00", "30", "30.00", "")
    out = run([entry("e1", 30)], blocks=blocks, as_of=date(2026, 2, 1))
    assert alloc(out, "e1")["block_ids"] == "b_late"


def test_status__checked_in_order_expired_not_started_exhausted_active():
    blocks = [
        block("b_exp_used", "hours", "0.5", expires_on="2026-01-31"),    # used up, expired
        block("b_exp", "value", "20.00", expires_on="2026-01-30"),
        block("b_ns", "hours", "0", starts_on="2026-02-01"),             # 0 but not started
        block("b_zero", "incidents", "0"),                               # bought with 0
        block("b_act", "hours", "1"),
        block("b_ns_used", "hours", "1", starts_on="2026-02-02"),        # future work by D
    ]
    entries = [entry("e1", 30, started_at="2026-01-31T09:00"),
               entry("e2", 75, started_at="2026-02-03T09:00", authorized_at="2026-01-31T09:00"),
               entry("e3", 1, started_at="2026-01-20T09:00", authorized_at="2026-01-31T10:00")]
    out = run(entries, blocks=blocks, rates=[rate("0")])
    assert [(r["block_id"], r["purchased"], r["used"], r["expired"], r["remaining"],
             r["status"]) for r in out["balances"]] == [
        ("b_act", "60", "60", "0", "0", "exhausted"),
        ("b_exp", "20.00", "0.00", "20.00", "0.00", "expired"),
        ("b_exp_used", "30", "30", "0", "0", "expired"),
        ("b_ns", "0", "0", "0", "0", "not_started"),
        ("b_ns_used", "60", "15", "0", "45", "not_started"),
        ("b_zero", "0", "0", "0", "0", "exhausted"),
    ]
    # e2 (work on Feb 3, authorized by D) is charged; b_exp_used does not cover Feb 3;
    # b_act (starts Jan 1) comes before b_ns (exhausted from the start) and b_ns_used.
    assert alloc(out, "e2") == charged("75", "0.00", "0", "0.00", "b_act|b_ns_used")
    # e3 (Jan 20, posted last) finds b_act used up and b_ns_used not started that day.
    assert alloc(out, "e3") == charged("0", "0.00", "1", "0.00", "")


def test_balances__full_row_format_and_sort():
    blocks = [block("b2", "value", "99.5", customer_id="c2", service="dev",
                    starts_on="2026-01-03", expires_on="2026-03-31"),
              block("b9", "hours", "1.25"),
              block("b1", "incidents", "3")]
    out = run([], blocks=blocks, customers=[customer(), customer("c2")])
    assert out["balances"] == [
        dict(customer_id="c1", block_id="b1", kind="incidents", service="", purchased="3",
             used="0", expired="0", remaining="3", starts_on="2026-01-01", expires_on="",
             status="active"),
        dict(customer_id="c1", block_id="b9", kind="hours", service="", purchased="75",
             used="0", expired="0", remaining="75", starts_on="2026-01-01", expires_on="",
             status="active"),
        dict(customer_id="c2", block_id="b2", kind="value", service="dev",
             purchased="99.50", used="0.00", expired="0.00", remaining="99.50",
             starts_on="2026-01-03", expires_on="2026-03-31", status="active"),
    ]


# -- §5 pools, reorder points, breaches -------------------------------------------------------


def test_breach__reorder_point_from_latest_block_including_expired():
    blocks = [
        block("b_new_exp", "hours", "1", purchased_on="2026-01-10", expires_on="2026-01-20",
              reorder_point="5"),
        block("b_old", "hours", "4", purchased_on="2026-01-01", reorder_point="1"),
        block("b_newest", "hours", "0.5", purchased_on="2026-01-15"),  # no reorder point
        block("b_dev", "hours", "4", service="dev", reorder_point="1"),  # other pool
    ]
    out = run([], blocks=blocks)
    # Pool (c1, hours, any): remaining 240 + 30 (expired b_new_exp does not count);
    # reorder point 5 h from b_new_exp = 300 min.
    assert out["breaches"] == [dict(customer_id="c1", kind="hours", service="",
                                    remaining="270", reorder_point="300")]


def test_breach__block_not_known_as_of_d_gives_no_reorder_point():
    blocks = [block("b1", "hours", "1", reorder_point="0.5"),
              block("b2", "hours", "1", purchased_on="2026-02-01", reorder_point="10")]
    assert run([], blocks=blocks)["breaches"] == []
    assert run([], blocks=blocks, as_of=date(2026, 2, 1))["breaches"] == [
        dict(customer_id="c1", kind="hours", service="", remaining="120", reorder_point="600")]


def test_breach__at_equality_is_not_a_breach__strictly_below_is():
    blocks = [block("b1", "hours", "2", reorder_point="1")]
    assert run([entry("e1", 60)], blocks=blocks)["breaches"] == []
    assert run([entry("e1", 61)], blocks=blocks)["breaches"] == [
        dict(customer_id="c1", kind="hours", service="", remaining="59", reorder_point="60")]


def test_breach__not_whole_minute_reorder_point_is_exact_decimal():
    blocks = [block("b1", "hours", "2.5", reorder_point="2.505")]
    assert run([], blocks=blocks)["breaches"] == [
        dict(customer_id="c1", kind="hours", service="", remaining="150",
             reorder_point="150.3")]


def test_breach__value_and_incidents_units__not_started_counts__sorted():
    blocks = [
        block("v1", "value", "100.00", service="dev", reorder_point="50"),
        block("v2", "value", "20.00", service="dev", starts_on="2026-02-10"),
        block("i1", "incidents", "3", reorder_point="2"),
        block("i0", "incidents", "5", customer_id="c0", reorder_point="5.5"),
    ]
    entries = [entry("e1", 90, service="dev"), entry("e2", 10, incident_id="T1"),
               entry("e3", 10, incident_id="T2")]
    out = run(entries, blocks=blocks, rates=[rate("60.00")],
              customers=[customer(), customer("c0")])
    assert out["breaches"] == [
        dict(customer_id="c0", kind="incidents", service="", remaining="5",
             reorder_point="5.5"),
        dict(customer_id="c1", kind="incidents", service="", remaining="1",
             reorder_point="2"),
        dict(customer_id="c1", kind="value", service="dev", remaining="30.00",
             reorder_point="50.00"),
    ]


def test_breach__pool_with_only_expired_blocks_is_not_in_breach():
    blocks = [block("b1", "hours", "1", expires_on="2026-01-15", reorder_point="10")]
    out = run([], blocks=blocks)
    assert out["breaches"] == []
    assert balance(out, "b1") == ("60", "0", "60", "0", "expired")
