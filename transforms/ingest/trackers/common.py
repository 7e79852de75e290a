"""Shared machinery of the tracker-export adapters: header lookup, cell parsers, the engine.

A tracker is described by a `TrackerSpec`: which logical columns it has and under which
header names (any language), its default mapping to canonical columns, and how one record's
times are read. `adapt_export` runs a spec over a file. It never raises on bad content: a bad
record becomes an `Issue`, a bad file becomes one `Issue` at line 0 and no rows.

Grain of the output: one canonical row per good source record, one issue per bad record.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, Inexact, localcontext

from transforms.ingest.csvio import Record

CANONICAL_COLUMNS = (
    "entry_id", "customer_id", "user", "service", "started_at", "ended_at",
    "duration_minutes", "billable", "incident_id", "authorized_at", "project", "task",
    "description", "billed_elsewhere", "currency",
)  # fmt: skip

# What makes an entry the same entry in a re-export. Status columns (billable, authorized_at,
# billed_elsewhere) are left out on purpose: they change over an entry's life (approval,
# invoicing), and a changed status must supersede the entry, not create a second one.
IDENTITY_COLUMNS = (
    "customer_id", "user", "service", "started_at", "ended_at", "duration_minutes",
    "incident_id", "project", "task", "description",
)  # fmt: skip

# A row holding a NUL is quarantined (nul_byte), so the identity of every kept row is unambiguous.
_ID_SEPARATOR = "\x00"

# The currency an export states: a column of its own (Harvest's `Currency`: "Euro - EUR") or
# in a header such as `Amount (USD)` / `Billable Rate (EUR)`; checked against the customer's.
CURRENCY_HEADERS = ("Currency", "Währung", "Devise", "Valuta", "Moneda")
_CURRENCY_IN_HEADER = re.compile(r"\(([A-Z]{3})\)\s*$")
_CURRENCY_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")

TEXT_FIELDS = ("entry_id", "customer_id", "user", "service", "incident_id", "project", "task",
               "description")
REQUIRED_TEXT_FIELDS = ("customer_id", "user", "service")
BOOL_FIELDS = ("billable", "billed_elsewhere")
MAPPING_KEYS = (*TEXT_FIELDS, *BOOL_FIELDS, "authorized_at", "date_order")
DATE_ORDERS = ("dmy", "mdy")

# Longest duration one entry may have; longer values are typos (and would overflow datetime).
MAX_DURATION_HOURS = 10_000


@dataclass(frozen=True)
class Issue:
    """One quarantine row: a bad source record (line ≥ 2) or a bad file (line 0)."""

    line: int
    column: str
    value: str
    reason_code: str
    detail: str


@dataclass(frozen=True)
class Adapted:
    """Canonical rows (source line, canonical column -> str) and issues of one export file."""

    tracker: str
    rows: list[tuple[int, dict[str, str]]]
    issues: list[Issue]


class RowProblem(Exception):
    """Why one record cannot be converted; becomes an `Issue` at the record's line."""

    def __init__(self, column: str, value: str, reason_code: str, detail: str):
        super().__init__(detail)
        self.column, self.value, self.reason_code, self.detail = column, value, reason_code, detail


# ---------------------------------------------------------------------------------------------
# Headers


