"""Rule matrix for SPEC §3–§5: one small inline scenario per rule, exact expected rows."""

import pytest

ENTRY_COLS = ("status", "billable_minutes", "covered_minutes", "value_amount", "overage_minutes",
              "overage_amount", "unpriced", "block_ids")
TL = "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at,incident_id\n"


def cust(**kw) -> str:
    cols = {"customer_id": "c1", "name": "One", "currency": "EUR", **kw}
    return ",".join(cols) + "\n" + ",".join(str(v) for v in cols.values())


# --- §3 billable minutes ------------------------------------------------------------------

@pytest.mark.parametrize("mode,increment,seconds,expected", [
    ("up", 15, 60, "15"), ("up", 15, 900, "15"), ("up", 15, 901, "30"),
    ("down", 15, 899, "0"), ("down", 15, 1799, "15"),
    ("nearest", 6, 179, "0"), ("nearest", 6, 180, "6"), ("nearest", 6, 539, "6"), ("nearest", 6, 540, "12"),
    ("nearest", 1, 29, "0"), ("nearest", 1, 30, "1"),
])
def test_rounding__mode_and_half__billable_minutes(reconcile, mode, increment, seconds, expected):
    minutes = f"{seconds / 60:.6f}".rstrip("0").rstrip(".")  # exact for these inputs
    out = reconcile(customers=cust(rounding_increment_minutes=increment, rounding_mode=mode),
                    timelogs="entry_id,customer_id,user,service,started_at,ended_at\n"
                             f"e1,c1,ann,support,2026-01-05T09:00:00,2026-01-05T09:{seconds // 60:02d}:{seconds % 60:02d}",
                    as_of="2026-01-31")
    assert minutes  # the duration is expressed through ended_at
    assert out.entry("e1", "billable_minutes") == {"billable_minutes": expected}


def test_minimum_entry__applies_only_to_entries_longer_than_zero(reconcile):
    out = reconcile(customers=cust(rounding_increment_minutes=1, minimum_entry_minutes=15),
                    timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,1,2026-01-06T00:00,\n"
                                  "e2,c1,ann,support,2026-01-05T09:00,0,2026-01-06T00:00,\n"
                                  "e3,c1,ann,support,2026-01-05T09:00,20,2026-01-06T00:00,",
                    as_of="2026-01-31")
    assert [out.entry(e, "billable_minutes")["billable_minutes"] for e in ("e1", "e2", "e3")] == ["15", "0", "20"]


def test_minimum_entry__not_rounded_again(reconcile):
    out = reconcile(customers=cust(rounding_increment_minutes=10, rounding_mode="up", minimum_entry_minutes=15),
                    timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,2,2026-01-06T00:00,",
                    as_of="2026-01-31")
    assert out.entry("e1", "billable_minutes") == {"billable_minutes": "15"}


# --- §3 charging --------------------------------------------------------------------------

def test_authorization__before_end_of_as_of_day__charged_else_pending(reconcile):
    out = reconcile(timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-31T23:59:59,\n"
                                  "e2,c1,ann,support,2026-01-05T09:00,30,2026-02-01T00:00:00,\n"
                                  "e3,c1,ann,support,2026-01-05T09:00,30,,",
                    rates="hourly_rate\n60.00", as_of="2026-01-31")
    assert [out.entry(e)["status"] for e in ("e1", "e2", "e3")] == ["charged", "pending", "pending"]
    assert out.entry("e2", *ENTRY_COLS) == dict(
        status="pending", billable_minutes="30", covered_minutes="", value_amount="",
        overage_minutes="", overage_amount="", unpriced="false", block_ids="")


def test_authorization__cutoff_is_midnight_in_business_time_zone(reconcile):
    timelogs = TL + "e1,c1,ann,support,2026-01-05T09:00:00Z,30,2026-01-31T23:30:00Z,"
    utc = reconcile(timelogs=timelogs, rates="hourly_rate\n60", as_of="2026-01-31")
    berlin = reconcile(timelogs=timelogs, rates="hourly_rate\n60", as_of="2026-01-31", tz="Europe/Berlin")
    assert utc.entry("e1")["status"] == "charged"
    assert berlin.entry("e1")["status"] == "pending"  # 00:30 on Feb 1st in Berlin


