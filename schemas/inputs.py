"""pandera models of the validated input tables (SPEC §2), one per input file.

The models describe the *typed* rows after parsing (transforms/validate.py turns strings into
these types). Checks that reject a row are named after the quarantine reason code they
produce; `reason_for_check` maps pandera's built-in check names to reason codes.
Units: money in integer cents, durations in integer seconds, dates as datetime64[s].
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

ROUNDING_MODES = frozenset({"up", "nearest", "down"})
CADENCES = frozenset({"nightly", "monthly"})
BLOCK_KINDS = frozenset({"hours", "value", "unlimited", "incidents"})
MAX_ENTRY_SECONDS = 24 * 3600

#: pandera built-in check name -> quarantine reason code
REASON_FOR_CHECK = {
    "greater_than_or_equal_to": "out_of_range",
    "less_than_or_equal_to": "out_of_range",
    "isin": "invalid_choice",
    "str_matches": "unparseable_value",
    "not_nullable": "missing_value",
    "field_uniqueness": "duplicate_id",
}


def reason_for_check(check: str) -> tuple[str, str | None]:
    """(reason code, column) of a failed check. Row-level checks are named `reason@column`."""
    name = check.split("(")[0]
    reason, _, column = name.partition("@")
    return REASON_FOR_CHECK.get(reason, reason), column or None


def _decimal_non_negative(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v is None or (isinstance(v, Decimal) and v >= 0))


class _Model(pa.DataFrameModel):
    source_file: Series[str]
    line: Series[int]

    class Config:
        strict = False
        coerce = True


class CustomerModel(_Model):
    customer_id: Series[str] = pa.Field(unique=True)
    name: Series[str]
    aliases: Series[object] = pa.Field(nullable=True)
    currency: Series[str] = pa.Field(str_matches=r"^[A-Z]{3}$")
    rounding_increment_minutes: Series[pd.Int64Dtype] = pa.Field(ge=1)
    rounding_mode: Series[str] = pa.Field(isin=ROUNDING_MODES)
    minimum_entry_minutes: Series[pd.Int64Dtype] = pa.Field(ge=0)
    requires_authorization: Series[pd.BooleanDtype]
    invoice_cadence: Series[str] = pa.Field(isin=CADENCES)
    tax_rate_percent: Series[object]

    @pa.check("tax_rate_percent", name="out_of_range")
    def _tax_non_negative(cls, s: Series[object]) -> Series[bool]:
        return _decimal_non_negative(s)


class BlockModel(_Model):
    """One prepaid block. quantity_units: minutes (hours), cents (value), count (incidents)."""

    block_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]
    kind: Series[str] = pa.Field(isin=BLOCK_KINDS)
    service: Series[object] = pa.Field(nullable=True)
    quantity_units: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    amount_paid_cents: Series[pd.Int64Dtype] = pa.Field(ge=0)
    purchased_on: Series[pa.DateTime]
    starts_on: Series[pa.DateTime]
    expires_on: Series[pa.DateTime] = pa.Field(nullable=True)
    reorder_point_units: Series[object] = pa.Field(nullable=True)
    auto_invoice: Series[pd.BooleanDtype]
    invoice_number: Series[object] = pa.Field(nullable=True)

    @pa.dataframe_check(name="expires_before_start@expires_on")
    def _expiry_after_start(cls, df: pd.DataFrame) -> Series[bool]:
        return df["expires_on"].isna() | (df["expires_on"] >= df["starts_on"])

    @pa.dataframe_check(name="missing_value@expires_on")
    def _unlimited_expires(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["kind"] != "unlimited") | df["expires_on"].notna()

    @pa.dataframe_check(name="missing_value@quantity")
    def _quantity_given(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["kind"] == "unlimited") | df["quantity_units"].notna()


class RateModel(_Model):
    customer_id: Series[object] = pa.Field(nullable=True)
    service: Series[object] = pa.Field(nullable=True)
    user: Series[object] = pa.Field(nullable=True)
    hourly_rate_cents: Series[pd.Int64Dtype] = pa.Field(ge=0)
    valid_from: Series[pa.DateTime] = pa.Field(nullable=True)
    valid_to: Series[pa.DateTime] = pa.Field(nullable=True)

    @pa.dataframe_check(name="expires_before_start@valid_to")
    def _valid_to_after_valid_from(cls, df: pd.DataFrame) -> Series[bool]:
        return df["valid_from"].isna() | df["valid_to"].isna() | (df["valid_to"] >= df["valid_from"])


class EntryModel(_Model):
    entry_id: Series[str]
    customer_id: Series[str]
    user: Series[str]
    service: Series[str]
    started_at: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs={"unit": "s", "tz": "UTC"})
    duration_seconds: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    billable: Series[pd.BooleanDtype]
    incident_id: Series[object] = pa.Field(nullable=True)
    authorized_at: Series[pd.DatetimeTZDtype] = pa.Field(
        nullable=True, dtype_kwargs={"unit": "s", "tz": "UTC"}
    )
    billed_elsewhere: Series[pd.BooleanDtype]

    @pa.dataframe_check(name="negative_duration@ended_at")
    def _duration_non_negative(cls, df: pd.DataFrame) -> Series[bool]:
        return df["duration_seconds"].isna() | (df["duration_seconds"] >= 0)

    @pa.dataframe_check(name="implausible_duration@ended_at")
    def _duration_at_most_a_day(cls, df: pd.DataFrame) -> Series[bool]:
        return df["duration_seconds"].isna() | (df["duration_seconds"] <= MAX_ENTRY_SECONDS)


class AuthorizationModel(_Model):
    entry_id: Series[str]
    authorized_at: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs={"unit": "s", "tz": "UTC"})
    authorized_by: Series[object] = pa.Field(nullable=True)