def normalize_name(name: str) -> str:
    """Header name as compared: NFC, case-folded, inner blanks collapsed, trimmed."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


class HeaderIndex:
    """Position of each header name (first occurrence wins), looked up case-insensitively."""

    def __init__(self, header: Sequence[str]):
        self.header = tuple(header)
        self._positions: dict[str, int] = {}
        for i, name in enumerate(self.header):
            self._positions.setdefault(normalize_name(name), i)

    def position(self, names: Sequence[str]) -> int | None:
        for name in names:
            i = self._positions.get(normalize_name(name))
            if i is not None:
                return i
        return None

    def names(self) -> frozenset[str]:
        return frozenset(self._positions)


# ---------------------------------------------------------------------------------------------
# Cell parsers (pure; raise ValueError on text they cannot read)

_TRUE = frozenset({"true", "yes", "y", "1", "ja", "j"})
_FALSE = frozenset({"false", "no", "n", "0", "nein"})


def parse_bool(text: str) -> bool:
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {text!r}")


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?\s*m\.?)?", re.IGNORECASE)


def parse_clock(text: str) -> time:
    """A time of day: `9:15`, `09:15:00`, `9:15 AM`, `09:15:00 pm`, `12:00 AM` (= 00:00)."""
    m = _CLOCK.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a time of day: {text!r}")
    hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
    if m[4]:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} is not valid with AM/PM")
        hour = hour % 12 + (12 if m[4].lower() == "p" else 0)
    return time(hour, minute, second)  # ValueError when out of range


_HMS = re.compile(r"([+-]?)(\d{1,7}):([0-5]\d)(?::([0-5]\d))?")


def parse_hms_seconds(text: str) -> int:
    """A duration `H:MM` or `H:MM:SS` (hours may exceed 24) in whole seconds, sign kept."""
    m = _HMS.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a duration h:mm[:ss]: {text!r}")
    seconds = int(m[2]) * 3600 + int(m[3]) * 60 + int(m[4] or 0)
    return -seconds if m[1] == "-" else seconds


_NUMBER = re.compile(r"([+-]?)([\d.,]+)")


def decimal_mark_evidence(text: str) -> str | None:
    """The decimal mark ('.' or ',') a number proves by its own shape, or None if it cannot tell.

    `1.234,5` and `1,5` prove ','; `1,234.5` and `1.50` prove '.'; `1,234` and `1.234` prove
    nothing.
    """
    body = _number_body(text)
    if body is None:
        return None
    if "." in body and "," in body:
        return "." if body.rfind(".") > body.rfind(",") else ","
    for mark, other in ((",", "."), (".", ",")):
        count = body.count(mark)
        if count > 1:
            return other  # repeated: it is the thousands separator
        if count == 1 and not re.fullmatch(r"\d{1,3}[.,]\d{3}", body):
            return mark
    return None


def parse_decimal(text: str, decimal_mark: str | None = None) -> Decimal:
    """A decimal written with '.' or ',' as decimal mark, with optional thousands separators.

    When both marks occur, the last one is the decimal mark. A mark that occurs more than once
    groups thousands. A single mark is the decimal mark, unless the file proved the other mark
    is (`decimal_mark`), in which case it groups thousands (`1.234` in a `1.234,5` file).
    """
    body = _number_body(text)
    if body is None:
        raise ValueError(f"not a number: {text!r}")
    sign = "-" if text.strip().startswith("-") else ""
    dec: str | None
    thousands: str | None
    if "." in body and "," in body:
        dec = "." if body.rfind(".") > body.rfind(",") else ","
        thousands = "," if dec == "." else "."
    elif "." in body or "," in body:
        mark = "," if "," in body else "."
        other = "." if mark == "," else ","
        if body.count(mark) > 1 or decimal_mark == other:
            dec, thousands = None, mark
        else:
            dec, thousands = mark, None
    else:
        dec = thousands = None
    whole, _, fraction = body.rpartition(dec) if dec else (body, "", "")
    if dec and not fraction.isdigit():
        raise ValueError(f"not a number: {text!r}")
    if thousands and thousands in whole:
        if not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+", whole):
            raise ValueError(f"misplaced thousands separator in {text!r}")
        whole = whole.replace(thousands, "")
    if not (whole.isdigit() or (whole == "" and dec)):
        raise ValueError(f"not a number: {text!r}")
    return Decimal(f"{sign}{whole or '0'}.{fraction or '0'}")


def _number_body(text: str) -> str | None:
    compact = re.sub(r"[\s\u00a0\u202f']", "", text)
    m = _NUMBER.fullmatch(compact)
    if not m or not any(c.isdigit() for c in m[2]) or len(m[2]) > 40:
        return None
    return m[2]


@dataclass(frozen=True)
class DateParts:
    """A date as written: `iso` (year first, unambiguous) or two day/month parts and a year."""

    iso: bool
    first: int
    second: int
    year: int
    separator: str


_ISO_DATE = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_OTHER_DATE = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})")


def split_date(text: str) -> DateParts | None:
    value = text.strip()
    if m := _ISO_DATE.fullmatch(value):
        return DateParts(True, int(m[3]), int(m[4]), int(m[1]), m[2])
    if m := _OTHER_DATE.fullmatch(value):
        year = int(m[4]) + (2000 if len(m[4]) == 2 else 0)
        return DateParts(False, int(m[1]), int(m[3]), year, m[2])
    return None


def to_date(parts: DateParts, order: str) -> date:
    """The date the parts name in `order` ('dmy' or 'mdy'); ISO parts ignore the order."""
    if parts.iso:
        return date(parts.year, parts.first, parts.second)
    if order == "dmy":
        return date(parts.year, parts.second, parts.first)
    return date(parts.year, parts.first, parts.second)


@dataclass(frozen=True)
class FileProblem:
    column: str
    value: str
    reason_code: str
    detail: str


def decide_date_order(texts: Sequence[str], tracker: str) -> tuple[str, FileProblem | None]:
    """Day-first or month-first for all dates of a file, from the dates themselves.

    A part > 12 settles it. Dates whose two parts are equal read the same either way. If some
    dates could be read both ways and nothing settles it, the file is ambiguous — unless all of
    them use dots (`11.03.2026`), which is day-first wherever it is written.
    """
    dmy_example = mdy_example = ambiguous_example = None
    dotted_only = True
    for text in texts:
        parts = split_date(text)
        if parts is None or parts.iso:
            continue
        dotted_only = dotted_only and parts.separator == "."
        if parts.first > 12 >= parts.second:
            dmy_example = dmy_example or text
        elif parts.second > 12 >= parts.first:
            mdy_example = mdy_example or text
        elif parts.first != parts.second and max(parts.first, parts.second) <= 12:
            ambiguous_example = ambiguous_example or text
    hint = f'set date_order = "dmy" or "mdy" in [{tracker}] of inbox/trackers.toml'
    if dmy_example and mdy_example:
        return "dmy", FileProblem(
            "", dmy_example, "inconsistent_date_format",
            f"{dmy_example!r} is day-first but {mdy_example!r} is month-first; {hint}",
        )
    if dmy_example:
        return "dmy", None
    if mdy_example:
        return "mdy", None
    if ambiguous_example and not dotted_only:
        return "dmy", FileProblem(
            "", ambiguous_example, "ambiguous_date_format",
            f"dates like {ambiguous_example!r} can be day-first or month-first and no date in "
            f"the file has a part > 12; {hint}",
        )
    return "dmy", None


def decide_decimal_mark(texts: Sequence[str]) -> str | None:
    """The decimal mark the file's numbers agree on, or None when they prove none or both."""
    marks = {m for m in map(decimal_mark_evidence, texts) if m}
    return marks.pop() if len(marks) == 1 else None