def test_no_authorization_required__authorized_at_end_time(reconcile):
    out = reconcile(customers=cust(requires_authorization="no"),
                    timelogs=TL + "e1,c1,ann,support,2026-01-31T23:00,59,2099-01-01T00:00,\n"
                                  "e2,c1,ann,support,2026-01-31T23:30,31,,",
                    rates="hourly_rate\n60", as_of="2026-01-31")
    assert out.entry("e1")["status"] == "charged"   # ends 23:59, whatever authorized_at says
    assert out.entry("e2")["status"] == "pending"   # ends 00:01 on Feb 1st


def test_not_billable__listed_never_charged(reconcile):
    out = reconcile(timelogs="entry_id,customer_id,user,service,started_at,duration_minutes,billable,authorized_at\n"
                             "e1,c1,ann,support,2026-01-05T09:00,45,No,2026-01-06T00:00",
                    as_of="2026-01-31")
    assert out.entry("e1", "status", "billable_minutes", "covered_minutes") == dict(
        status="not_billable", billable_minutes="45", covered_minutes="")


def test_work_date__local_date_of_started_at(reconcile):
    out = reconcile(timelogs=TL + "e1,c1,ann,support,2026-01-05T23:30:00Z,30,2026-01-06T12:00Z,",
                    as_of="2026-01-31", tz="Europe/Berlin")
    assert out.entry("e1")["work_date"] == "2026-01-06"


# --- §2 rates -----------------------------------------------------------------------------

