"""Rule matrix for SPEC §3–§5: one small inline scenario per rule, exact expected rows.

Every rule runs twice (the `rules` fixture): through the engine (a real nightly run) and
through the naive reference implementation of tests/reference.py, which shares no code with
transforms/. The ledger and rerun tests concern outputs only the engine writes.
"""

from datetime import date
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_CUSTOMERS, Out
from tests.reference import read_inbox, reconcile_reference

ENTRY_COLS = ("status", "billable_minutes", "covered_minutes", "value_amount", "overage_minutes",
              "overage_amount", "unpriced", "block_ids")
TL = "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at,incident_id\n"


class ReferenceOut(Out):
    """The reference's rows, read like the engine's OUT (tests/conftest.py `Out`)."""

    def __init__(self, rows: dict[str, list[dict[str, str]]]) -> None:
        super().__init__(Path())
        blank = {"entries": "document_numbers", "breaches": "topup_invoice_number"}
        self._rows = {name: [dict(r, **({blank[name]: ""} if name in blank else {})) for r in found]
                      for name, found in rows.items()}

    def rows(self, name: str) -> list[dict[str, str]]:
        return self._rows[name]


@pytest.fixture(params=["engine", "reference"])
def rules(request, reconcile):
    """One rule, run by the engine and by the reference implementation."""
    if request.param == "engine":
        return reconcile

    def run(as_of: str, tz: str = "UTC", customers: str = DEFAULT_CUSTOMERS, **files) -> ReferenceOut:
        inputs = read_inbox(tz, customers=customers, **files)
        return ReferenceOut(reconcile_reference(*inputs, date.fromisoformat(as_of), tz))

    return run


def cust(**kw) -> str:
    cols = {"customer_id": "c1", "name": "One", "currency": "EUR", **kw}
    return ",".join(cols) + "\n" + ",".join(str(v) for v in cols.values())


# --- §3 billable minutes ------------------------------------------------------------------

@pytest.mark.parametrize("mode,increment,seconds,expected", [
    ("up", 15, 60, "15"), ("up", 15, 900, "15"), ("up", 15, 901, "30"),
    ("down", 15, 899, "0"), ("down", 15, 1799, "15"),
    ("nearest", 6, 179, "0"), ("nearest", 6, 180, "6"), ("nearest", 6, 539, "6"), ("nearest", 6, 540, "12"),
    ("nearest", 1, 29, "0"), ("nearest", 1, 30, "1"),
    ("nearest", 15, 449, "0"), ("nearest", 15, 450, "15"), ("nearest", 15, 1349, "15"),
    ("nearest", 15, 1350, "30"), ("up", 15, 1, "15"), ("down", 6, 720, "12"),
])
def test_rounding__mode_and_half__billable_minutes(rules, mode, increment, seconds, expected):
    minutes = f"{seconds / 60:.6f}".rstrip("0").rstrip(".")  # exact for these inputs
    out = rules(customers=cust(rounding_increment_minutes=increment, rounding_mode=mode),
                timelogs="entry_id,customer_id,user,service,started_at,ended_at\n"
                         f"e1,c1,ann,support,2026-01-05T09:00:00,2026-01-05T09:{seconds // 60:02d}:{seconds % 60:02d}",
                as_of="2026-01-31")
    assert minutes  # the duration is expressed through ended_at
    assert out.entry("e1", "billable_minutes") == {"billable_minutes": expected}


def test_minimum_entry__applies_only_to_entries_longer_than_zero(rules):
    out = rules(customers=cust(rounding_increment_minutes=1, minimum_entry_minutes=15),
                timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,1,2026-01-06T00:00,\n"
                              "e2,c1,ann,support,2026-01-05T09:00,0,2026-01-06T00:00,\n"
                              "e3,c1,ann,support,2026-01-05T09:00,20,2026-01-06T00:00,",
                as_of="2026-01-31")
    assert [out.entry(e, "billable_minutes")["billable_minutes"] for e in ("e1", "e2", "e3")] == ["15", "0", "20"]


