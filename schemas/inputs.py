"""pandera schemas of the validated input tables (SPEC §2), one per input file.

The schemas describe the *typed* rows after parsing (transforms/validate/validate.py turns strings into
these types). Checks that reject a row are named after the quarantine reason code they
produce; `reason_for_check` maps pandera's built-in check names to reason codes.
Units: money in integer cents, durations in integer seconds, dates as datetime64[s].

They are `DataFrameSchema` objects rather than `DataFrameModel` classes: building a model's
schema imports `dask.dataframe` (pandera looks up the index types of every installed
backend, and dask is installed for sharded runs): 0.3–0.9 s in every process that validates.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

import pandas as pd
import pandera.pandas as pa

ROUNDING_MODES = frozenset({"up", "nearest", "down"})
CADENCES = frozenset({"nightly", "monthly"})
BLOCK_KINDS = frozenset({"hours", "value", "unlimited", "incidents"})
MAX_ENTRY_SECONDS = 24 * 3600
LANGUAGES = frozenset({"en", "de", "fr", "nl"})
#: VAT categories (UNCL 5305 subset, SPEC §10): standard, zero, exempt, reverse charge, outside scope
TAX_CATEGORIES = frozenset({"S", "Z", "E", "AE", "O"})
#: optional billing details of a customer (documents and e-invoices), text or blank
BILLING_COLUMNS = ("street", "city", "postal_code", "country", "vat_id", "company_id", "email",
                   "endpoint", "buyer_reference", "tax_exemption_reason")

#: pandera built-in check name -> quarantine reason code
REASON_FOR_CHECK = {
    "greater_than_or_equal_to": "out_of_range",
    "less_than_or_equal_to": "out_of_range",
    "isin": "invalid_choice",
    "str_matches": "unparseable_value",
    "not_nullable": "missing_value",
    "field_uniqueness": "duplicate_id",
    "multiple_fields_uniqueness": "duplicate_id",
}

_UTC_SECONDS = pd.DatetimeTZDtype(unit="s", tz="UTC")


def reason_for_check(check: str) -> tuple[str, str | None]:
    """(reason code, column) of a failed check. Row-level checks are named `reason@column`."""
    name = check.split("(")[0]
    reason, _, column = name.partition("@")
    return REASON_FOR_CHECK.get(reason, reason), column or None


def _decimal_non_negative(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v is None or (isinstance(v, Decimal) and v >= 0))


def _schema(name: str, columns: dict[str, pa.Column], checks: Sequence[pa.Check] = (),
            unique: list[str] | None = None) -> pa.DataFrameSchema:
    """Every schema: the row's origin first, types coerced, other columns allowed."""
    origin = {"source_file": pa.Column(str), "line": pa.Column(int)}
    return pa.DataFrameSchema({**origin, **columns}, checks=list(checks), name=name,
                              coerce=True, strict=False, unique=unique)


CUSTOMER_SCHEMA = _schema("customers", {
    "customer_id": pa.Column(str, unique=True),
    "name": pa.Column(str),
    "aliases": pa.Column(object, nullable=True),
    "currency": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
    "rounding_increment_minutes": pa.Column(pd.Int64Dtype(), pa.Check.ge(1)),
    "rounding_mode": pa.Column(str, pa.Check.isin(ROUNDING_MODES)),
    "minimum_entry_minutes": pa.Column(pd.Int64Dtype(), pa.Check.ge(0)),
    "requires_authorization": pa.Column(pd.BooleanDtype()),
    "invoice_cadence": pa.Column(str, pa.Check.isin(CADENCES)),
    "tax_rate_percent": pa.Column(object, pa.Check(_decimal_non_negative, name="out_of_range")),
    **{column: pa.Column(object, nullable=True) for column in BILLING_COLUMNS},
    "language": pa.Column(str, pa.Check.isin(LANGUAGES)),
    "tax_category": pa.Column(str, pa.Check.isin(TAX_CATEGORIES)),
})

#: one version of a prepaid block; quantity_units: minutes (hours), cents (value), count
#: (incidents). A block_id is unique within a version of purchases.csv (file_id); later
#: versions of the file supersede it (SPEC §2).
BLOCK_SCHEMA = _schema("blocks", {
    "block_id": pa.Column(str),
    "customer_id": pa.Column(str),
    "kind": pa.Column(str, pa.Check.isin(BLOCK_KINDS)),
    "service": pa.Column(object, nullable=True),
    "quantity_units": pa.Column(pd.Int64Dtype(), pa.Check.ge(0), nullable=True),
    "amount_paid_cents": pa.Column(pd.Int64Dtype(), pa.Check.ge(0)),
    "purchased_on": pa.Column(pa.DateTime),
    "starts_on": pa.Column(pa.DateTime),
    "expires_on": pa.Column(pa.DateTime, nullable=True),
    "reorder_point_units": pa.Column(object, nullable=True),
    "auto_invoice": pa.Column(pd.BooleanDtype()),
    "invoice_number": pa.Column(object, nullable=True),
}, checks=[
    pa.Check(lambda df: df["expires_on"].isna() | (df["expires_on"] >= df["starts_on"]),
             name="expires_before_start@expires_on"),
    pa.Check(lambda df: (df["kind"] != "unlimited") | df["expires_on"].notna(),
             name="missing_value@expires_on"),
    pa.Check(lambda df: (df["kind"] == "unlimited") | df["quantity_units"].notna(),
             name="missing_value@quantity"),
], unique=["file_id", "block_id"])

RATE_SCHEMA = _schema("rates", {
    "customer_id": pa.Column(object, nullable=True),
    "service": pa.Column(object, nullable=True),
    "user": pa.Column(object, nullable=True),
    "hourly_rate_cents": pa.Column(pd.Int64Dtype(), pa.Check.ge(0)),
    "valid_from": pa.Column(pa.DateTime, nullable=True),
    "valid_to": pa.Column(pa.DateTime, nullable=True),
}, checks=[
    pa.Check(lambda df: df["valid_from"].isna() | df["valid_to"].isna() | (df["valid_to"] >= df["valid_from"]),
             name="expires_before_start@valid_to"),
])

ENTRY_SCHEMA = _schema("timelogs", {
    "entry_id": pa.Column(str),
    "customer_id": pa.Column(str),
    "user": pa.Column(str),
    "service": pa.Column(str),
    "started_at": pa.Column(_UTC_SECONDS),
    "duration_seconds": pa.Column(pd.Int64Dtype(), nullable=True),
    "billable": pa.Column(pd.BooleanDtype()),
    "incident_id": pa.Column(object, nullable=True),
    "authorized_at": pa.Column(_UTC_SECONDS, nullable=True),
    "billed_elsewhere": pa.Column(pd.BooleanDtype()),
}, checks=[
    pa.Check(lambda df: df["duration_seconds"].isna() | (df["duration_seconds"] >= 0),
             name="negative_duration@ended_at"),
    pa.Check(lambda df: df["duration_seconds"].isna() | (df["duration_seconds"] <= MAX_ENTRY_SECONDS),
             name="implausible_duration@ended_at"),
])

AUTHORIZATION_SCHEMA = _schema("authorizations", {
    "entry_id": pa.Column(str),
    "authorized_at": pa.Column(_UTC_SECONDS),
    "authorized_by": pa.Column(object, nullable=True),
})
