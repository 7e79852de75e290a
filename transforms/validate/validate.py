"""Validation of raw input rows into typed tables plus quarantine rows (SPEC §2, §8).

Input: raw frames of trimmed strings, one per file kind, with `file_id`, `source_file` and
`line`. Output: typed frames that satisfy the pandera schemas in `schemas.inputs`, and one
quarantine frame. Every raw row ends up either in a typed frame or in quarantine (or, for
time entries, as an identical re-export / superseded version of an entry that is kept).
"""

from __future__ import annotations

import difflib
from decimal import Decimal
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd
import pandera.errors
import pandera.pandas

from schemas.inputs import (
    BILLING_COLUMNS,
    BLOCK_KINDS,
    LANGUAGES,
    TAX_CATEGORIES,
    CADENCES,
    MAX_ENTRY_SECONDS,
    ROUNDING_MODES,
    AUTHORIZATION_SCHEMA,
    BLOCK_SCHEMA,
    CUSTOMER_SCHEMA,
    ENTRY_SCHEMA,
    RATE_SCHEMA,
    reason_for_check,
)
from transforms.validate import parse

if TYPE_CHECKING:
    from transforms.validate.kept import Entries

QUARANTINE_COLUMNS = ["source_file", "line", "column", "value", "reason_code", "detail"]

#: canonical columns of each file kind, and which of them a file must have
COLUMNS = {
    "customers": ["customer_id", "name", "aliases", "currency", "rounding_increment_minutes",
                  "rounding_mode", "minimum_entry_minutes", "requires_authorization",
                  "invoice_cadence", "tax_rate_percent",
                  # billing details of documents and e-invoices (SPEC §10), all optional
                  "street", "city", "postal_code", "country", "vat_id", "company_id", "email",
                  "endpoint", "buyer_reference", "language", "tax_category", "tax_exemption_reason"],
    "purchases": ["block_id", "customer_id", "kind", "service", "quantity", "amount_paid",
                  "purchased_on", "starts_on", "expires_on", "reorder_point", "auto_invoice",
                  "invoice_number", "remarks", "currency"],
    "rates": ["customer_id", "service", "user", "hourly_rate", "valid_from", "valid_to", "currency"],
    "timelogs": ["entry_id", "customer_id", "user", "service", "started_at", "ended_at",
                 "duration_minutes", "billable", "incident_id", "authorized_at", "project",
                 "task", "description", "billed_elsewhere", "currency"],
    "authorizations": ["entry_id", "authorized_at", "authorized_by"],
}
REQUIRED_COLUMNS = {
    "customers": ["customer_id", "name", "currency"],
    "purchases": ["block_id", "customer_id", "kind", "amount_paid", "purchased_on"],
    "rates": ["hourly_rate"],
    "timelogs": ["entry_id", "customer_id", "user", "service", "started_at"],
    "authorizations": ["entry_id", "authorized_at"],
}
#: a time log needs at least one of these columns
DURATION_COLUMNS = ("ended_at", "duration_minutes")
DURATION_TOLERANCE_SECONDS = 60
#: columns of a time entry compared to tell a changed export from an identical one
ENTRY_CONTENT_COLUMNS = [c for c in COLUMNS["timelogs"] if c != "entry_id"]
#: columns of a block compared to tell a changed purchase from an identical one
BLOCK_CONTENT_COLUMNS = [c for c in COLUMNS["purchases"] if c != "block_id"]
SUPERSESSION_COLUMNS = ["kind", "id", "source_file", "line", "superseded_by_file", "superseded_by_line",
                        "changed_columns"]


def missing_columns(kind: str, header: list[str]) -> list[str]:
    """Required columns of `kind` absent from a file header (the file is rejected whole)."""
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in header]
    if kind == "timelogs" and not any(c in header for c in DURATION_COLUMNS):
        missing.append("ended_at|duration_minutes")
    return missing


