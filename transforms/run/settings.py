"""Settings of the warehouse that its first run fixes (SPEC §2): the business time zone, and the
billing cutover date.

Both decide how history is read: the zone turns every offset-less timestamp into an instant,
and the cutover says which work was billed by the system used before this one. Changing either
on a later run would silently re-read and rebill history, so a run given another value is
refused; `prepaid settings` changes a value explicitly, and every value ever set is kept in
`setting_changes` with the run that set it and why.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from transforms.run.errors import Refused

TZ = "tz"
BILLING_STARTS = "billing_starts"
DEFAULTS = {TZ: "UTC", BILLING_STARTS: None}
OPTIONS = {TZ: "--tz", BILLING_STARTS: "--billing-starts"}
DESCRIPTIONS = {TZ: "business time zone", BILLING_STARTS: "billing cutover date"}

SCHEMA = """
create table if not exists setting_changes (
    run_id bigint not null,
    name varchar not null,          -- tz | billing_starts
    value varchar,                  -- null: not set (billing_starts: every entry is invoiced)
    changed_at timestamptz not null,
    reason varchar not null
)
"""


class UnknownZone(Refused):
    """A time zone name that is not in the IANA database."""


def check_zone(name: str) -> str:
    """`name` when it is an IANA time zone; else UnknownZone, one line."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownZone(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin, "
                          f"America/New_York or UTC") from None
    return name


def current(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str | None, int, datetime]]:
    """Each setting ever set: (value, run that set it, when)."""
    con.execute(SCHEMA)
    rows = con.execute("""
        select name, value, run_id, changed_at from setting_changes
        qualify row_number() over (partition by name order by run_id desc, changed_at desc) = 1
    """).fetchall()
    return {name: (value, run_id, at) for name, value, run_id, at in rows}


def _text(name: str, value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def resolve(con: duckdb.DuckDBPyConnection, run_id: int, given: dict[str, object]) -> dict[str, str | None]:
    """The run's settings: the stored ones; on the warehouse's first run, the given ones (or the
    defaults), recorded. A given value that differs from the stored one is refused (exit 2)."""
    stored = current(con)
    resolved = {}
    for name, default in DEFAULTS.items():
        value = _text(name, given.get(name))
        if name == TZ and value is not None:
            check_zone(value)
        if name not in stored:
            resolved[name] = value if value is not None else default
            _record(con, run_id, name, resolved[name], "fixed by the warehouse's first run")
            continue
        was, by_run, _ = stored[name]
        if value is not None and value != was:
            raise Refused(
                f"the {DESCRIPTIONS[name]} of this warehouse is {was or 'not set'} (set by run {by_run}); "
                f"{OPTIONS[name]} {value} would re-read history: change it with "
                f"`prepaid settings {OPTIONS[name]} {value} --reason TEXT`")
        resolved[name] = was
    return resolved


def change(con: duckdb.DuckDBPyConnection, run_id: int, name: str, value, reason: str
           ) -> tuple[str | None, str | None]:
    """Record a new value of a setting (the explicit command); returns (old value, new value)."""
    value = _text(name, value)
    if name == TZ:
        check_zone(value)
    old = current(con).get(name, (None,))[0]
    _record(con, run_id, name, value, reason)
    return old, value


def _record(con: duckdb.DuckDBPyConnection, run_id: int, name: str, value: str | None, reason: str) -> None:
    con.execute("insert into setting_changes values (?, ?, ?, ?, ?)",
                [run_id, name, value, datetime.now(timezone.utc), reason])


def stored_zone(con: duckdb.DuckDBPyConnection) -> str | None:
    return current(con).get(TZ, (None,))[0]
