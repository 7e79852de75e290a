"""Vectorized parsers from raw input strings to typed columns.

Each parser takes a pandas Series of trimmed strings (NA or '' = not given) and returns
(values, bad): typed values (NA where blank or bad) and a boolean mask of cells that were
given but could not be parsed. Nothing here raises on bad content, and nothing uses floats:
money becomes integer cents, durations integer seconds, decimals `Decimal`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd

from transforms.units import round_half_up

TRUE_WORDS = frozenset({"true", "yes", "1"})
FALSE_WORDS = frozenset({"false", "no", "0"})

# ASCII digits only: `\d` would also accept e.g. Arabic-Indic or full-width digits
_MONEY = r"^([0-9]{1,15})(?:\.([0-9]{1,2}))?$"
DECIMAL = r"^[0-9]{1,15}(?:\.[0-9]{1,12})?$"
_INTEGER = r"^[0-9]{1,15}$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIMESTAMP = (
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[T ](?P<hh>[0-9]{2}):(?P<mm>[0-9]{2})"
    r"(?::(?P<ss>[0-9]{2})(?:\.[0-9]+)?)?"
    r"(?P<offset>Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")
# the same shape for DuckDB's regexp_extract (RE2): whole string, named groups by position
_TIMESTAMP_RE2 = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)


#: dates and instants outside these years are out of range: a year 0001 or 9999 in an export is
#: a typo, and pandas' nanosecond instants (1677–2262) and spreadsheet dates (from 1900) must
#: both hold every accepted value
SUPPORTED_YEARS = (1900, 2199)
_FIRST_NAIVE = int((np.datetime64(f"{SUPPORTED_YEARS[0]}-01-01T00:00:00", "s") - _EPOCH).astype("int64"))
_END_NAIVE = int((np.datetime64(f"{SUPPORTED_YEARS[1] + 1}-01-01T00:00:00", "s") - _EPOCH).astype("int64"))
_PLAIN_TIMESTAMP_RE2 = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"
#: SQL: the naive epoch seconds of a cell `{v}` of the usual shape, as parse_timestamp reads it
_PLAIN_EPOCH = "epoch(try_strptime({v}, '%Y-%m-%dT%H:%M:%S'))::bigint"
#: SQL: the same of a cell of any other shape, from the parts `{p}` _TIMESTAMP_RE2 took apart
_PARTS_EPOCH = ("epoch(try_strptime({p}.date || ' ' || {p}.hh || ':' || {p}.mm || ':'"
                " || coalesce(nullif({p}.ss, ''), '00'), '%Y-%m-%d %H:%M:%S'))::bigint")


def plain_timestamp_sql(v: str) -> str:
    """SQL: the naive epoch seconds of cell `v` when it is a real time without a UTC offset, NULL
    otherwise: parse_timestamp's reading of such a cell (the same expressions), before its time
    zone applies."""
    parts = f"regexp_extract({v}, '{_TIMESTAMP_RE2}', ['date', 'hh', 'mm', 'ss', 'off'])"
    return (f"(case when regexp_full_match({v}, '{_PLAIN_TIMESTAMP_RE2}') then {_PLAIN_EPOCH.format(v=v)}"
            f" when regexp_full_match({v}, '{_TIMESTAMP_RE2}') and {parts}.off = ''"
            f" then {_PARTS_EPOCH.format(p=parts)} end)")


def naive_in_supported_years_sql(seconds: str) -> str:
    """SQL: whether naive epoch `seconds` lie in SUPPORTED_YEARS (false when NULL)."""
    return f"coalesce({seconds} >= {_FIRST_NAIVE} and {seconds} < {_END_NAIVE}, false)"


def local_epochs(naive: np.ndarray, tz: str) -> np.ndarray:
    """UTC epoch seconds of naive epoch seconds within the supported years, read as local time in
    `tz` as parse_timestamp reads a cell without offset."""
    epoch = np.asarray(naive, dtype="int64")
    if len(epoch) and tz != "UTC":
        epoch = _local_to_epoch(pd.Series(epoch), tz).to_numpy(dtype="int64")
    return epoch


def outside_supported_years(values: pd.Series) -> pd.Series:
    """Mask of dates or instants (datetime64, naive or UTC) outside SUPPORTED_YEARS."""
    seconds = values.to_numpy(dtype="datetime64[s]") if values.dt.tz is None \
        else values.dt.tz_convert(None).to_numpy(dtype="datetime64[s]")
    known = ~np.isnat(seconds)
    numbers = seconds.astype("int64")
    return pd.Series(known & ((numbers < _FIRST_NAIVE) | (numbers >= _END_NAIVE)), index=values.index)


def given(s: pd.Series) -> pd.Series:
    """Mask of cells that hold a value (blank means 'not given')."""
    return (s.notna() & (s != "")).astype(bool)


def _strings(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The cells as strings ('' where blank) and the mask of given cells (computed once:
    on a million cells each mask costs tens of milliseconds)."""
    present = given(s)
    return s.where(present, "").astype("str"), present


