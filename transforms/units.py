"""The project's units in one place: money, durations and periods, and their plain texts.

- Money is integer cents. Its machine text is exact decimal text with two places ('-12.34'),
  the same as the SQL macro `money_text` in sql/macros.sql (a test holds the two equal).
  Amounts that are not whole cents (tax, a price per minute) round half away from zero.
- Durations are integer minutes; people read hours (exact `Decimal`, never float).
- A period is a calendar month, 'YYYY-MM'.

Locale-aware formats (currency symbols and marks by language) are in i18n.py; they take
their `Decimal` from here.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from math import floor

# --- money ------------------------------------------------------------------------------

def cents_text(cents: int | None) -> str:
    """Cents as exact decimal text, as every CSV, XML and run.json writes money: -1234 -> '-12.34';
    None (no amount) as '', the empty cell the SQL macro's NULL becomes."""
    if cents is None:
        return ""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def grouped_text(cents: int) -> str:
    """Cents with thousands grouped, for people reading a terminal: 123456 -> '1,234.56'."""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{frac:02d}"


def cents_to_decimal(cents: int | None) -> Decimal | None:
    """An amount with exactly two places: 1200 -> Decimal('12.00'); None stays None."""
    return None if cents is None else Decimal(int(cents)).scaleb(-2)


def cents_to_number(cents: int) -> Decimal:
    """An amount as a spreadsheet cell's number: exact, no trailing zeros past the point
    (1250 -> Decimal('12.5'), 1200 -> Decimal('12')). The prepaid log's cells hold these; the
    cell's number format shows two places."""
    return Decimal(cents) / 100


def round_half_up(value: Decimal | Fraction | int) -> int:
    """To a whole number, halves away from zero (2.5 -> 3, -2.5 -> -3): how money is rounded to
    cents (tax, priced minutes) and decimal minutes to seconds. (Billable minutes follow each
    customer's rounding_mode instead, in SQL.)"""
    if isinstance(value, Fraction):
        whole = floor(abs(value) + Fraction(1, 2))
        return whole if value >= 0 else -whole
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_cents(amount: Decimal | str | int) -> int:
    """An amount of money (Decimal, or decimal text such as '12.345') in whole cents, half up."""
    return round_half_up(Decimal(amount) * 100)


# --- durations ----------------------------------------------------------------------------

def minutes_to_hours(minutes: int) -> Decimal:
    """Minutes as hours (90 -> Decimal('1.5')); 28 significant digits where not exact."""
    return Decimal(minutes) / 60


def hours_text(minutes: int) -> str:
    """Minutes as a plain number of hours, no trailing zeros: 450 -> '7.5', 6000 -> '100'."""
    return format(minutes_to_hours(minutes).normalize(), "f")


# --- block units ------------------------------------------------------------------------

#: what a block's integer quantity counts, by kind
UNIT_OF_KIND = {"hours": "hours", "unlimited": "hours", "value": "money", "incidents": "incidents"}


def in_unit(kind: str, units: int | None) -> Decimal | int | None:
    """A block quantity as people read it: hours (hours, unlimited), money (value), counts."""
    if units is None:
        return None
    unit = UNIT_OF_KIND[kind]
    if unit == "hours":
        return minutes_to_hours(units)
    if unit == "money":
        return cents_to_number(units)
    return units


def unit_text(kind: str, units: int | None) -> str:
    """A block quantity as machine text, as the SQL macro `unit_text`: money as decimal text,
    minutes and counts as integers; None as ''."""
    if units is None:
        return ""
    return cents_text(units) if UNIT_OF_KIND[kind] == "money" else str(units)


# --- periods ----------------------------------------------------------------------------

def parse_period(text: str) -> str:
    """'YYYY-MM' checked (month 01 to 12); ValueError otherwise."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text or ""):
        raise ValueError(f"not a period (YYYY-MM): {text!r}")
    return text


def period_start(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def period_end(period: str) -> date:
    """The period's last day."""
    start = period_start(period)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1) - timedelta(days=1)


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_period(period: str) -> str:
    return period_of(period_start(period) - timedelta(days=1))


def next_period(period: str) -> str:
    return period_of(period_end(period) + timedelta(days=1))
