"""SPEC §2/§8 validation: every rule with a tiny inline input and its exact quarantine row."""

import pytest

TL = "entry_id,customer_id,user,service,started_at,ended_at,duration_minutes\n"
PURCHASE = "block_id,customer_id,kind,service,quantity,amount_paid,purchased_on,starts_on,expires_on,reorder_point\n"


def q(out):
    """Quarantine rows without the human detail text."""
    return [(r["source_file"], r["line"], r["column"], r["value"], r["reason_code"]) for r in out.quarantine]


@pytest.mark.parametrize("row,expected", [
    (",Acme,EUR", ("customers.csv", "3", "customer_id", "", "missing_value")),
    ("c2,,EUR", ("customers.csv", "3", "name", "", "missing_value")),
    ("c2,Beta,", ("customers.csv", "3", "currency", "", "missing_value")),
    ("c2,Beta,euro", ("customers.csv", "3", "currency", "euro", "unparseable_value")),
    ("c1,Again,EUR", ("customers.csv", "3", "customer_id", "c1", "duplicate_id")),
])
def test_customers__required_unique_currency(reconcile, row, expected):
    out = reconcile(customers="customer_id,name,currency\nc1,One,EUR\n" + row, as_of="2026-01-31")
    assert q(out) == [expected]


@pytest.mark.parametrize("column,value,reason", [
    ("rounding_increment_minutes", "0", "out_of_range"),
    ("rounding_increment_minutes", "1.5", "unparseable_value"),
    ("rounding_mode", "sideways", "unparseable_value"),
    ("minimum_entry_minutes", "-5", "negative_value"),  # written formula-safe as '-5
    ("requires_authorization", "maybe", "unparseable_value"),
    ("invoice_cadence", "weekly", "unparseable_value"),
    ("tax_rate_percent", "-1", "negative_value"),
])
def test_customers__settings_rules(reconcile, column, value, reason):
    out = reconcile(customers=f"customer_id,name,currency,{column}\nc1,One,EUR,{value}", as_of="2026-01-31")
    shown = "'" + value if value.startswith("-") else value  # spreadsheet-safe CSV cell
    assert q(out) == [("customers.csv", "2", column, shown, reason)]


@pytest.mark.parametrize("row,expected", [
    ("b1,c9,hours,,1,10,2026-01-01,,,", ("purchases.csv", "2", "customer_id", "c9", "unknown_customer")),
    ("b1,c1,days,,1,10,2026-01-01,,,", ("purchases.csv", "2", "kind", "days", "unparseable_value")),
    ("b1,c1,hours,,1.001,10,2026-01-01,,,", ("purchases.csv", "2", "quantity", "1.001", "fractional_minutes")),
    ("b1,c1,hours,,,10,2026-01-01,,,", ("purchases.csv", "2", "quantity", "", "missing_value")),
    ("b1,c1,incidents,,1.5,10,2026-01-01,,,", ("purchases.csv", "2", "quantity", "1.5", "unparseable_value")),
    ("b1,c1,value,,10.005,10,2026-01-01,,,", ("purchases.csv", "2", "quantity", "10.005", "unparseable_value")),
    ("b1,c1,unlimited,,5,10,2026-01-01,,2026-02-01,", ("purchases.csv", "2", "quantity", "5", "unexpected_value")),
    ("b1,c1,unlimited,,,10,2026-01-01,,,", ("purchases.csv", "2", "expires_on", "", "missing_value")),
    ("b1,c1,unlimited,,,10,2026-01-01,,2026-02-01,3", ("purchases.csv", "2", "reorder_point", "3", "unexpected_value")),
    ("b1,c1,hours,,1,-10,2026-01-01,,,", ("purchases.csv", "2", "amount_paid", "'-10", "negative_value")),
    ("b1,c1,hours,,1,10.123,2026-01-01,,,", ("purchases.csv", "2", "amount_paid", "10.123", "unparseable_value")),
    ("b1,c1,hours,,1,10,01/02/2026,,,", ("purchases.csv", "2", "purchased_on", "01/02/2026", "unparseable_value")),
    ("b1,c1,hours,,1,10,2026-01-10,,2026-01-09,", ("purchases.csv", "2", "expires_on", "2026-01-09", "expires_before_start")),
    ("b1,c1,hours,,1,10,2026-01-01,2026-01-10,2026-01-09,", ("purchases.csv", "2", "expires_on", "2026-01-09", "expires_before_start")),
])
def test_purchases__rules(reconcile, row, expected):
    out = reconcile(purchases=PURCHASE + row, as_of="2026-01-31")
    assert q(out) == [expected]
    assert out.rows("balances") == []