def parse_bool(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    text, present = _strings(s)
    low = text.str.lower()
    is_true, is_false = low.isin(TRUE_WORDS), low.isin(FALSE_WORDS)
    values = pd.Series(pd.NA, index=s.index, dtype="boolean")
    values[is_true] = True
    values[is_false] = False
    return values, present & ~is_true & ~is_false


def parse_choice(s: pd.Series, choices: frozenset[str]) -> tuple[pd.Series, pd.Series]:
    text, present = _strings(s)
    low = text.str.lower()
    ok = low.isin(choices)
    return low.where(ok, pd.NA), present & ~ok


def parse_int(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    text, present = _strings(s)
    ok = text.str.fullmatch(_INTEGER)
    values = pd.Series(pd.NA, index=s.index, dtype="Int64")
    if ok.any():
        values[ok] = text[ok].astype("int64")
    return values, present & ~ok


def parse_money_cents(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Money with at most 2 decimals, >= 0, as integer cents."""
    text, present = _strings(s)
    parts = text.str.extract(_MONEY)
    ok = parts[0].notna()
    values = pd.Series(pd.NA, index=s.index, dtype="Int64")
    if ok.any():
        whole = parts.loc[ok, 0].astype("int64")
        frac = parts.loc[ok, 1].fillna("").str.ljust(2, "0").astype("int64")
        values[ok] = whole * 100 + frac
    return values, present & ~ok


def parse_decimal(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Non-negative decimal numbers as `Decimal` objects."""
    text, present = _strings(s)
    ok = text.str.fullmatch(DECIMAL)
    values = pd.Series(None, index=s.index, dtype="object")
    if ok.any():
        values[ok] = text[ok].map(Decimal)
    return values, present & ~ok


def is_negative_number(s: pd.Series, among: pd.Series | None = None) -> pd.Series:
    """Cells holding a well-formed negative number (reported as `negative_value`), looked for
    only `among` the cells of a mask (usually those that failed to parse) when given."""
    out = pd.Series(False, index=s.index)
    where = s.index if among is None else s.index[among.to_numpy(dtype=bool)]
    if len(where):
        out[where] = _strings(s[where])[0].str.fullmatch(r"^-[0-9]{1,15}(?:\.[0-9]+)?$").to_numpy(dtype=bool)
    return out


def parse_date(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO dates as datetime64[s] at midnight."""
    text, present = _strings(s)
    shaped = text.str.fullmatch(_DATE)
    values = pd.to_datetime(text.where(shaped, None), format="%Y-%m-%d", errors="coerce")
    values = values.astype("datetime64[s]")
    return values, present & values.isna()


def parse_timestamp(s: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 timestamps as UTC instants (datetime64[s, UTC]), fractional seconds dropped.

    A timestamp without offset is local time in `tz`; in a DST gap or overlap the offset in
    force before the transition applies (zoneinfo fold=0). The shape check and the calendar
    parse run in DuckDB (vectorized RE2 and strptime): pandas' per-cell regex extraction was
    the largest cost of validating a large time log.
    """
    present = given(s)
    con = duckdb.connect()
    try:
        con.register("cells", pd.DataFrame({"v": s.where(present, "").to_numpy(dtype=object)}))
        # the usual shape (seconds, no offset, no fraction) goes straight to strptime; every
        # other cell is taken apart by the full pattern
        parts = con.execute(f"""
            select case when plain then {_PLAIN_EPOCH.format(v="v")}
                        else {_PARTS_EPOCH.format(p="p")}
                   end as naive_seconds,
                   case when not plain then nullif(p.off, '') end as off
            from (select v, plain,
                         case when not plain
                              then regexp_extract(v, '{_TIMESTAMP_RE2}', ['date', 'hh', 'mm', 'ss', 'off'])
                         end as p
                  from (select v, regexp_full_match(v, '{_PLAIN_TIMESTAMP_RE2}') as plain from cells))
        """).fetchnumpy()
    finally:
        con.close()
    seconds, offsets = parts["naive_seconds"], parts["off"]
    naive = np.ma.getdata(seconds).astype("int64")
    parsed = ~np.ma.getmaskarray(seconds)
    with_offset = ~np.ma.getmaskarray(offsets)
    offset = np.zeros(len(s), dtype="int64")
    bad_offset = np.zeros(len(s), dtype=bool)
    if with_offset.any():
        texts = np.ma.getdata(offsets)[with_offset]
        known = {text: _offset_seconds(text) for text in set(texts)}   # few distinct offsets
        found = [known[text] for text in texts]
        offset[with_offset] = [0 if v is None else v for v in found]
        bad_offset[with_offset] = [v is None for v in found]
    epoch = naive - offset
    # local times are converted within the supported years; others stay as they are (and are
    # out of range for the caller), since Python's datetime cannot hold e.g. year 0
    local = parsed & ~with_offset & (naive >= _FIRST_NAIVE) & (naive < _END_NAIVE)
    if local.any() and tz != "UTC":
        epoch[local] = _local_to_epoch(pd.Series(naive[local]), tz).to_numpy(dtype="int64")
    ok = parsed & ~bad_offset
    instants = np.where(ok, epoch, 0).astype("datetime64[s]")
    instants[~ok] = np.datetime64("NaT")
    values = pd.Series(instants, index=s.index).dt.tz_localize("UTC")
    return values, present & ~ok


def _offset_seconds(offset: str) -> float | None:
    if offset == "Z":
        return 0
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        return None
    return sign * (hours * 3600 + minutes * 60)


def _local_to_epoch(naive_seconds: pd.Series, tz: str) -> pd.Series:
    if tz == "UTC":
        return naive_seconds
    zone = ZoneInfo(tz)
    return naive_seconds.map(lambda v: _local_epoch(int(v), zone)).astype("Int64")


@lru_cache(maxsize=None)
def _local_epoch(naive_epoch: int, zone: ZoneInfo) -> int:
    local = datetime(1970, 1, 1) + timedelta(seconds=naive_epoch)
    return int(local.replace(tzinfo=zone, fold=0).timestamp())


def day_start_epoch(day: np.datetime64 | pd.Timestamp, tz: str) -> int:
    """UTC epoch seconds of 00:00 local time on `day` in `tz`."""
    ts = pd.Timestamp(day)
    local = datetime(ts.year, ts.month, ts.day)
    if tz == "UTC":
        return int(local.replace(tzinfo=timezone.utc).timestamp())
    return int(local.replace(tzinfo=ZoneInfo(tz), fold=0).timestamp())


def minutes_to_seconds(value: Decimal) -> int:
    """Decimal minutes to whole seconds, half up."""
    return round_half_up(value * 60)


def to_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return None