def test_minimum_entry__not_rounded_again(rules):
    out = rules(customers=cust(rounding_increment_minutes=10, rounding_mode="up", minimum_entry_minutes=15),
                timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,2,2026-01-06T00:00,",
                as_of="2026-01-31")
    assert out.entry("e1", "billable_minutes") == {"billable_minutes": "15"}


# --- §3 charging --------------------------------------------------------------------------

def test_authorization__before_end_of_as_of_day__charged_else_pending(rules):
    out = rules(timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-31T23:59:59,\n"
                              "e2,c1,ann,support,2026-01-05T09:00,30,2026-02-01T00:00:00,\n"
                              "e3,c1,ann,support,2026-01-05T09:00,30,,",
                rates="hourly_rate\n60.00", as_of="2026-01-31")
    assert [out.entry(e)["status"] for e in ("e1", "e2", "e3")] == ["charged", "pending", "pending"]
    assert out.entry("e2", *ENTRY_COLS) == dict(
        status="pending", billable_minutes="30", covered_minutes="", value_amount="",
        overage_minutes="", overage_amount="", unpriced="false", block_ids="")


def test_authorization__cutoff_is_midnight_in_business_time_zone(rules):
    timelogs = TL + "e1,c1,ann,support,2026-01-05T09:00:00Z,30,2026-01-31T23:30:00Z,"
    utc = rules(timelogs=timelogs, rates="hourly_rate\n60", as_of="2026-01-31")
    berlin = rules(timelogs=timelogs, rates="hourly_rate\n60", as_of="2026-01-31", tz="Europe/Berlin")
    assert utc.entry("e1")["status"] == "charged"
    assert berlin.entry("e1")["status"] == "pending"  # 00:30 on Feb 1st in Berlin


def test_no_authorization_required__authorized_at_end_time(rules):
    out = rules(customers=cust(requires_authorization="no"),
                timelogs=TL + "e1,c1,ann,support,2026-01-31T23:00,59,2099-01-01T00:00,\n"
                              "e2,c1,ann,support,2026-01-31T23:30,31,,",
                rates="hourly_rate\n60", as_of="2026-01-31")
    assert out.entry("e1")["status"] == "charged"   # ends 23:59, whatever authorized_at says
    assert out.entry("e2")["status"] == "pending"   # ends 00:01 on Feb 1st


def test_not_billable__listed_never_charged(rules):
    out = rules(timelogs="entry_id,customer_id,user,service,started_at,duration_minutes,billable,authorized_at\n"
                         "e1,c1,ann,support,2026-01-05T09:00,45,No,2026-01-06T00:00",
                as_of="2026-01-31")
    assert out.entry("e1", "status", "billable_minutes", "covered_minutes") == dict(
        status="not_billable", billable_minutes="45", covered_minutes="")


def test_work_date__local_date_of_started_at(rules):
    out = rules(timelogs=TL + "e1,c1,ann,support,2026-01-05T23:30:00Z,30,2026-01-06T12:00Z,",
                as_of="2026-01-31", tz="Europe/Berlin")
    assert out.entry("e1")["work_date"] == "2026-01-06"


# --- §2 rates -----------------------------------------------------------------------------

def test_rate__highest_specificity_then_latest_valid_from(rules):
    out = rules(
        rates="customer_id,service,user,hourly_rate,valid_from,valid_to\n"
              ",,,10.00,,\n"
              ",support,,20.00,,\n"
              ",support,ann,30.00,,\n"
              "c1,,,40.00,,\n"
              "c1,support,,50.00,,\n"
              "c1,support,,55.00,2026-01-10,\n"
              "c1,support,bob,70.00,,2026-01-04",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,60,2026-01-20T00:00,\n"
                      "e2,c1,ann,support,2026-01-12T09:00,60,2026-01-20T00:00,\n"
                      "e3,c1,bob,support,2026-01-05T09:00,60,2026-01-20T00:00,\n"
                      "e4,c1,bob,support,2026-01-04T09:00,60,2026-01-20T00:00,\n"
                      "e5,c1,ann,training,2026-01-05T09:00,60,2026-01-20T00:00,",
        as_of="2026-01-31")
    amounts = [out.entry(e)["overage_amount"] for e in ("e1", "e2", "e3", "e4", "e5")]
    assert amounts == ["50.00", "55.00", "50.00", "70.00", "40.00"]


