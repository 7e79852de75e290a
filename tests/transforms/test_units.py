"""Money, durations and periods (transforms/units.py): exact values, never floats."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import duckdb
import pytest

from transforms import units
from transforms.warehouse import sql

CENTS = [0, 1, -1, 5, -5, 99, 100, -100, 1234, -1234, 123456789, -123456789, 10**15 + 7]


def test_cents_text__sign_zero_padding_and_large_amounts():
    assert [units.cents_text(c) for c in CENTS] == [
        "0.00", "0.01", "-0.01", "0.05", "-0.05", "0.99", "1.00", "-1.00", "12.34", "-12.34",
        "1234567.89", "-1234567.89", "10000000000000.07"]


def test_cents_text__none_is_an_empty_cell():
    assert units.cents_text(None) == ""


def test_cents_text__equals_the_sql_macro_money_text():
    con = duckdb.connect()
    con.execute(sql("macros.sql"))
    in_sql = [v for (v,) in con.execute("select money_text(c) from unnest(?::bigint[]) t(c)", [CENTS]).fetchall()]
    assert in_sql == [units.cents_text(c) for c in CENTS]


def test_unit_text__equals_the_sql_macro_unit_text():
    con = duckdb.connect()
    con.execute(sql("macros.sql"))
    cases = [("value", -1205), ("hours", 90), ("unlimited", 0), ("incidents", 3), ("value", None)]
    in_sql = [con.execute("select unit_text(?, ?::bigint)", list(case)).fetchone()[0] or "" for case in cases]
    assert in_sql == [units.unit_text(*case) for case in cases] == ["-12.05", "90", "0", "3", ""]


def test_grouped_text__thousands_grouped_sign_first():
    assert [units.grouped_text(c) for c in (0, -5, 123456, -123456789)] == [
        "0.00", "-0.05", "1,234.56", "-1,234,567.89"]


def test_cents_to_decimal__always_two_places():
    assert [str(units.cents_to_decimal(c)) for c in (0, -1, 1200, -123456, 10**15 + 7)] == [
        "0.00", "-0.01", "12.00", "-1234.56", "10000000000000.07"]


def test_cents_to_number__no_trailing_zeros_past_the_point():
    assert [str(units.cents_to_number(c)) for c in (0, 1250, 1200, -5, 120000)] == [
        "0", "12.5", "12", "-0.05", "1200"]


def test_round_half_up__halves_away_from_zero():
    values = [Decimal("2.5"), Decimal("-2.5"), Decimal("2.4999"), Decimal("-0.5"), Decimal("0.5"), 7]
    assert [units.round_half_up(v) for v in values] == [3, -3, 2, -1, 1, 7]
    assert [units.round_half_up(Fraction(n, 2)) for n in (5, -5, 3, -1)] == [3, -3, 2, -1]


def test_to_cents__rounds_to_whole_cents_half_up():
    assert [units.to_cents(a) for a in ("12.345", "-12.345", "12.344", "0", Decimal("1234.5"), "0.005")] == [
        1235, -1235, 1234, 0, 123450, 1]


def test_minutes_to_hours__exact_where_it_can_be():
    assert [units.minutes_to_hours(m) for m in (90, 0, -30, 10)] == [
        Decimal("1.5"), Decimal("0"), Decimal("-0.5"), Decimal("0.1666666666666666666666666667")]


def test_hours_text__plain_number_without_trailing_zeros():
    assert [units.hours_text(m) for m in (450, 735, 60, 6000, 0, 15)] == ["7.5", "12.25", "1", "100", "0", "0.25"]


def test_in_unit__each_kind_in_the_unit_people_read():
    assert [units.in_unit(k, u) for k, u in (("hours", 90), ("unlimited", 30), ("value", 1250),
                                             ("incidents", 4), ("value", None))] == [
        Decimal("1.5"), Decimal("0.5"), Decimal("12.5"), 4, None]


def test_periods__month_ends_and_neighbours():
    assert [units.period_end(p) for p in ("2026-02", "2024-02", "2026-12", "2026-04")] == [
        date(2026, 2, 28), date(2024, 2, 29), date(2026, 12, 31), date(2026, 4, 30)]
    assert units.period_start("2026-03") == date(2026, 3, 1)
    assert units.period_of(date(2026, 1, 31)) == "2026-01"
    assert (units.previous_period("2026-01"), units.next_period("2026-12")) == ("2025-12", "2027-01")


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-3", "26-03", "", None, "2026-03-01"])
def test_parse_period__not_yyyy_mm__refused(text):
    with pytest.raises(ValueError, match="not a period"):
        units.parse_period(text)


def test_parse_period__valid_month__returned_as_given():
    assert units.parse_period("2026-03") == "2026-03"