def test_purchases__duplicate_block_id__first_stays(reconcile):
    out = reconcile(purchases=PURCHASE + "b1,c1,hours,,1,10,2026-01-01,,,\nb1,c1,hours,,2,20,2026-01-01,,,",
                    as_of="2026-01-31")
    assert q(out) == [("purchases.csv", "3", "block_id", "b1", "duplicate_id")]
    assert out.balance("b1")["purchased"] == "60"


def test_purchases__currency_column_must_match_customer(reconcile):
    out = reconcile(purchases="block_id,customer_id,kind,quantity,amount_paid,purchased_on,currency\n"
                              "b1,c1,hours,1,10,2026-01-01,USD\nb2,c1,hours,1,10,2026-01-01,eur",
                    as_of="2026-01-31")
    assert q(out) == [("purchases.csv", "2", "currency", "USD", "currency_mismatch")]


def test_rates__ties_quarantined_both_rows(reconcile):
    out = reconcile(rates="customer_id,service,user,hourly_rate,valid_from\n"
                          "c1,support,,10,2026-01-01\nc1,support,,20,2026-01-01\nc1,support,,30,",
                    as_of="2026-01-31")
    assert q(out) == [("rates.csv", "2", "valid_from", "2026-01-01", "ambiguous_rate"),
                      ("rates.csv", "3", "valid_from", "2026-01-01", "ambiguous_rate")]


@pytest.mark.parametrize("row,expected", [
    ("c9,,,10,,", ("rates.csv", "2", "customer_id", "c9", "unknown_customer")),
    ("c1,,,,,", ("rates.csv", "2", "hourly_rate", "", "missing_value")),
    ("c1,,,-1,,", ("rates.csv", "2", "hourly_rate", "'-1", "negative_value")),
    ("c1,,,10,2026-02-01,2026-01-01", ("rates.csv", "2", "valid_to", "2026-01-01", "expires_before_start")),
])
def test_rates__rules(reconcile, row, expected):
    out = reconcile(rates="customer_id,service,user,hourly_rate,valid_from,valid_to\n" + row, as_of="2026-01-31")
    assert q(out) == [expected]


@pytest.mark.parametrize("row,expected", [
    (",c1,ann,support,2026-01-05T09:00,,30", ("timelogs/t.csv", "2", "entry_id", "", "missing_value")),
    ("e1,,ann,support,2026-01-05T09:00,,30", ("timelogs/t.csv", "2", "customer_id", "", "missing_value")),
    ("e1,c1,,support,2026-01-05T09:00,,30", ("timelogs/t.csv", "2", "user", "", "missing_value")),
    ("e1,c1,ann,,2026-01-05T09:00,,30", ("timelogs/t.csv", "2", "service", "", "missing_value")),
    ("e1,c1,ann,support,2026-01-05,,30", ("timelogs/t.csv", "2", "started_at", "2026-01-05", "unparseable_value")),
    ("e1,c1,ann,support,2026-13-05T09:00,,30", ("timelogs/t.csv", "2", "started_at", "2026-13-05T09:00", "unparseable_value")),
    ("e1,c1,ann,support,2026-01-05T09:00,,", ("timelogs/t.csv", "2", "ended_at", "", "missing_value")),
    ("e1,c1,ann,support,2026-01-05T09:00,2026-01-05T08:59,", ("timelogs/t.csv", "2", "ended_at", "2026-01-05T08:59", "negative_duration")),
    ("e1,c1,ann,support,2026-01-05T09:00,,-5", ("timelogs/t.csv", "2", "duration_minutes", "'-5", "negative_duration")),
    ("e1,c1,ann,support,2026-01-05T09:00,,abc", ("timelogs/t.csv", "2", "duration_minutes", "abc", "unparseable_value")),
    ("e1,c1,ann,support,2026-01-05T09:00,2026-01-05T10:00,62", ("timelogs/t.csv", "2", "duration_minutes", "62", "duration_conflict")),
    ("e1,c1,ann,support,2026-01-05T09:00,2026-01-06T09:01,", ("timelogs/t.csv", "2", "ended_at", "2026-01-06T09:01", "implausible_duration")),
    ("e1,Nobody,ann,support,2026-01-05T09:00,,30", ("timelogs/t.csv", "2", "customer_id", "Nobody", "unknown_customer")),
])
def test_timelogs__rules(reconcile, row, expected):
    out = reconcile(timelogs=TL + row, as_of="2026-01-31")
    assert q(out) == [expected]
    assert out.rows("entries") == []