@dataclass
class Issues:
    """Quarantine rows collected while validating one file kind."""

    frames: list[pd.DataFrame] = field(default_factory=list)

    def add(self, raw: pd.DataFrame, mask: pd.Series, column: str, reason: str,
            detail: str | Callable[[pd.Series], pd.Series]) -> None:
        if not mask.any():
            return
        rows = raw.loc[mask]
        values = rows[column].fillna("").astype("str") if column in rows else pd.Series("", index=rows.index)
        details = detail(rows) if callable(detail) else detail
        self.frames.append(pd.DataFrame({
            "source_file": rows["source_file"], "line": rows["line"], "column": column,
            "value": values, "reason_code": reason, "detail": details,
        }))

    def rows(self) -> pd.Series:
        """Index labels of rows with at least one issue."""
        if not self.frames:
            return pd.Index([])
        return pd.concat(self.frames).index.unique()

    def frame(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame(columns=QUARANTINE_COLUMNS)
        return pd.concat(self.frames)[QUARANTINE_COLUMNS]


@dataclass(frozen=True)
class Validated:
    customers: pd.DataFrame
    blocks: pd.DataFrame
    rates: pd.DataFrame
    #: None when the entries stay in the warehouse (temp table `valid_entries`)
    entries: pd.DataFrame | None
    supersessions: pd.DataFrame
    quarantine: pd.DataFrame
    entry_count: int
    #: entries per named service
    entry_services: pd.Series


def validate(raw: dict[str, pd.DataFrame], tz: str, timelogs: Entries | None = None) -> Validated:
    """Typed, valid tables and quarantine rows from all current raw rows. The time entries are
    decided in SQL over typed rows kept in a warehouse (`timelogs`, transforms/validate/kept.py: the
    entries stay there as temp table `valid_entries`) or, without one, over `raw`'s time-log
    rows typed in an in-memory DuckDB (the entries are then returned as a frame)."""
    from transforms.validate import kept

    issues: list[pd.DataFrame] = []
    customers, q = validate_customers(raw["customers"])
    issues.append(q)
    blocks, block_supersessions, q = validate_purchases(raw["purchases"], customers)
    issues.append(q)
    rates, q = validate_rates(raw["rates"], customers)
    issues.append(q)
    entries = timelogs if timelogs is not None else kept.in_memory(raw["timelogs"], tz)
    supersessions, q = entries.finish(customers)
    issues.append(q)
    authorizations, q = validate_authorizations(raw["authorizations"], entries.known, tz)
    issues.append(q)
    entries.authorize(authorizations)
    quarantine = pd.concat([f for f in issues if len(f)] or [pd.DataFrame(columns=QUARANTINE_COLUMNS)])
    quarantine = quarantine.sort_values(["source_file", "line", "column", "reason_code"], kind="stable")
    supersessions = pd.concat([block_supersessions, supersessions], ignore_index=True)
    return Validated(customers, blocks, rates, None if timelogs is not None else entries.frame(), supersessions,
                     quarantine.reset_index(drop=True), entries.count(), entries.services())


# --- shared steps -------------------------------------------------------------------------

#: what a cell of these parsers should look like, named in the detail of a cell they cannot read
EXPECTED = {
    parse.parse_date: "a date as YYYY-MM-DD",
    parse.parse_timestamp: "a date and time as YYYY-MM-DDTHH:MM, seconds and a UTC offset optional",
}


def _parse_columns(raw: pd.DataFrame, specs: dict, issues: Issues) -> pd.DataFrame:
    """Parse each column by its spec (parser, required, default); report blanks and bad cells."""
    typed = raw[["file_id", "source_file", "line"]].copy()
    for column, (parser, required, default) in specs.items():
        cells = raw[column]
        present = parse.given(cells)
        if required:
            issues.add(raw, ~present, column, "missing_value", f"{column} is required")
        # free text reuses the mask of given cells just made
        values, bad = _text(cells, present) if parser is _text else parser(cells)
        negative = parse.is_negative_number(cells, among=bad)
        issues.add(raw, negative, column, "negative_value", f"{column} must not be negative")
        expected = EXPECTED.get(parser.func if isinstance(parser, partial) else parser)
        expected = f" (expected {expected})" if expected else ""
        issues.add(raw, bad & ~negative, column, "unparseable_value",
                   lambda rows, c=column, e=expected: f"{c} '" + rows[c].astype("str") + "' cannot be read" + e)
        if isinstance(values.dtype, pd.DatetimeTZDtype) or values.dtype.kind == "M":
            far = parse.outside_supported_years(values)
            first, last = parse.SUPPORTED_YEARS
            issues.add(raw, far, column, "out_of_range", f"{column} must lie in the years {first}–{last}")
            values = values.where(~far, pd.NaT)
        if default is not None:
            values = values.where(present, default)
        typed[column] = values
    return typed


def _run_schema(schema: pandera.pandas.DataFrameSchema, typed: pd.DataFrame, raw: pd.DataFrame,
                issues: Issues) -> None:
    """Validate with a pandera schema (lazy) and turn failure cases into quarantine rows."""
    cases = _failure_cases(schema, typed)
    if cases is None:
        return
    row_level = cases["schema_context"] == "DataFrameSchema"
    cases.loc[row_level, "column"] = None
    cases = cases.drop_duplicates(subset=["index", "check", "column"])
    for (column, check), group in cases.groupby(["column", "check"], dropna=False):
        reason, check_column = reason_for_check(str(check))
        col = check_column or (column if isinstance(column, str) else "")
        mask = pd.Series(raw.index.isin(group["index"].astype("int64")), index=raw.index)
        issues.add(raw, mask, col, reason, f"{col or 'row'}: {reason.replace('_', ' ')}")


def schema_rejects(schema: pandera.pandas.DataFrameSchema, typed: pd.DataFrame) -> np.ndarray:
    """Positions of the rows of `typed` that fail `schema` (lazy)."""
    cases = _failure_cases(schema, typed)
    if cases is None:
        return np.zeros(0, dtype="int64")
    return np.flatnonzero(typed.index.isin(cases["index"].astype("int64")))


def _failure_cases(schema: pandera.pandas.DataFrameSchema, typed: pd.DataFrame) -> pd.DataFrame | None:
    """pandera's failure cases of the rows of `typed` (lazy), None when all pass; a failure of
    a column or dtype (of our own making) is a bug, not data, and raises."""
    if typed.empty:
        return None
    try:
        schema.validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        schema_level = cases[cases["index"].isna()]
        if len(schema_level):
            raise RuntimeError(f"{schema.name}: {schema_level.to_dict('records')}") from exc
        return cases
    return None


def _first_of_duplicates(raw: pd.DataFrame, key: str, within: list[str], issues: Issues,
                         candidates: pd.Series) -> None:
    """Quarantine repeats of `key` (among candidate rows) after the first, as duplicate_id."""
    subset = raw.loc[candidates & parse.given(raw[key])]
    dup = subset.duplicated(subset=within + [key], keep="first")
    mask = pd.Series(False, index=raw.index)
    mask[dup[dup].index] = True
    issues.add(raw, mask, key, "duplicate_id", f"{key} already used by an earlier row")


def _text(cells: pd.Series, present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The parser of free-text columns: blank is not given, nothing is ever unparseable.
    Unlike the other parsers it takes the column's mask of given cells, already made."""
    return cells.where(present, pd.NA), pd.Series(False, index=cells.index)


def _ok(raw: pd.DataFrame, issues: Issues) -> pd.Series:
    return ~raw.index.isin(issues.rows())


# --- customers ----------------------------------------------------------------------------

def validate_customers(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    issues = Issues()
    specs = {
        "customer_id": (_text, True, None),
        "name": (_text, True, None),
        "aliases": (_text, False, None),
        "currency": (_text, True, None),
        "rounding_increment_minutes": (parse.parse_int, False, 1),
        "rounding_mode": (lambda s: parse.parse_choice(s, ROUNDING_MODES), False, "nearest"),
        "minimum_entry_minutes": (parse.parse_int, False, 0),
        "requires_authorization": (parse.parse_bool, False, True),
        "invoice_cadence": (lambda s: parse.parse_choice(s, CADENCES), False, "monthly"),
        "tax_rate_percent": (parse.parse_decimal, False, parse.to_decimal("0")),
        **{column: (_text, False, None) for column in BILLING_TEXT},
        "country": (lambda s: _pattern(s, COUNTRY_CODE, upper=True), False, None),
        "vat_id": (lambda s: _pattern(s, VAT_ID, compact=True), False, None),
        "email": (lambda s: _pattern(s, EMAIL), False, None),
        "endpoint": (lambda s: _pattern(s, ENDPOINT), False, None),
        "language": (lambda s: parse.parse_choice(s, LANGUAGES), False, "en"),
        "tax_category": (lambda s: _upper_choice(s, TAX_CATEGORIES), False, None),
    }
    typed = _parse_columns(_with_columns(raw, COLUMNS["customers"]), specs, issues)
    _first_of_duplicates(raw, "customer_id", [], issues, pd.Series(True, index=raw.index))
    _check_tax_categories(raw, typed, issues)
    ok = _ok(raw, issues)
    typed = _coerce_customers(typed[ok])
    _run_schema(CUSTOMER_SCHEMA, typed, raw, issues)
    typed = typed[_ok(raw, issues)[typed.index]]
    return typed.drop(columns=["file_id"]).reset_index(drop=True), issues.frame()


#: free-text billing columns (checked only for presence)
BILLING_TEXT = ("street", "city", "postal_code", "company_id", "buyer_reference", "tax_exemption_reason")
COUNTRY_CODE = r"[A-Z]{2}"
VAT_ID = r"[A-Z]{2}[0-9A-Z+*.]{2,14}"
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
#: Peppol participant id SCHEME:ID (ISO 6523 ICD / EAS code of 4 digits)
ENDPOINT = r"[0-9]{4}:[^\s:]{1,50}"


def _with_columns(raw: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Raw rows with every canonical column (a file without the optional ones has none)."""
    missing = [c for c in columns if c not in raw]
    return raw.assign(**{c: pd.Series(None, index=raw.index, dtype=object) for c in missing}) if missing else raw


def _pattern(cells: pd.Series, pattern: str, upper: bool = False, compact: bool = False) -> tuple[pd.Series, pd.Series]:
    """Text that must match `pattern` (after upper-casing / removing spaces, dots, dashes)."""
    present = parse.given(cells)
    text = cells.where(present, "").astype("str")
    if compact:
        text = text.str.replace(r"[\s.\-]", "", regex=True).str.upper()
    elif upper:
        text = text.str.upper()
    ok = text.str.fullmatch(pattern) & present
    return text.where(ok, pd.NA).astype(object), present & ~ok


def _upper_choice(cells: pd.Series, choices: frozenset[str]) -> tuple[pd.Series, pd.Series]:
    present = parse.given(cells)
    text = cells.where(present, "").astype("str").str.upper()
    ok = text.isin(choices)
    return text.where(ok, pd.NA).astype(object), present & ~ok


def _check_tax_categories(raw: pd.DataFrame, typed: pd.DataFrame, issues: Issues) -> None:
    """SPEC §10: the VAT category agrees with the rate, and what a category needs is given.
    A blank category is S when the rate is above 0, else Z."""
    rate = typed["tax_rate_percent"]
    readable = rate.map(lambda v: isinstance(v, Decimal))
    positive = rate.map(lambda v: isinstance(v, Decimal) and v > 0)
    category = typed["tax_category"].where(typed["tax_category"].notna(), None)
    given = category.notna()
    typed["tax_category"] = category.where(given, positive.map({True: "S", False: "Z"}))
    cat = typed["tax_category"]
    issues.add(raw, given & readable & (cat == "S") & ~positive, "tax_category", "inconsistent_value",
               "tax_category S (standard rate) needs tax_rate_percent above 0")
    issues.add(raw, given & readable & cat.isin(["Z", "E", "AE", "O"]) & positive, "tax_category",
               "inconsistent_value", lambda rows: "tax_category " + cat[rows.index].astype(str)
               + " needs tax_rate_percent 0")
    issues.add(raw, (cat == "E") & typed["tax_exemption_reason"].isna(), "tax_exemption_reason",
               "missing_value", "tax_category E (exempt) needs tax_exemption_reason")
    no_vat_id = typed["vat_id"].isna() & ~parse.given(raw["vat_id"])
    issues.add(raw, (cat == "AE") & no_vat_id, "vat_id", "missing_value",
               "tax_category AE (reverse charge) needs the customer's vat_id")


def _coerce_customers(typed: pd.DataFrame) -> pd.DataFrame:
    typed = typed.astype({"customer_id": "str", "name": "str", "currency": "str",
                          "rounding_mode": "str", "invoice_cadence": "str",
                          "rounding_increment_minutes": "Int64", "minimum_entry_minutes": "Int64",
                          "requires_authorization": "boolean", "language": "str", "tax_category": "str"})
    typed["aliases"] = typed["aliases"].astype("object")
    for column in BILLING_COLUMNS:
        typed[column] = typed[column].astype("object")
    typed["buyer_reference"] = typed["buyer_reference"].where(typed["buyer_reference"].notna(),
                                                              typed["customer_id"])
    return typed


class CustomerIndex:
    """Resolves a customer reference: exact id, or a name/alias case-insensitively."""

    def __init__(self, customers: pd.DataFrame):
        self.ids = set(customers["customer_id"])
        self.by_name: dict[str, set[str]] = {}
        self.names: list[str] = []
        for cid, name, aliases in customers[["customer_id", "name", "aliases"]].itertuples(index=False):
            labels = [name] + ([a.strip() for a in aliases.split("|") if a.strip()]
                               if isinstance(aliases, str) else [])
            for label in labels:
                self.by_name.setdefault(label.casefold(), set()).add(cid)
                self.names.append(label)

    def resolve(self, reference: str) -> set[str]:
        found = set(self.by_name.get(reference.casefold(), set()))
        if reference in self.ids:
            found.add(reference)
        return found

    @cached_property
    def labels(self) -> list[str]:
        """Every id, name and alias, sorted: the candidates of `suggest` (made once)."""
        return sorted(set(self.names) | self.ids)

    def suggest(self, reference: str) -> str:
        close = difflib.get_close_matches(reference, self.labels, n=3, cutoff=0.6)
        return f"no customer '{reference}'" + (f"; did you mean {', '.join(close)}?" if close else "")


def resolve_references(references: list[str], customers: pd.DataFrame, by_name: bool) -> pd.DataFrame:
    """What each distinct customer reference names: one row per reference with the customer it
    resolves to, or the reason it does not (unknown, with the closest names; ambiguous)."""
    index = CustomerIndex(customers)
    rows = []
    for reference in references:
        found = index.resolve(reference) if by_name else ({reference} & index.ids)
        if len(found) == 1:
            rows.append((reference, next(iter(found)), None, None))
        elif not found:
            # one suggestion per distinct reference: a fuzzy match costs milliseconds, and an
            # unknown customer is usually unknown on many rows
            rows.append(_unresolved(reference, "unknown_customer", index.suggest(reference)))
        else:
            rows.append(_unresolved(reference, "ambiguous_customer",
                                    f"'{reference}' matches customers {', '.join(sorted(found))}"))
    return pd.DataFrame(rows, columns=["reference", "customer_id", "reason_code", "detail"], dtype=object)


def _unresolved(reference: str, reason: str, detail: str) -> tuple:
    """A reference's row of `resolve_references` when it names no single customer: the reason
    its rows are quarantined for."""
    return reference, None, reason, detail


def _resolve_customers(raw: pd.DataFrame, customers: pd.DataFrame, issues: Issues,
                       by_name: bool) -> pd.Series:
    """Customer id per row (NA where unknown/ambiguous, which is reported)."""
    refs = raw["customer_id"].where(parse.given(raw["customer_id"]), pd.NA)
    found = resolve_references(list(refs.dropna().unique()), customers, by_name).set_index("reference")
    resolved = refs.map(found["customer_id"].dropna()).astype("object").where(lambda s: s.notna(), pd.NA)
    for reason in ("unknown_customer", "ambiguous_customer"):
        detail = found.loc[found["reason_code"] == reason, "detail"]
        issues.add(raw, refs.isin(detail.index).astype(bool), "customer_id", reason,
                   lambda rows, d=detail: rows["customer_id"].map(d))
    return resolved


def _currency_check(raw: pd.DataFrame, customer_ids: pd.Series, customers: pd.DataFrame,
                    issues: Issues) -> None:
    currency_of = dict(zip(customers["customer_id"], customers["currency"]))
    stated = raw["currency"].where(parse.given(raw["currency"]), pd.NA)
    expected = customer_ids.map(currency_of)
    mismatch = (stated.notna() & expected.notna() & (stated.str.upper() != expected)).astype(bool)
    issues.add(raw, mismatch, "currency", "currency_mismatch",
               lambda rows: "customer's currency is " + expected[rows.index].astype("str"))


# --- purchases ----------------------------------------------------------------------------

def validate_purchases(raw: pd.DataFrame, customers: pd.DataFrame
                       ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Blocks in force (latest valid version of each block_id), supersessions and quarantine rows
    (of the latest version of purchases.csv: earlier versions were reported when current)."""
    issues = Issues()
    kind, bad_kind = parse.parse_choice(raw["kind"], BLOCK_KINDS)
    specs = {
        "block_id": (_text, True, None),
        "customer_id": (_text, True, None),
        "kind": (lambda s: (kind, bad_kind), True, None),
        "service": (_text, False, None),
        "amount_paid": (parse.parse_money_cents, True, None),
        "purchased_on": (parse.parse_date, True, None),
        "starts_on": (parse.parse_date, False, None),
        "expires_on": (parse.parse_date, False, None),
        "auto_invoice": (parse.parse_bool, False, False),
        "invoice_number": (_text, False, None),
    }
    typed = _parse_columns(raw, specs, issues).rename(columns={"amount_paid": "amount_paid_cents"})
    typed["starts_on"] = typed["starts_on"].fillna(typed["purchased_on"])
    typed["quantity_units"] = _units(raw, raw["quantity"], kind, issues, "quantity", strict_minutes=True)
    typed["reorder_point_units"] = _reorder_units(raw, kind, issues)
    typed["customer_id"] = _resolve_customers(raw, customers, issues, by_name=False)
    _currency_check(raw, typed["customer_id"], customers, issues)
    _first_of_duplicates(raw, "block_id", ["file_id"], issues, pd.Series(True, index=raw.index))
    ok = _ok(raw, issues)
    typed = _coerce_blocks(typed[ok])
    _run_schema(BLOCK_SCHEMA, typed, raw, issues)
    typed = typed[_ok(raw, issues)[typed.index]]
    # every version of purchases.csv is history (SPEC §2): each block's latest valid version in
    # history order is in force, unless it moves the block, which quarantines it
    current = raw["file_id"] == raw["file_id"].max() if len(raw) else pd.Series(False, index=raw.index)
    moved, earlier = _moved_blocks(typed)
    for column in ("customer_id", "kind"):
        mask = pd.Series(raw.index.isin(moved[moved[column]].index), index=raw.index) & current
        issues.add(raw, mask, column, "conflicting_values",
                   lambda rows, c=column: f"block '" + rows["block_id"].astype("str") + f"' has {c} '"
                   + typed.loc[rows.index, c].astype("str") + "' since " + earlier[rows.index]
                   + "; a block cannot move to another customer or kind (the earlier version stays)")
    typed = typed.drop(index=moved.index)
    blocks, supersessions = _latest_versions(raw.loc[typed.index], typed, "block_id", BLOCK_CONTENT_COLUMNS,
                                             "block")
    quarantine = issues.frame()
    return (blocks.sort_values("block_id").reset_index(drop=True), supersessions,
            quarantine[quarantine.index.isin(raw.index[current])])


def _moved_blocks(typed: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Valid block versions whose customer or kind differs from the block's first valid version
    (flags per column), and where that first version is (file and line)."""
    first = typed.groupby("block_id", sort=False)[["customer_id", "kind", "source_file", "line"]].transform("first")
    flags = pd.DataFrame({"customer_id": typed["customer_id"] != first["customer_id"],
                          "kind": typed["kind"] != first["kind"]}, index=typed.index)
    moved = flags[flags["customer_id"] | flags["kind"]]
    where = first["source_file"].astype("str") + " line " + first["line"].astype("str") + " (an earlier version)"
    return moved, where


def _units(raw, cells, kind, issues, column, strict_minutes) -> pd.Series:
    """Quantity in the block's unit: minutes (hours), cents (value), count (incidents)."""
    units = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    present = parse.given(cells)
    negative = present & parse.is_negative_number(cells)
    issues.add(raw, negative, column, "negative_value", f"{column} must not be negative")
    hours, bad_h = parse.parse_decimal(cells)
    money, bad_v = parse.parse_money_cents(cells)
    count, bad_i = parse.parse_int(cells)
    is_h, is_v, is_i = kind == "hours", kind == "value", kind == "incidents"
    bad = (is_h & bad_h) | (is_v & bad_v) | (is_i & bad_i)
    issues.add(raw, bad & ~negative, column, "unparseable_value",
               lambda rows: rows["kind"].astype("str") + f" {column} '" + rows[column].astype("str") + "' cannot be read")
    minutes = hours.map(lambda h: h * 60 if h == h and h is not None else None)
    whole = minutes.map(lambda m: m is not None and m == m.to_integral_value())
    fractional = is_h & present & ~bad_h & ~whole
    if strict_minutes:
        issues.add(raw, fractional.astype(bool), column, "fractional_minutes",
                   f"{column} in hours must be whole minutes (× 60)")
    ok_h = (is_h & present & ~bad_h & whole).astype(bool)
    units[ok_h] = minutes[ok_h].map(int).astype("int64")
    ok_v = (is_v & present & ~bad_v).astype(bool)
    units[ok_v] = money[ok_v]
    ok_i = (is_i & present & ~bad_i).astype(bool)
    units[ok_i] = count[ok_i]
    unlimited_given = (kind == "unlimited") & present
    issues.add(raw, unlimited_given.astype(bool), column, "unexpected_value",
               f"unlimited blocks have no {column}")
    return units


def _reorder_units(raw, kind, issues) -> pd.Series:
    """Reorder point as a Decimal in the block's unit (hours are converted to minutes)."""
    cells = raw["reorder_point"]
    present = parse.given(cells)
    values, bad = parse.parse_decimal(cells)
    negative = present & parse.is_negative_number(cells)
    issues.add(raw, negative, "reorder_point", "negative_value", "reorder_point must not be negative")
    issues.add(raw, bad & ~negative, "reorder_point", "unparseable_value", "reorder_point cannot be read")
    money, bad_money = parse.parse_money_cents(cells)
    issues.add(raw, ((kind == "value") & present & bad_money & ~bad).astype(bool), "reorder_point",
               "unparseable_value", "money has at most 2 decimals")
    issues.add(raw, ((kind == "unlimited") & present).astype(bool), "reorder_point",
               "unexpected_value", "unlimited blocks have no reorder point")
    out = pd.Series(None, index=raw.index, dtype="object")
    ok = (present & ~bad).astype(bool)
    scale = {"hours": 60, "value": 100}
    out[ok] = [v * scale[k] if k in scale else v for v, k in zip(values[ok], kind[ok])]
    return out


def _coerce_blocks(typed: pd.DataFrame) -> pd.DataFrame:
    typed = typed.astype({"block_id": "str", "customer_id": "str", "kind": "str",
                          "amount_paid_cents": "Int64", "quantity_units": "Int64",
                          "auto_invoice": "boolean"}) if "amount_paid_cents" in typed else typed
    return typed


# --- rates --------------------------------------------------------------------------------

def validate_rates(raw: pd.DataFrame, customers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    issues = Issues()
    specs = {
        "service": (_text, False, None),
        "user": (_text, False, None),
        "hourly_rate": (parse.parse_money_cents, True, None),
        "valid_from": (parse.parse_date, False, None),
        "valid_to": (parse.parse_date, False, None),
    }
    typed = _parse_columns(raw, specs, issues)
    typed = typed.rename(columns={"hourly_rate": "hourly_rate_cents"})
    given_customer = parse.given(raw["customer_id"])
    resolved = _resolve_customers(raw.loc[given_customer], customers, issues, by_name=False)
    typed["customer_id"] = resolved.reindex(raw.index)
    _currency_check(raw, typed["customer_id"], customers, issues)
    _run_schema(RATE_SCHEMA, typed[_ok(raw, issues)], raw, issues)
    ok = _ok(raw, issues)
    key = typed[["customer_id", "service", "user", "valid_from"]].astype("str")
    tied = key[ok].duplicated(keep=False)
    mask = pd.Series(False, index=raw.index)
    mask[tied[tied].index] = True
    issues.add(raw, mask, "valid_from", "ambiguous_rate",
               "another rate has the same customer, service, user and valid_from")
    typed = typed[_ok(raw, issues)].astype({"hourly_rate_cents": "int64"})
    return typed.drop(columns=["file_id"]), issues.frame()


# --- time logs ----------------------------------------------------------------------------

def timelog_specs(tz: str) -> dict:
    ts = partial(parse.parse_timestamp, tz=tz)
    return {
        "entry_id": (_text, True, None),
        "user": (_text, True, None),
        "service": (_text, True, None),
        "started_at": (ts, True, None),
        "ended_at": (ts, False, None),
        "billable": (parse.parse_bool, False, True),
        "incident_id": (_text, False, None),
        "authorized_at": (ts, False, None),
        "project": (_text, False, None),
        "task": (_text, False, None),
        "description": (_text, False, None),
        "billed_elsewhere": (parse.parse_bool, False, False),
    }


#: the columns of `type_timelogs`' rows, in order
TYPED_TIMELOG_COLUMNS = (["file_id", "source_file", "line", *timelog_specs("UTC"), "duration_seconds", "local_ok",
                          "customer_id", "currency"])


def type_timelogs(raw: pd.DataFrame, tz: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What each time-log row says on its own: a function of its file version and the time zone,
    which a run keeps per file version (transforms/validate/kept.py) so that a night types new files only.

    Returns the rows (origin, the raw customer reference and currency, the typed columns and
    `local_ok`), the rows' own issues, and the schema's issues, each with the file_id of its row:
    the schema only judges rows that pass every other check, so `kept.Entries.finish` drops these
    for a row whose customer turns out unknown.
    """
    issues = Issues()
    typed = _parse_columns(raw, timelog_specs(tz), issues)
    typed["duration_seconds"] = _duration_seconds(raw, typed, issues)
    _first_of_duplicates(raw, "entry_id", ["file_id"], issues, pd.Series(True, index=raw.index))
    ok = _ok(raw, issues)
    # a blank reference is the one customer_id the schema rejects (unknown ones never reach it)
    reference = raw["customer_id"].where(parse.given(raw["customer_id"]), pd.NA)
    schema_input = typed[ok].assign(customer_id=reference[ok]).astype(
        {"entry_id": "str", "customer_id": "str", "user": "str", "service": "str", "billable": "boolean",
         "billed_elsewhere": "boolean"})
    schema = Issues()
    _run_schema(ENTRY_SCHEMA, schema_input, raw, schema)
    typed["local_ok"] = ok & _ok(raw, schema)
    typed["customer_id"] = raw["customer_id"]
    typed["currency"] = raw["currency"]
    return typed, _with_file_id(issues.frame(), raw), _with_file_id(schema.frame(), raw)


def _with_file_id(issues: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """Quarantine rows (indexed by their raw row) with the file version of their row first."""
    issues = issues.copy()
    issues.insert(0, "file_id", raw.loc[issues.index, "file_id"].to_numpy(dtype="int64"))
    return issues.reset_index(drop=True)


def _raw_cells(raw: pd.DataFrame) -> Callable[[pd.Index], pd.DataFrame]:
    """The raw cells of some rows, for telling which columns a new version changed."""
    return lambda labels: raw.loc[labels]


def _duration_seconds(raw: pd.DataFrame, typed: pd.DataFrame, issues: Issues) -> pd.Series:
    by_end = (typed["ended_at"] - typed["started_at"]).dt.total_seconds().astype("Int64")
    cells = raw["duration_minutes"]
    minutes, bad = parse.parse_decimal(cells)
    negative = parse.is_negative_number(cells, among=bad)
    issues.add(raw, negative, "duration_minutes", "negative_duration", "duration_minutes is negative")
    issues.add(raw, bad & ~negative, "duration_minutes", "unparseable_value",
               lambda rows: "duration_minutes '" + rows["duration_minutes"].astype("str") + "' cannot be read")
    distinct = {m: parse.minutes_to_seconds(m) for m in minutes.dropna().unique()}
    by_minutes = minutes.map(distinct, na_action="ignore").astype("Int64")
    neither = ~parse.given(raw["ended_at"]) & ~parse.given(cells)
    issues.add(raw, neither, "ended_at", "missing_value", "ended_at or duration_minutes is required")
    conflict = (by_end.notna() & by_minutes.notna()
                & ((by_end - by_minutes).abs() > DURATION_TOLERANCE_SECONDS)).astype(bool)
    issues.add(raw, conflict, "duration_minutes", "duration_conflict",
               lambda rows: "ended_at − started_at is " + (by_end[rows.index] // 60).astype("str")
               + " min, duration_minutes says " + rows["duration_minutes"].astype("str"))
    # over 24 h: named after the column the duration came from (ended_at wins when both given)
    for column, seconds in (("ended_at", by_end), ("duration_minutes", by_minutes.where(by_end.isna()))):
        too_long = (seconds > MAX_ENTRY_SECONDS).fillna(False).astype(bool)
        issues.add(raw, too_long, column, "implausible_duration",
                   lambda rows, s=seconds: "duration of " + s[rows.index].astype("str")
                   + f" s is over 24 hours ({MAX_ENTRY_SECONDS} s)")
    return by_end.fillna(by_minutes)


def _latest_versions(raw: pd.DataFrame, typed: pd.DataFrame, key: str, content_columns: list[str],
                     kind: str, cells: Callable[[pd.Index], pd.DataFrame] | None = None,
                     content: Callable[[pd.Index], pd.Series] | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last version of each `key` in history order (SPEC §2) as rows of `typed`, and the
    superseded versions (see `_latest_labels`)."""
    latest, supersessions = _latest_labels(raw, key, content_columns, kind, cells, content)
    return typed.loc[latest].drop(columns=["file_id"]), supersessions


def _latest_labels(raw: pd.DataFrame, key: str, content_columns: list[str], kind: str,
                   cells: Callable[[pd.Index], pd.DataFrame] | None = None,
                   content: Callable[[pd.Index], pd.Series] | None = None) -> tuple[pd.Index, pd.DataFrame]:
    """The labels of the last version of each `key` in history order (SPEC §2), and the
    superseded versions.

    History order is the order the warehouse received the rows: file versions in ingest order
    (`file_id`: earlier runs first, then name order within a run), then lines. A version whose
    content differs from the one in force is superseded, by the next later version with other
    content (`changed_columns` says which raw cells differ); one with the content in force is an
    identical re-export. `content` (of some labels: equal exactly when their content cells are
    equal, e.g. a digest) and `cells` (the raw rows of some labels) stand in for `raw`'s own
    content columns when `raw` does not hold them.
    """
    cells = cells or _raw_cells(raw)
    order = np.lexsort((raw["line"].to_numpy(), raw["file_id"].to_numpy()))
    ids = pd.Series(raw[key].to_numpy()[order])
    latest = order[~ids.duplicated(keep="last").to_numpy()]
    repeated = order[ids.duplicated(keep=False).to_numpy()]   # only these have versions to compare
    versions = raw.iloc[repeated]
    if content is None:
        text = cells(versions.index)[content_columns].fillna("").astype("str")
        values = pd.Series(list(zip(*(text[c] for c in content_columns))), index=versions.index)
    else:
        values = content(versions.index)
    history: dict[str, list[tuple]] = {}
    for id_, source, line, label, value in zip(versions[key], versions["source_file"], versions["line"],
                                               versions.index, values):
        history.setdefault(id_, []).append((source, int(line), value, label))
    pairs = []
    for id_, found in history.items():
        in_force = found[-1][2]
        for i, (source, line, value, label) in enumerate(found[:-1]):
            if value == in_force:
                continue
            by = next(v for v in found[i + 1:] if v[2] != value)
            pairs.append((id_, source, line, label, by))
    labels = pd.Index([p[3] for p in pairs] + [p[4][3] for p in pairs]).unique()
    text = cells(labels)[content_columns].fillna("").astype("str") if pairs else None
    rows = []
    for id_, source, line, label, (by_source, by_line, _, by_label) in pairs:
        a, b = text.loc[label], text.loc[by_label]
        changed = "|".join(c for c in content_columns if a[c] != b[c])
        rows.append((kind, id_, source, line, by_source, by_line, changed))
    supersessions = pd.DataFrame(rows, columns=SUPERSESSION_COLUMNS).astype({"line": "int64",
                                                                             "superseded_by_line": "int64"})
    return raw.index[latest], supersessions


# --- authorizations -----------------------------------------------------------------------

def validate_authorizations(raw: pd.DataFrame, known: Callable[[pd.Series], set[str]], tz: str
                            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Valid authorization rows, in file order, and quarantine rows; `known` says which of some
    entry ids are entries in force."""
    issues = Issues()
    specs = {
        "entry_id": (_text, True, None),
        "authorized_at": (partial(parse.parse_timestamp, tz=tz), True, None),
        "authorized_by": (_text, False, None),
    }
    typed = _parse_columns(raw, specs, issues)
    given = parse.given(raw["entry_id"])
    unknown = given & ~raw["entry_id"].isin(known(raw.loc[given, "entry_id"]))
    issues.add(raw, unknown, "entry_id", "unknown_entry", "no valid time entry has this entry_id")
    ok = _ok(raw, issues)
    _run_schema(AUTHORIZATION_SCHEMA, typed[ok].astype({"entry_id": "str"}), raw, issues)
    typed = typed[_ok(raw, issues)].sort_values(["source_file", "file_id", "line"], kind="stable")
    return typed.drop(columns=["file_id"]), issues.frame()