# ---------------------------------------------------------------------------------------------
# Canonical formats


def format_timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def format_decimal(value: Decimal) -> str:
    """`90`, `1.5`, `0.25`: plain notation, no trailing zeros, no exponent."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def format_bool(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def minutes_from_seconds(seconds: Decimal) -> str | None:
    """Seconds as decimal minutes, or None when that would not be exact (e.g. 20 s)."""
    with localcontext() as ctx:
        ctx.prec = 60
        ctx.clear_flags()
        minutes = seconds / 60
        if ctx.flags[Inexact]:
            return None
        return format_decimal(minutes)


# ---------------------------------------------------------------------------------------------
# Tracker description


@dataclass(frozen=True)
class FieldRule:
    """Where a canonical column comes from: logical keys tried in order (first non-blank wins),
    or all of them joined with a space (`join`, e.g. Harvest's First Name + Last Name)."""

    keys: tuple[str, ...]
    join: bool = False


@dataclass(frozen=True)
class TrackerSpec:
    name: str
    # logical key -> accepted header names in any language; the first is the display name
    columns: Mapping[str, tuple[str, ...]]
    # the header is this tracker's export when it has every key of one of these sets
    signatures: tuple[frozenset[str], ...]
    # file-level requirements: each entry lists alternatives, one of which must be present
    required: tuple[tuple[str, ...], ...]
    # default mapping, canonical column -> rule (text columns and billable/billed_elsewhere)
    fields: Mapping[str, FieldRule]
    # logical keys holding dates (order decided over the whole file) and decimals
    date_keys: tuple[str, ...]
    decimal_keys: tuple[str, ...]
    # started_at, ended_at, duration_minutes, authorized_at of one record
    read_times: Callable[[RowView], dict[str, str]]
    # last touch on a converted row (e.g. Clockify breaks are never billable)
    adjust: Callable[[RowView, dict[str, str]], None] | None = None

    def matches(self, index: HeaderIndex) -> bool:
        return any(
            all(index.position(self.columns[key]) is not None for key in signature)
            for signature in self.signatures
        )


@dataclass(frozen=True)
class Source:
    """A canonical column resolved against one file's header."""

    positions: tuple[int, ...]
    names: tuple[str, ...]  # header names as in the file
    join: bool = False


@dataclass
class FileContext:
    spec: TrackerSpec
    index: HeaderIndex
    sources: dict[str, Source | None]
    positions: dict[str, int | None]  # logical key -> column position in this file
    date_order: str | None = None  # None until decided from the file (or the mapping)
    currency_position: int | None = None   # a currency column
    header_currency: str = ""               # the currency a header names, e.g. Amount (USD)
    decimal_mark: str | None = None
    use_approval: bool = True


class RowView:
    """One record seen through its file's header: typed access to cells by logical key."""

    def __init__(self, ctx: FileContext, cells: Sequence[str]):
        self.ctx = ctx
        self.cells = cells

    def position(self, key: str) -> int | None:
        return self.ctx.positions[key]

    def name(self, key: str) -> str:
        i = self.position(key)
        return self.ctx.index.header[i] if i is not None else self.ctx.spec.columns[key][0]

    def cell(self, key: str) -> str:
        i = self.position(key)
        return self.cells[i] if i is not None and i < len(self.cells) else ""

    def _required(self, key: str) -> str:
        text = self.cell(key)
        if not text:
            raise RowProblem(self.name(key), "", "missing_value", f"{self.name(key)} is blank")
        return text

    def date(self, key: str) -> date:
        text = self._required(key)
        parts = split_date(text)
        order = self.ctx.date_order or "dmy"
        try:
            if parts is None:
                raise ValueError
            return to_date(parts, order)
        except ValueError:
            reading = {"dmy": "day-first", "mdy": "month-first"}[order]
            raise RowProblem(
                self.name(key), text, "unparseable_value",
                f"{self.name(key)} {text!r} is not a date (YYYY-MM-DD or {reading} like the "
                f"rest of the file)",
            ) from None

    def time(self, key: str) -> time:
        text = self._required(key)
        try:
            return parse_clock(text)
        except ValueError:
            raise RowProblem(
                self.name(key), text, "unparseable_value",
                f"{self.name(key)} {text!r} is not a time of day (HH:MM[:SS] or 12-hour AM/PM)",
            ) from None

    def duration_seconds(self, key: str, *, hours_allowed: bool = True,
                         hms_allowed: bool = True) -> Decimal | None:
        """A duration cell (`h:mm[:ss]` and/or decimal hours) in seconds; None if blank."""
        text = self.cell(key)
        if not text:
            return None
        seconds: Decimal | None = None
        if hms_allowed and ":" in text:
            try:
                seconds = Decimal(parse_hms_seconds(text))
            except ValueError:
                seconds = None
        elif hours_allowed:
            try:
                with localcontext() as exact:
                    exact.prec = 60
                    seconds = parse_decimal(text, self.ctx.decimal_mark) * 3600
            except ValueError:
                seconds = None
        if seconds is None:
            shape = " or ".join(
                s for s, ok in (("h:mm[:ss]", hms_allowed), ("decimal hours", hours_allowed)) if ok
            )
            raise RowProblem(self.name(key), text, "unparseable_value",
                             f"{self.name(key)} {text!r} is not a duration ({shape})")
        if seconds < 0:
            raise RowProblem(self.name(key), text, "negative_duration",
                             f"{self.name(key)} {text!r} is negative")
        if seconds > MAX_DURATION_HOURS * 3600:
            raise RowProblem(self.name(key), text, "unparseable_value",
                             f"{self.name(key)} {text!r} is longer than "
                             f"{MAX_DURATION_HOURS} hours")
        return seconds

    def flag(self, key: str) -> bool | None:
        """A yes/no cell; None when the column is absent or the cell blank."""
        return self.flag_at(self.position(key), self.name(key))

    def flag_at(self, position: int | None, name: str) -> bool | None:
        if position is None or position >= len(self.cells) or not self.cells[position]:
            return None
        text = self.cells[position]
        try:
            return parse_bool(text)
        except ValueError:
            raise RowProblem(name, text, "unparseable_value",
                             f"{name} {text!r} is not yes/no (true/false, yes/no, 1/0)") from None


# ---------------------------------------------------------------------------------------------
# Shared time logic


def combine(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock)


def span_fields(row: RowView, started: datetime, ended: datetime | None,
                duration_s: Decimal | None, *, end_key: str, duration_key: str | None,
                duration_wins: bool) -> dict[str, str]:
    """started_at / ended_at / duration_minutes of an entry from what the export gives.

    With an end time, `ended_at` is written (exact to the second, and safe across DST changes).
    `duration_wins` (Kimai): the export's own duration is the worked time (breaks excluded); if
    it disagrees with end − start by more than 60 s, only the duration is written.
    """
    out = {"started_at": format_timestamp(started), "ended_at": "", "duration_minutes": "",
           "authorized_at": ""}
    if ended is not None and ended < started:
        raise RowProblem(row.name(end_key), row.cell(end_key), "negative_duration",
                         f"ends {format_timestamp(ended)} before it starts "
                         f"{format_timestamp(started)}")
    span_s = None if ended is None else (ended - started) // timedelta(seconds=1)
    if ended is not None and (duration_s is None or not duration_wins
                              or abs(span_s - duration_s) <= 60):
        out["ended_at"] = format_timestamp(ended)
        return out
    if duration_s is None:
        key = duration_key or end_key
        raise RowProblem(row.name(key), "", "missing_value",
                         f"neither {row.name(end_key)} nor a duration is given")
    return out | duration_fields(started, duration_s)


def duration_fields(started: datetime, duration_s: Decimal) -> dict[str, str]:
    """duration_minutes when exact in decimal minutes, else ended_at = start + duration."""
    minutes = minutes_from_seconds(duration_s)
    if minutes is not None:
        return {"duration_minutes": minutes}
    return {"ended_at": format_timestamp(started + timedelta(seconds=int(duration_s)))}


def end_of(started: datetime, duration_s: Decimal) -> datetime:
    """The instant a duration after `started`, rounded up to a whole second."""
    return started + timedelta(seconds=math.ceil(duration_s))


def read_start_end(row: RowView, duration: Decimal | None, *, duration_key: str | None,
                   duration_wins: bool = False) -> dict[str, str]:
    """Times of exports with start date/time and end date/time columns (Toggl, Clockify).

    A missing end date means the start date; an end time before the start time on that date
    is the next day.
    """
    started = combine(row.date("start_date"), row.time("start_time"))
    ended = None
    if row.cell("end_time"):
        clock = row.time("end_time")
        if row.cell("end_date"):
            ended = combine(row.date("end_date"), clock)
        else:
            ended = combine(started.date(), clock)
            if ended < started:
                ended += timedelta(days=1)
    return span_fields(row, started, ended, duration, end_key="end_time",
                       duration_key=duration_key, duration_wins=duration_wins)


# ---------------------------------------------------------------------------------------------
# The engine


def adapt_export(spec: TrackerSpec, header: Sequence[str], records: Sequence[Record],
                 mapping: Mapping[str, Mapping[str, object]] | None = None) -> Adapted:
    """Canonical rows and issues of one export file of `spec`'s tracker."""
    index = HeaderIndex(header)
    ctx, problem = _file_context(spec, index, mapping)
    if problem is None and ctx.date_order is None:
        ctx.date_order, problem = decide_date_order(_cells(ctx, records, spec.date_keys),
                                                    spec.name)
    if problem is not None:
        return Adapted(spec.name, [], [Issue(0, problem.column, problem.value,
                                             problem.reason_code, problem.detail)])
    ctx.decimal_mark = decide_decimal_mark(_cells(ctx, records, spec.decimal_keys))
    rows: list[tuple[int, dict[str, str]]] = []
    issues: list[Issue] = []
    for record in records:
        try:
            rows.append((record.line, _convert(ctx, record)))
        except RowProblem as p:
            issues.append(Issue(record.line, p.column, p.value, p.reason_code, p.detail))
        except (ArithmeticError, ValueError) as exc:  # e.g. a date past year 9999
            issues.append(Issue(record.line, "", "", "unparseable_value", str(exc)))
    _assign_ids(spec.name, rows)
    return Adapted(spec.name, rows, issues)


def _cells(ctx: FileContext, records: Sequence[Record], keys: Sequence[str]) -> list[str]:
    """All non-blank cells of the given logical columns, file order."""
    found = [i for key in keys if (i := ctx.positions[key]) is not None]
    return [r.cells[i] for i in found for r in records if i < len(r.cells) and r.cells[i]]


def _file_context(spec: TrackerSpec, index: HeaderIndex,
                  mapping: Mapping[str, Mapping[str, object]] | None,
                  ) -> tuple[FileContext, FileProblem | None]:
    positions = {key: index.position(names) for key, names in spec.columns.items()}
    ctx = FileContext(spec, index, {}, positions, currency_position=index.position(CURRENCY_HEADERS),
                      header_currency=next((m.group(1) for name in index.header
                                            if (m := _CURRENCY_IN_HEADER.search(name))), ""))
    overrides: Mapping[str, object] = {}
    if mapping is not None:
        if not isinstance(mapping, Mapping):
            return ctx, _invalid(
                f"the tracker mapping must be a table, not {type(mapping).__name__}")
        overrides = mapping.get(spec.name) or {}
        if not isinstance(overrides, Mapping):
            return ctx, _invalid(f"[{spec.name}] must be a table, not {type(overrides).__name__}")

    missing: list[tuple[str, str]] = []  # (column to report, what is missing)
    for alternatives in spec.required:
        if all(positions[k] is None for k in alternatives):
            missing.append((spec.columns[alternatives[0]][0],
                            " or ".join(spec.columns[k][0] for k in alternatives)))

    for column in (*TEXT_FIELDS, *BOOL_FIELDS):
        if column in overrides:
            continue
        rule = spec.fields.get(column)
        found = [(i, index.header[i]) for k in (rule.keys if rule else ())
                 if (i := positions[k]) is not None]
        if rule and not found and column in REQUIRED_TEXT_FIELDS:
            missing.append((spec.columns[rule.keys[0]][0],
                            " or ".join(spec.columns[k][0] for k in rule.keys)))
        ctx.sources[column] = (Source(tuple(i for i, _ in found), tuple(n for _, n in found),
                                      rule.join) if found else None)

    for key, value in overrides.items():
        if key not in MAPPING_KEYS:
            return ctx, _invalid(f"[{spec.name}] {key!r} is not a mapping key; use one of "
                                 f"{', '.join(MAPPING_KEYS)}")
        if key == "date_order":
            if value not in DATE_ORDERS:
                return ctx, _invalid(f'[{spec.name}] date_order must be "dmy" or "mdy", '
                                     f"not {value!r}")
            ctx.date_order = str(value)
            continue
        if key == "authorized_at":
            if value != "":
                return ctx, _invalid(f'[{spec.name}] authorized_at can only be "" (ignore the '
                                     f"export's approval), not {value!r}")
            ctx.use_approval = False
            continue
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            return ctx, _invalid(f"[{spec.name}] {key} must be a column name or a list of "
                                 f"column names, not {value!r}")
        names = [n for n in names if n.strip()]
        if not names:
            if key in REQUIRED_TEXT_FIELDS:
                return ctx, _invalid(f"[{spec.name}] {key} is required and cannot be mapped to "
                                     f"nothing")
            ctx.sources[key] = None
            continue
        # A list may name columns of several export languages: absent ones are skipped.
        found_at = [i for name in names if (i := index.position([name])) is not None]
        if not found_at:
            missing.append((names[0], " or ".join(names)))
            continue
        ctx.sources[key] = Source(tuple(found_at), tuple(index.header[i] for i in found_at))

    if missing:
        return ctx, FileProblem(
            missing[0][0], "", "missing_column",
            f"{spec.name} export lacks column(s): {'; '.join(what for _, what in missing)}",
        )
    return ctx, None


def _invalid(detail: str) -> FileProblem:
    return FileProblem("", "", "invalid_mapping", detail)


def _convert(ctx: FileContext, record: Record) -> dict[str, str]:
    cells = record.cells
    width = len(ctx.index.header)
    if len(cells) > width and any(cells[width:]):
        extra = next(c for c in cells[width:] if c)
        raise RowProblem("", extra, "extra_cells",
                         f"{len(cells)} cells but the header has {width}: a delimiter inside an "
                         f"unquoted value?")
    row = RowView(ctx, cells)
    out = dict.fromkeys(CANONICAL_COLUMNS, "")
    for column in TEXT_FIELDS:
        source = ctx.sources.get(column)
        if source is None:
            continue
        values = [cells[i] for i in source.positions if i < len(cells) and cells[i]]
        out[column] = " ".join(values) if source.join else (values[0] if values else "")
        if column in REQUIRED_TEXT_FIELDS and not out[column]:
            verb = "is" if len(source.names) == 1 else "are"
            raise RowProblem(source.names[0], "", "missing_value",
                             f"{' and '.join(source.names)} {verb} blank")
    for column in BOOL_FIELDS:
        source = ctx.sources.get(column)
        if source is not None:
            filled = [(i, n) for i, n in zip(source.positions, source.names)
                      if i < len(cells) and cells[i]]
            if filled:
                out[column] = format_bool(row.flag_at(*filled[0]))
    out.update(ctx.spec.read_times(row))
    out["currency"] = _currency(ctx, cells)
    if not ctx.use_approval:
        out["authorized_at"] = ""
    if ctx.spec.adjust is not None:
        ctx.spec.adjust(row, out)
    if out["entry_id"]:
        out["entry_id"] = f"{ctx.spec.name}-{out['entry_id']}"
    return out


def _currency(ctx: FileContext, cells: Sequence[str]) -> str:
    """The ISO code of the currency this row is priced in, as the export states it ('' if none)."""
    i = ctx.currency_position
    cell = cells[i] if i is not None and i < len(cells) else ""
    if cell:
        codes = _CURRENCY_CODE.findall(cell)
        return codes[-1] if codes else cell
    return ctx.header_currency


def _assign_ids(tracker: str, rows: list[tuple[int, dict[str, str]]]) -> None:
    """Rows without an export id get `<tracker>-<sha256[:20]>#n` over their identity columns;
    n counts identical rows within the file, in file order, from 0."""
    seen: Counter[str] = Counter()
    for _, row in rows:
        if row["entry_id"]:
            continue
        content = _ID_SEPARATOR.join(row[c] for c in IDENTITY_COLUMNS)
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:20]
        row["entry_id"] = f"{tracker}-{digest}#{seen[digest]}"
        seen[digest] += 1