def test_timelogs__duration_agrees_within_60_seconds__ended_at_used(reconcile):
    out = reconcile(timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,2026-01-05T10:00,61", as_of="2026-01-31")
    assert q(out) == [] and out.entry("e1")["billable_minutes"] == "60"


def test_timelogs__timestamp_forms_accepted(reconcile):
    out = reconcile(timelogs=TL + "e1,c1,ann,support,2026-01-05 09:00,2026-01-05T09:30:00+00:00,\n"
                                  "e2,c1,ann,support,2026-01-05T09:00:00Z,,12.5",
                    as_of="2026-01-31")
    assert q(out) == []
    assert [out.entry(e)["billable_minutes"] for e in ("e1", "e2")] == ["30", "13"]


def test_timelogs__unknown_customer_detail_suggests_closest_names(reconcile):
    out = reconcile(customers="customer_id,name,aliases,currency\nc1,Acme Logistics,ACME|Acme Corp,EUR",
                    timelogs=TL + "e1,Acme Logistic,ann,support,2026-01-05T09:00,,30", as_of="2026-01-31")
    assert out.quarantine[0]["detail"] == "no customer 'Acme Logistic'; did you mean Acme Logistics?"


def test_timelogs__name_or_alias_resolves_case_insensitively__ambiguous_quarantined(reconcile):
    out = reconcile(customers="customer_id,name,aliases,currency\nc1,Acme,ACME Corp,EUR\nc2,Beta,acme corp,EUR",
                    timelogs=TL + "e1,acme,ann,support,2026-01-05T09:00,,30\n"
                                  "e2,ACME CORP,ann,support,2026-01-05T09:00,,30\n"
                                  "e3,Beta,ann,support,2026-01-05T09:00,,30",
                    as_of="2026-01-31")
    assert q(out) == [("timelogs/t.csv", "3", "customer_id", "ACME CORP", "ambiguous_customer")]
    assert [(e["entry_id"], e["customer_id"]) for e in out.rows("entries")] == [("e1", "c1"), ("e3", "c2")]


def test_timelogs__duplicate_entry_id_in_one_file__first_stays(reconcile):
    out = reconcile(timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,,30\ne1,c1,ann,support,2026-01-05T09:00,,45",
                    as_of="2026-01-31")
    assert q(out) == [("timelogs/t.csv", "3", "entry_id", "e1", "duplicate_id")]
    assert out.entry("e1")["billable_minutes"] == "30"


def test_file_missing_required_column__rejected_whole_one_row(reconcile):
    out = reconcile(timelogs="entry_id,customer_id,user,started_at,duration_minutes\ne1,c1,ann,2026-01-05T09:00,30",
                    as_of="2026-01-31")
    assert q(out) == [("timelogs/t.csv", "0", "service", "", "missing_column")]


def test_row_with_wrong_field_count__quarantined_rest_of_file_kept(reconcile):
    out = reconcile(timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,,30,extra\ne2,c1,ann,support,2026-01-05T09:00,,30",
                    as_of="2026-01-31")
    assert [r[4] for r in q(out)] == ["wrong_field_count"] and q(out)[0][1] == "2"
    assert [e["entry_id"] for e in out.rows("entries")] == ["e2"]


def test_authorizations__last_row_wins__unknown_entry_quarantined(reconcile):
    out = reconcile(timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,,30",
                    authorizations="entry_id,authorized_at,authorized_by\n"
                                   "e1,2026-02-05T00:00,boss\ne1,2026-01-06T00:00,boss\nzz,2026-01-06T00:00,boss",
                    rates="hourly_rate\n60", as_of="2026-01-31")
    assert q(out) == [("authorizations.csv", "4", "entry_id", "zz", "unknown_entry")]
    assert out.entry("e1")["status"] == "charged"


def test_headers_and_cells_trimmed__bom_and_extra_columns_ignored(reconcile, tmp_path):
    out = reconcile(customers="\ufeff customer_id , name ,currency, notes\n c1 , One , EUR , x",
                    timelogs=TL + "e1, c1 ,ann,support,2026-01-05T09:00,,30", as_of="2026-01-31")
    assert q(out) == [] and out.entry("e1")["customer_id"] == "c1"