# --- §4 allocation ------------------------------------------------------------------------

def test_hours_blocks__entry_spans_two_blocks__earliest_expiry_first(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on\n"
                  "b2,c1,hours,10,1000,2026-01-01,\n"
                  "b1,c1,hours,1,100,2026-01-01,2026-06-30",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1", "covered_minutes", "block_ids", "overage_minutes") == dict(
        covered_minutes="90", block_ids="b1|b2", overage_minutes="0")
    assert out.balance("b1", "used", "remaining", "status") == dict(used="60", remaining="0", status="exhausted")
    assert out.balance("b2", "used", "remaining", "status") == dict(used="30", remaining="570", status="active")


def test_service_specific_block_before_any_service_block(rules):
    out = rules(
        purchases="block_id,customer_id,kind,service,quantity,amount_paid,purchased_on,expires_on\n"
                  "any,c1,hours,,1,100,2026-01-01,2026-02-01\n"
                  "sup,c1,hours,support,1,100,2026-01-01,2026-12-31\n"
                  "dev,c1,hours,development,1,100,2026-01-01,2026-01-31",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1")["block_ids"] == "sup"


def test_kind_order__unlimited_before_incidents_hours_value(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on\n"
                  "h,c1,hours,10,100,2026-01-01,\n"
                  "v,c1,value,100,100,2026-01-01,\n"
                  "u,c1,unlimited,,500,2026-01-01,2026-01-31",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,300,2026-01-06T00:00,",
        rates="hourly_rate\n60", as_of="2026-01-31")
    assert out.entry("e1", "covered_minutes", "value_amount", "block_ids") == dict(
        covered_minutes="300", value_amount="0.00", block_ids="u")
    assert out.balance("u", "purchased", "used", "expired", "remaining", "status") == dict(
        purchased="", used="300", expired="", remaining="", status="expired")


def test_incidents__reuse_covers_at_no_cost_even_when_used_up(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                  "i1,c1,incidents,1,300,2026-01-01\n"
                  "h1,c1,hours,10,1000,2026-01-01",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,40,2026-01-06T00:00,INC-1\n"
                      "e2,c1,ann,support,2026-01-07T09:00,50,2026-01-08T00:00,INC-1\n"
                      "e3,c1,ann,support,2026-01-09T09:00,20,2026-01-10T00:00,INC-2\n"
                      "e4,c1,ann,support,2026-01-09T10:00,25,2026-01-10T00:00,",
        as_of="2026-01-31")
    assert [out.entry(e)["block_ids"] for e in ("e1", "e2", "e3", "e4")] == ["i1", "i1", "h1", "h1"]
    assert out.balance("i1", "used", "remaining", "status") == dict(used="1", remaining="0", status="exhausted")
    assert out.balance("h1", "used")["used"] == "45"


def test_value_block__partial_cover__rest_is_overage(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                  "b1,c1,value,50.00,50.00,2026-01-01",
        rates="customer_id,hourly_rate\nc1,60.00",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1", "value_amount", "overage_amount", "overage_minutes", "covered_minutes") == dict(
        value_amount="50.00", overage_amount="40.00", overage_minutes="40", covered_minutes="0")


def test_value_pricing__round_half_up__overage_minutes_floor(rules):
    # 7 min at 0.43/h = 0.050166.. -> 0.05; block holds 0.02: r − ⌊7 × 2 / 5⌋ = 7 − 2 = 5
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                  "v,c1,value,0.02,0.02,2026-01-01",
        rates="hourly_rate\n0.43",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,7,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1", "value_amount", "overage_amount", "overage_minutes") == dict(
        value_amount="0.02", overage_amount="0.03", overage_minutes="5")


def test_value_cost_zero__takes_nothing_from_value_blocks(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                  "v,c1,value,10,10,2026-01-01",
        rates="hourly_rate\n0", timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1", "value_amount", "overage_amount", "overage_minutes", "block_ids") == dict(
        value_amount="0.00", overage_amount="0.00", overage_minutes="30", block_ids="")