def test_rate__highest_specificity_then_latest_valid_from(reconcile):
    out = reconcile(
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

def test_hours_blocks__entry_spans_two_blocks__earliest_expiry_first(reconcile):
    out = reconcile(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on\n"
                  "b2,c1,hours,10,1000,2026-01-01,\n"
                  "b1,c1,hours,1,100,2026-01-01,2026-06-30",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1", "covered_minutes", "block_ids", "overage_minutes") == dict(
        covered_minutes="90", block_ids="b1|b2", overage_minutes="0")
    assert out.balance("b1", "used", "remaining", "status") == dict(used="60", remaining="0", status="exhausted")
    assert out.balance("b2", "used", "remaining", "status") == dict(used="30", remaining="570", status="active")


def test_service_specific_block_before_any_service_block(reconcile):
    out = reconcile(
        purchases="block_id,customer_id,kind,service,quantity,amount_paid,purchased_on,expires_on\n"
                  "any,c1,hours,,1,100,2026-01-01,2026-02-01\n"
                  "sup,c1,hours,support,1,100,2026-01-01,2026-12-31\n"
                  "dev,c1,hours,development,1,100,2026-01-01,2026-01-31",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1")["block_ids"] == "sup"


def test_kind_order__unlimited_before_incidents_hours_value(reconcile):
    out = reconcile(
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


def test_incidents__reuse_covers_at_no_cost_even_when_used_up(reconcile):
    out = reconcile(
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


def test_value_block__partial_cover__rest_is_overage(reconcile):
    out = reconcile(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                  "b1,c1,value,50.00,50.00,2026-01-01",
        rates="customer_id,hourly_rate\nc1,60.00",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,90,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1", "value_amount", "overage_amount", "overage_minutes", "covered_minutes") == dict(
        value_amount="50.00", overage_amount="40.00", overage_minutes="40", covered_minutes="0")


def test_value_pricing__round_half_up__overage_minutes_floor(reconcile):
    # 7 min at 0.43/h = 0.050166.. -> 0.05; block holds 0.02: r − ⌊7 × 2 / 5⌋ = 7 − 2 = 5
    out = reconcile(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                  "v,c1,value,0.02,0.02,2026-01-01",
        rates="hourly_rate\n0.43",
        timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,7,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1", "value_amount", "overage_amount", "overage_minutes") == dict(
        value_amount="0.02", overage_amount="0.03", overage_minutes="5")


def test_value_cost_zero__takes_nothing_from_value_blocks(reconcile):
    out = reconcile(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on\n"
                  "v,c1,value,10,10,2026-01-01",
        rates="hourly_rate\n0", timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,",
        as_of="2026-01-31")
    assert out.entry("e1", "value_amount", "overage_amount", "overage_minutes", "block_ids") == dict(
        value_amount="0.00", overage_amount="0.00", overage_minutes="30", block_ids="")


def test_unpriced__keeps_hours_cover__no_value__overage_amount_blank(reconcile):
    out = reconcile(
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


def test_posting_order__authorized_at_then_started_at_then_entry_id(reconcile):
    out = reconcile(
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

def test_expiry__work_on_last_day_authorized_before_expiry_instant__covered(reconcile):
    out = reconcile(
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


def test_status__expired_on_expiry_day_not_before(reconcile):
    purchases = ("block_id,customer_id,kind,quantity,amount_paid,purchased_on,starts_on,expires_on\n"
                 "h,c1,hours,1,100,2026-01-01,,2026-01-31\n"
                 "late,c1,hours,1,100,2026-01-01,2026-02-15,\n"
                 "zero,c1,hours,0,0,2026-01-01,,")
    before = reconcile(purchases=purchases, as_of="2026-01-30")
    on_day = reconcile(purchases=purchases, as_of="2026-01-31")
    assert [before.balance(b)["status"] for b in ("h", "late", "zero")] == ["active", "not_started", "exhausted"]
    assert [on_day.balance(b)["status"] for b in ("h", "late", "zero")] == ["expired", "not_started", "exhausted"]
    assert on_day.balance("h", "expired", "remaining") == dict(expired="60", remaining="0")


def test_block_not_known_before_purchase_date__not_listed_covers_nothing(reconcile):
    purchases = ("block_id,customer_id,kind,quantity,amount_paid,purchased_on,starts_on\n"
                 "h,c1,hours,1,100,2026-02-10,2026-01-01")
    timelogs = TL + "e1,c1,ann,support,2026-01-05T09:00,30,2026-01-06T00:00,"
    january = reconcile(purchases=purchases, timelogs=timelogs, rates="hourly_rate\n60", as_of="2026-01-31")
    february = reconcile(purchases=purchases, timelogs=timelogs, rates="hourly_rate\n60", as_of="2026-02-28")
    assert january.rows("balances") == []
    assert january.entry("e1")["overage_amount"] == "30.00"
    assert february.entry("e1", "block_ids", "overage_amount") == dict(block_ids="h", overage_amount="0.00")


# --- §5 pools and breaches ----------------------------------------------------------------

def test_breach__strictly_below_reorder_point__equality_is_not(reconcile):
    purchases = ("block_id,customer_id,kind,quantity,amount_paid,purchased_on,reorder_point\n"
                 "h,c1,hours,2,200,2026-01-01,1")
    at_point = reconcile(purchases=purchases, as_of="2026-01-31",
                         timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,60,2026-01-06T00:00,")
    below = reconcile(purchases=purchases, as_of="2026-01-31",
                      timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,61,2026-01-06T00:00,")
    assert at_point.breaches == []
    assert below.breaches == [dict(customer_id="c1", kind="hours", service="", remaining="59",
                                   reorder_point="60", topup_invoice_number="")]


def test_reorder_point__from_latest_block_even_expired__fractional_minutes_exact(reconcile):
    out = reconcile(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on,reorder_point\n"
                  "old,c1,hours,2,200,2026-01-01,,1\n"
                  "new,c1,hours,1,100,2026-01-02,2026-01-10,2.505",
        as_of="2026-01-31")
    assert out.breaches == [dict(customer_id="c1", kind="hours", service="", remaining="120",
                                 reorder_point="150.3", topup_invoice_number="")]


def test_pool__only_expired_blocks__not_in_breach(reconcile):
    out = reconcile(
        purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,expires_on,reorder_point\n"
                  "h,c1,hours,1,100,2026-01-01,2026-01-10,5",
        as_of="2026-01-31")
    assert out.breaches == []


def test_value_pool_breach__money_units(reconcile):
    out = reconcile(
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