def test_unpriced__keeps_hours_cover__no_value__overage_amount_blank(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                  "h,c1,hours,1,100,2026-01-01\n"
                  "v,c1,value,100,100,2026-01-01",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T00:00,\n"
                      "e2,c1,ann,support,2026-01-01T09:00,0,2026-01-02T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1", *ENTRY_COLS) == dict(
        status="charged", billable_minutes="90", covered_minutes="60", value_amount="0.00",
        overage_minutes="30", overage_amount="", unpriced="true", block_ids="h")
    assert out.entry("e2", "covered_minutes", "overage_amount", "unpriced", "block_ids") == dict(
        covered_minutes="0", overage_amount="0.00", unpriced="false", block_ids="")
    assert out.balance("v", "used")["used"] == "0.00"


def test_posting_order__authorized_at_then_started_at_then_entry_id(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                  "h,c1,hours,1,100,2026-01-01",
        rates="hourly_rate\n60",
        timelogs=TL + "a,c1,ann,support,2026-01-05T09:00,60,2026-01-07T00:00,\n"
                      "B,c1,ann,support,2026-01-06T09:00,60,2026-01-07T00:00,\n"
                      "C,c1,ann,support,2026-01-06T09:00,60,2026-01-07T00:00,\n"
                      "z,c1,ann,support,2026-01-20T09:00,60,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert [out.entry(e)["covered_minutes"] for e in ("z", "a", "B", "C")] == ["60", "0", "0", "0"]


# --- §4/§5 expiry -------------------------------------------------------------------------

def test_expiry__work_on_last_day_authorized_before_expiry_instant__covered(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on\n"
                  "h,c1,hours,10,600,2026-01-01,2026-01-31",
        rates="hourly_rate\n60",
        timelogs=TL + "e1,c1,ann,support,2026-01-31T09:00,60,2026-01-31T23:59:59,\n"
                      "e2,c1,ann,support,2026-01-31T10:00,60,2026-02-01T00:00:00,\n"
                      "e3,c1,ann,support,2026-02-01T10:00,60,2026-02-01T11:00:00,",
        as_of="2026-02-28")
    assert [out.entry(e)["block_ids"] for e in ("e1", "e2", "e3")] == ["h", "", ""]
    assert out.balance("h", "purchased", "used", "expired", "remaining", "status") == dict(
        purchased="600", used="60", expired="540", remaining="0", status="expired")


def test_status__expired_on_expiry_day_not_before(rules):
    purchases = ("block_id,customer_id,kind,quantity,amount_paid,purchased_on,starts_on,expires_on\n"
                 "h,c1,hours,1,100,2026-01-01,,2026-01-31\n"
                 "late,c1,hours,1,100,2026-01-01,2026-02-15,\n"
                 "zero,c1,hours,0,0,2026-01-01,,")
    before = rules(purchases=purchases, as_of="2026-01-30")
    on_day = rules(purchases=purchases, as_of="2026-01-31")
    assert [before.balance(b)["status"] for b in ("h", "late", "zero")] == ["active", "not_started", "exhausted"]
    assert [on_day.balance(b)["status"] for b in ("h", "late", "zero")] == ["expired", "not_started", "exhausted"]
    assert on_day.balance("h", "expired", "remaining") == dict(expired="60", remaining="0")


def test_block_not_known_before_purchase_date__not_listed_covers_nothing(rules):
    purchases = ("block_id,customer_id,kind,quantity,amount_paid,purchased_on,starts_on\n"
                 "h,c1,hours,1,100,2026-02-10,2026-01-01")
    timelogs = TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,"
    january = rules(purchases=purchases, timelogs=timelogs, rates="hourly_rate\n60", as_of="2026-01-31")
    february = rules(purchases=purchases, timelogs=timelogs, rates="hourly_rate\n60", as_of="2026-02-28")
    assert january.rows("balances") == []
    assert january.entry("e1")["overage_amount"] == "30.00"
    assert february.entry("e1", "block_ids", "overage_amount") == dict(block_ids="h", overage_amount="0.00")


# --- §5 pools and breaches ----------------------------------------------------------------

def test_breach__strictly_below_reorder_point__equality_is_not(rules):
    purchases = ("block_id,customer_id,kind,quantity,amount_paid,purchased_on,reorder_point\n"
                 "h,c1,hours,2,200,2026-01-01,1")
    at_point = rules(purchases=purchases, as_of="2026-01-31",
                     timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,60,2026-01-06T00:00,")
    below = rules(purchases=purchases, as_of="2026-01-31",
                  timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,61,2026-01-06T00:00,")
    assert at_point.breaches == []
    assert below.breaches == [dict(customer_id="c1", kind="hours", service="", remaining="59",
                                   reorder_point="60", topup_invoice_number="")]


def test_reorder_point__from_latest_block_even_expired__fractional_minutes_exact(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on,reorder_point\n"
                  "old,c1,hours,2,200,2026-01-01,,1\n"
                  "new,c1,hours,1,100,2026-01-02,2026-01-10,2.505",
        as_of="2026-01-31")
    assert out.breaches == [dict(customer_id="c1", kind="hours", service="", remaining="120",
                                 reorder_point="150.3", topup_invoice_number="")]


def test_pool__only_expired_blocks__not_in_breach(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on,reorder_point\n"
                  "h,c1,hours,1,100,2026-01-01,2026-01-10,5",
        as_of="2026-01-31")
    assert out.breaches == []


def test_value_pool_breach__money_units(rules):
    out = rules(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,reorder_point\n"
                  "v,c1,value,100.00,90.00,2026-01-01,50",
        rates="hourly_rate\n60",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,55,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.breaches == [dict(customer_id="c1", kind="value", service="", remaining="45.00",
                                 reorder_point="50.00", topup_invoice_number="")]


# --- ledger and determinism ---------------------------------------------------------------

def test_ledger__purchase_deduction_expiry_signed_in_block_unit(reconcile):
    out = reconcile(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on\n"
                  "h,c1,hours,1,100,2026-01-01,2026-01-20\n"
                  "v,c1,value,10.00,10.00,2026-01-01,",
        rates="hourly_rate\n60",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,65,2026-01-06T08:00,",
        as_of="2026-01-31")
    assert out.rows("ledger") == [
        dict(customer_id="c1", block_id="h", entry_id="", event="purchase", at="2026-01-01T00:00:00Z",
             minutes="60", amount="", incidents=""),
        dict(customer_id="c1", block_id="v", entry_id="", event="purchase", at="2026-01-01T00:00:00Z",
             minutes="", amount="10.00", incidents=""),
        dict(customer_id="c1", block_id="h", entry_id="e1", event="deduction", at="2026-01-06T08:00:00Z",
             minutes="-60", amount="", incidents=""),
        dict(customer_id="c1", block_id="v", entry_id="e1", event="deduction", at="2026-01-06T08:00:00Z",
             minutes="", amount="-5.00", incidents=""),
        dict(customer_id="c1", block_id="h", entry_id="", event="expiry", at="2026-01-21T00:00:00Z",
             minutes="0", amount="", incidents=""),
    ]


def test_rerun__same_inputs__byte_identical_outputs(reconcile, tmp_path):
    files = dict(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\nh,c1,hours,1,100,2026-01-01",
        rates="hourly_rate\n60",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,65,2026-01-06T08:00,\n"
                      "e2,c1,ann,support,2026-01-05T09:00,-5,2026-01-06T08:00,",
        as_of="2026-01-31")
    first, second = reconcile(**files), reconcile(**files)
    for name in ("balances", "entries", "ledger", "breaches", "quarantine"):
        assert (first.path / f"{name}.csv").read_bytes() == (second.path / f"{name}.csv").read_bytes()


# --- rules first written for the reference implementation alone --------------------------

P = "block_id,customer_id,kind,service,quantity,amount_paid,purchased_on,starts_on,expires_on,reorder_point\n"
TWO = "customer_id,name,currency\nc0,Zero,EUR\nc1,One,EUR\nc2,Two,EUR"


@pytest.mark.parametrize("seconds,expected", [(0, "0"), (1, "20"), (900, "20"), (1200, "30")])
def test_minimum_entry__after_rounding_up__only_when_longer_than_zero(rules, seconds, expected):
    out = rules(customers=cust(rounding_increment_minutes=15, rounding_mode="up", minimum_entry_minutes=20),
                timelogs="entry_id,customer_id,user,service,started_at,ended_at,authorized_at\n"
                         f"e1,c1,ann,support,2026-01-10T09:00:00,2026-01-10T09:{seconds // 60:02d}:{seconds % 60:02d},"
                         "2026-01-20T12:00",
                as_of="2026-01-31")
    assert out.entry("e1", "billable_minutes") == {"billable_minutes": expected}


def test_status__authorized_before_midnight_of_d_plus_1__in_the_business_time_zone(rules):
    timelogs = ("entry_id,customer_id,user,service,started_at,duration_minutes,billable,authorized_at\n"
                "e1,c1,ann,support,2026-01-10T09:00Z,60,,2026-01-31T23:59:59+01:00\n"
                "e2,c1,ann,support,2026-01-10T09:00Z,60,,2026-02-01T00:00:00+01:00\n"
                "e3,c1,ann,support,2026-01-10T09:00Z,60,,2026-01-31T23:30:00+00:00\n"
                "e4,c1,ann,support,2026-01-10T09:00Z,60,,\n"
                "e5,c1,ann,support,2026-01-10T09:00Z,60,false,2026-01-20T12:00Z\n"
                "e6,c1,ann,support,2026-02-03T09:00Z,60,,2026-02-05T09:00Z")
    statuses = lambda out: [out.entry(f"e{i}")["status"] for i in range(1, 7)]
    assert statuses(rules(timelogs=timelogs, as_of="2026-01-31", tz="Europe/Berlin")) == \
        ["charged", "pending", "pending", "pending", "not_billable", "pending"]
    assert statuses(rules(timelogs=timelogs, as_of="2026-01-31")) == \
        ["charged", "charged", "charged", "pending", "not_billable", "pending"]


def test_hours_block__precedence_starts_on_then_purchased_on_then_block_id(rules):
    out = rules(purchases=P + "bC,c1,hours,,0.5,0,2026-01-01,,,\nbB,c1,hours,,0.5,0,2026-01-02,2026-01-02,,\n"
                              "bA,c1,hours,,0.5,0,2026-01-01,2026-01-03,,\nbD,c1,hours,,0.5,0,2026-01-01,,,",
                rates="hourly_rate\n0", timelogs=TL + "e1,c1,ann,support,2026-01-10T09:00,120,2026-01-20T12:00,",
                as_of="2026-01-31")
    assert out.entry("e1", "covered_minutes", "block_ids") == dict(covered_minutes="120", block_ids="bC|bD|bB|bA")


def test_zero_minute_entry__takes_nothing__lists_no_block__consumes_no_incident(rules):
    out = rules(purchases=P + "b1,c1,hours,,1,0,2026-01-01,,,\ni1,c1,incidents,,1,0,2026-01-01,,,",
                timelogs=TL + "e1,c1,ann,support,2026-01-10T09:00,0,2026-01-20T12:00,T1", as_of="2026-01-31")
    assert out.entry("e1", "covered_minutes", "overage_amount", "block_ids") == dict(
        covered_minutes="0", overage_amount="0.00", block_ids="")
    assert out.balance("i1", "used", "remaining") == dict(used="0", remaining="1")


def test_incidents__reuse_only_when_the_cover_window_includes_the_entry(rules):
    out = rules(
        customers=TWO,
        purchases=P + "i_jan,c1,incidents,,5,0,2026-01-01,,2026-01-15,\ni_year,c1,incidents,,5,0,2026-01-01,,2026-12-31,\n"
                      "i_dev,c1,incidents,dev,5,0,2026-01-01,,,",
        timelogs=TL + "e1,c1,ann,support,2026-01-10T09:00,30,2026-01-10T12:00,T1\n"
                      "e2,c1,ann,support,2026-01-16T09:00,30,2026-01-16T12:00,T1\n"   # after i_jan's dates
                      "e3,c1,ann,support,2026-01-12T09:00,30,2026-01-16T00:00,T1\n"   # authorized after its expiry
                      "e4,c1,ann,dev,2026-01-17T09:00,30,2026-01-17T12:00,T1\n"       # i_year charged with T1 first
                      "e5,c2,ann,support,2026-01-10T09:00,30,2026-01-18T12:00,T1",    # another customer's T1
        as_of="2026-01-31")
    assert [out.entry(e)["block_ids"] for e in ("e1", "e2", "e3", "e4", "e5")] == \
        ["i_jan", "i_year", "i_year", "i_year", ""]
    assert out.entry("e5", "overage_amount", "unpriced") == dict(overage_amount="", unpriced="true")
    assert [out.balance(b, "used", "expired", "remaining", "status") for b in ("i_jan", "i_year", "i_dev")] == [
        dict(used="1", expired="4", remaining="0", status="expired"),
        dict(used="1", expired="0", remaining="4", status="active"),
        dict(used="0", expired="0", remaining="5", status="active")]


def test_incidents__reuse_picks_the_first_block_charged_with_the_incident(rules):
    out = rules(
        purchases=P + "i_a,c1,incidents,,1,0,2026-01-01,2026-01-05,2026-06-30,\ni_b,c1,incidents,,3,0,2026-01-01,,,",
        timelogs=TL + "e1,c1,ann,support,2026-01-02T09:00,30,2026-01-20T10:00,T1\n"   # i_a not started yet
                      "e2,c1,ann,support,2026-01-10T09:00,30,2026-01-20T11:00,T1\n"
                      "e3,c1,ann,support,2026-01-10T09:00,30,2026-01-20T12:00,T2",
        as_of="2026-01-31")
    assert [out.entry(e)["block_ids"] for e in ("e1", "e2", "e3")] == ["i_b", "i_b", "i_a"]


def test_value_blocks__after_hours__two_value_blocks_in_turn(rules):
    out = rules(purchases=P + "h1,c1,hours,,0.5,0,2026-01-01,,,\nv2,c1,value,,100.00,0,2026-01-01,,,\n"
                              "v1,c1,value,,10.00,0,2026-01-01,,2026-06-30,",
                rates="hourly_rate\n30.00", timelogs=TL + "e1,c1,ann,support,2026-01-10T09:00,90,2026-01-20T12:00,",
                as_of="2026-01-31")
    assert out.entry("e1", "covered_minutes", "value_amount", "overage_amount", "block_ids") == dict(
        covered_minutes="30", value_amount="30.00", overage_amount="0.00", block_ids="h1|v1|v2")
    assert out.balance("v2", "used", "remaining") == dict(used="20.00", remaining="80.00")


def test_expiry_instant__is_midnight_in_the_business_time_zone(rules):
    files = dict(purchases=P + "b1,c1,hours,,2,0,2026-01-01,,2026-01-31,",
                 timelogs=TL + "e1,c1,ann,support,2026-01-31T10:00Z,30,2026-01-31T23:30:00Z,", as_of="2026-02-01")
    assert rules(tz="Europe/Berlin", **files).entry("e1")["block_ids"] == ""   # 00:30 on Feb 1st there
    assert rules(**files).entry("e1")["block_ids"] == "b1"


def test_block_status__checked_in_order_expired_not_started_exhausted_active(rules):
    out = rules(
        purchases=P + "b_exp_used,c1,hours,,0.5,0,2026-01-01,,2026-01-31,\nb_exp,c1,value,,20.00,0,2026-01-01,,2026-01-30,\n"
                      "b_ns,c1,hours,,0,0,2026-01-01,2026-02-01,,\nb_zero,c1,incidents,,0,0,2026-01-01,,,\n"
                      "b_act,c1,hours,,1,0,2026-01-01,,,\nb_ns_used,c1,hours,,1,0,2026-01-01,2026-02-02,,",
        rates="hourly_rate\n0",
        timelogs=TL + "e1,c1,ann,support,2026-01-31T09:00,30,2026-01-20T12:00,\n"
                      "e2,c1,ann,support,2026-02-03T09:00,75,2026-01-31T09:00,\n"    # future work, authorized by D
                      "e3,c1,ann,support,2026-01-20T09:00,1,2026-01-31T10:00,",
        as_of="2026-01-31")
    assert [(r["block_id"], r["purchased"], r["used"], r["expired"], r["remaining"], r["status"])
            for r in out.rows("balances")] == [
        ("b_act", "60", "60", "0", "0", "exhausted"), ("b_exp", "20.00", "0.00", "20.00", "0.00", "expired"),
        ("b_exp_used", "30", "30", "0", "0", "expired"), ("b_ns", "0", "0", "0", "0", "not_started"),
        ("b_ns_used", "60", "15", "0", "45", "not_started"), ("b_zero", "0", "0", "0", "0", "exhausted")]
    assert out.entry("e2")["block_ids"] == "b_act|b_ns_used"
    assert out.entry("e3", "covered_minutes", "block_ids") == dict(covered_minutes="0", block_ids="")


def test_balances__full_row_format_and_sort(rules):
    out = rules(customers=TWO,
                purchases=P + "b2,c2,value,dev,99.5,0,2026-01-01,2026-01-03,2026-03-31,\n"
                              "b9,c1,hours,,1.25,0,2026-01-01,,,\nb1,c1,incidents,,3,0,2026-01-01,,,",
                as_of="2026-01-31")
    assert out.rows("balances") == [
        dict(customer_id="c1", block_id="b1", kind="incidents", service="", purchased="3", used="0", expired="0",
             remaining="3", starts_on="2026-01-01", expires_on="", status="active"),
        dict(customer_id="c1", block_id="b9", kind="hours", service="", purchased="75", used="0", expired="0",
             remaining="75", starts_on="2026-01-01", expires_on="", status="active"),
        dict(customer_id="c2", block_id="b2", kind="value", service="dev", purchased="99.50", used="0.00",
             expired="0.00", remaining="99.50", starts_on="2026-01-03", expires_on="2026-03-31", status="active")]


def test_breach__a_block_not_known_as_of_d_gives_no_reorder_point(rules):
    purchases = P + "b1,c1,hours,,1,0,2026-01-01,,,0.5\nb2,c1,hours,,1,0,2026-02-01,,,10"
    assert rules(purchases=purchases, as_of="2026-01-31").breaches == []
    assert rules(purchases=purchases, as_of="2026-02-01").breaches == [dict(
        customer_id="c1", kind="hours", service="", remaining="120", reorder_point="600", topup_invoice_number="")]


def test_breach__value_and_incidents_units__not_started_counts__sorted(rules):
    out = rules(
        customers=TWO,
        purchases=P + "v1,c1,value,dev,100.00,0,2026-01-01,,,50\nv2,c1,value,dev,20.00,0,2026-01-01,2026-02-10,,\n"
                      "i1,c1,incidents,,3,0,2026-01-01,,,2\ni0,c0,incidents,,5,0,2026-01-01,,,5.5",
        rates="hourly_rate\n60.00",
        timelogs=TL + "e1,c1,ann,dev,2026-01-10T09:00,90,2026-01-20T12:00,\n"
                      "e2,c1,ann,support,2026-01-10T09:00,10,2026-01-20T12:00,T1\n"
                      "e3,c1,ann,support,2026-01-10T09:00,10,2026-01-20T12:00,T2",
        as_of="2026-01-31")
    assert out.breaches == [
        dict(customer_id="c0", kind="incidents", service="", remaining="5", reorder_point="5.5", topup_invoice_number=""),
        dict(customer_id="c1", kind="incidents", service="", remaining="1", reorder_point="2", topup_invoice_number=""),
        dict(customer_id="c1", kind="value", service="dev", remaining="30.00", reorder_point="50.00",
             topup_invoice_number="")]


def test_rate__service_only_outranks_user_only__any_any_is_the_fallback(rules):
    out = rules(rates="customer_id,service,user,hourly_rate\n,,,10.00\n,,ann,11.00\n,support,,12.00",
                timelogs=TL + "e1,c1,ann,support,2026-01-10T09:00,60,2026-01-20T12:00,\n"
                              "e2,c1,ann,dev,2026-01-10T09:00,60,2026-01-20T12:00,\n"
                              "e3,c1,bob,dev,2026-01-10T09:00,60,2026-01-20T12:00,",
                as_of="2026-01-31")
    assert [out.entry(e)["overage_amount"] for e in ("e1", "e2", "e3")] == ["12.00", "11.00", "10.00"]
