"""Time-log rows typed once per file version, kept in the warehouse.

Typing a row (parsing its times, durations and flags, checking it against itself and its own
file) depends only on its file version and the business time zone, so a night types only the
file versions it has not typed before: time logs are history, and most of a night's rows were
typed on an earlier night. What depends on other files (the customer a reference names, the
currency, which version of an entry is in force) is decided again every night, in SQL over the
kept rows (`Entries`), so the history's rows stay in the warehouse. `RULES` names the version
of the typing rules: a change to them, or to the time zone, retypes every file version.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd

from transforms import progress
from schemas.inputs import ENTRY_SCHEMA, MAX_ENTRY_SECONDS
from transforms.validate import parse
from transforms.validate.parse import FALSE_WORDS, TRUE_WORDS
from transforms.validate.validate import (DURATION_TOLERANCE_SECONDS, ENTRY_CONTENT_COLUMNS, QUARANTINE_COLUMNS,
                                           _latest_labels, resolve_references,
                                           schema_rejects, type_timelogs)
from transforms.warehouse import raw_frame, sql, store_frame

log = progress.logger(__name__)

#: bump when `validate.type_timelogs` changes what it makes of a row
RULES = 1

TEXT = ["entry_id", "user", "service", "incident_id", "project", "task", "description"]
INSTANTS = ["started_at", "ended_at", "authorized_at"]
FLAGS = ["billable", "billed_elsewhere"]
ISSUE_COLUMNS = ["file_id", "source_file", "line", "column", "value", "reason_code", "detail"]


def typed_timelogs(con: duckdb.DuckDBPyConnection, tz: str, recompute: bool = False) -> Entries:
    """Every current time-log row, typed: new file versions typed now and kept, the others
    as earlier nights kept them. `recompute` forgets what was kept and types everything again."""
    con.execute(sql("kept/schema.sql"))
    stale = "true" if recompute else "tz <> $tz or rules <> $rules"
    params = {} if recompute else {"tz": tz, "rules": RULES}
    for table in ("typed_timelogs", "typed_timelog_issues"):
        con.execute(f"delete from {table} where file_id in (select file_id from typed_timelog_files where {stale})",
                    params)
    con.execute(f"delete from typed_timelog_files where {stale}", params)
    new = con.execute("""
        select file_id, row_count from files
        where kind = 'timelogs' and not rejected and file_id not in (select file_id from typed_timelog_files)
        order by file_id""").fetchall()
    for batch in _batches(new):
        _type_and_keep(con, batch, tz)
    return Entries(con)


#: rows typed at a time: a first night of a large history holds one batch's raw and typed
#: rows in memory, not all of them
BATCH_ROWS = 200_000


def _batches(files: list[tuple[int, int]]) -> list[list[int]]:
    """File versions in order, grouped into batches of about BATCH_ROWS rows (a file whole)."""
    batches, rows = [], 0
    for file_id, count in files:
        if not batches or rows + count > BATCH_ROWS:
            batches.append([])
            rows = 0
        batches[-1].append(file_id)
        rows += count
    return batches


def _type_and_keep(con: duckdb.DuckDBPyConnection, file_ids: list[int], tz: str) -> None:
    con.execute("create or replace temp table _wanted_files as select unnest(?::bigint[]) as file_id", [file_ids])
    cells = con.execute(_cells_sql()).fetchnumpy()
    fast, typed_fast = _type_plain(cells, tz)
    # every other row is typed by `type_timelogs`, which words each issue; a plain row has none
    slow = pd.DataFrame({"file_id": np.asarray(cells["file_id"], dtype="int64")[~fast],
                         "line": np.asarray(cells["line"], dtype="int64")[~fast]})
    del cells
    if len(slow):
        # `slow` and the frames below are read by DuckDB's scan of this function's variables, not
        # `con.register`: DuckDB keeps a registered frame alive until the transaction ends, and a
        # run is one transaction, so every typed batch of a first night would stay in memory
        con.execute("create or replace temp table _slow_rows as select * from slow")
        raw = raw_frame(con, "select r.* from raw_timelogs r join _slow_rows s using (file_id, line) "
                              "order by r.file_id, r.line")
        rows, local, schema = type_timelogs(raw, tz)
        del raw
        typed = pd.concat([typed_fast, rows[typed_fast.columns]], ignore_index=True)
        issues = pd.concat([local.assign(schema=False), schema.assign(schema=True)], ignore_index=True)
        issues = issues[ISSUE_COLUMNS + ["schema"]].astype({"file_id": "int64", "line": "int64"})
        if len(issues):
            con.execute("insert into typed_timelog_issues select * from issues")
    else:
        typed = typed_fast
    # only the typed (non-text) columns go back to DuckDB: a text column of a typed row is its
    # raw cell, blank as NULL (`_text`), so it is taken from raw_timelogs
    text = ", ".join(f'nullif(r."{c}", \'\') as "{c}"' for c in TEXT)
    content = ", ".join(f'coalesce(r."{c}", \'\')' for c in ENTRY_CONTENT_COLUMNS)
    con.execute(f"""
        insert into typed_timelogs by name
        select t.*, r.source_file, r.customer_id, r.currency, {text},
               sha256(to_json(list_value({content}))) as content
        from typed t
        join raw_timelogs r using (file_id, line)
        where r.file_id in (select file_id from _wanted_files)""")
    con.executemany("insert into typed_timelog_files values (?, ?, ?)", [[f, tz, RULES] for f in file_ids])
    log.debug("typed %s time-log row(s) of %s new file version(s)", len(typed), len(file_ids))


def _is_word_sql(v: str) -> str:
    """SQL: a flag cell parse_bool reads (blank, or a true or false word in any case). ASCII
    only, where DuckDB's lower() and Python's agree."""
    words = ", ".join(f"'{w}'" for w in sorted(TRUE_WORDS | FALSE_WORDS))
    return f"(coalesce({v}, '') = '' or (regexp_full_match({v}, '[A-Za-z0-9]+') and lower({v}) in ({words})))"


def _flag_sql(v: str, default: bool) -> str:
    words = ", ".join(f"'{w}'" for w in sorted(TRUE_WORDS))
    return f"(case when coalesce({v}, '') = '' then {str(default).lower()} else lower({v}) in ({words}) end)"


def _cells_sql() -> str:
    """The rows of the files in `_wanted_files`, in file and line order, with what `_type_plain`
    needs of them. `plain`: a row whose every cell has the usual shape, which no check of
    `type_timelogs` can fault but those of its instants in the time zone and of its duration
    (made by `_type_plain`): the required cells and the customer reference given, times without a UTC offset in the
    supported years, an end time or a decimal duration, flags blank or a word, an entry_id once
    in its file."""
    given = lambda v: f"coalesce({v}, '') <> ''"   # noqa: E731
    years = parse.naive_in_supported_years_sql
    return f"""
        select file_id, line, source_file, entry_id, customer_id, "user", service,
               nullif(incident_id, '') as incident_id, started, ended, authorized,
               {_flag_sql("billable", True)} as billable, {_flag_sql("billed_elsewhere", False)} as billed_elsewhere,
               nullif(duration_minutes, '') as minutes,
               plain and count(*) over (partition by file_id, entry_id) = 1 as plain
        from (
            select *,
                   {given("entry_id")} and {given('"user"')} and {given("service")} and {given("customer_id")}
                   and {years("started")}
                   and ({years("ended")} or (not {given("ended_at")} and {given("duration_minutes")}))
                   and (not {given("authorized_at")} or {years("authorized")})
                   and (not {given("duration_minutes")}
                        or regexp_full_match(duration_minutes, '{parse.DECIMAL}'))
                   and {_is_word_sql("billable")} and {_is_word_sql("billed_elsewhere")} as plain
            from (select file_id, line, source_file, entry_id, customer_id, "user", service, incident_id,
                         ended_at, authorized_at, duration_minutes, billable, billed_elsewhere,
                         {parse.plain_timestamp_sql("started_at")} as started,
                         {parse.plain_timestamp_sql("ended_at")} as ended,
                         {parse.plain_timestamp_sql("authorized_at")} as authorized
                  from raw_timelogs where file_id in (select file_id from _wanted_files))
        )
        order by file_id, line"""


def _type_plain(cells: dict, tz: str) -> tuple[np.ndarray, pd.DataFrame]:
    """The plain rows of `cells` (see `_cells_sql`) typed as `type_timelogs` types them, without
    an issue: which rows those are, and their typed columns. A plain row that a check of the
    time zone's instants or the schema would fault is left to `type_timelogs`."""
    plain = np.ma.filled(cells["plain"], False).astype(bool)
    at = np.flatnonzero(plain)

    def column(name):
        return cells[name][at]

    def instants(name):
        naive = column(name)
        known = ~np.ma.getmaskarray(naive)
        values = np.full(len(at), np.datetime64("NaT"), dtype="datetime64[s]")
        values[known] = parse.local_epochs(np.ma.getdata(naive)[known], tz).astype("datetime64[s]")
        return pd.Series(values).dt.tz_localize("UTC"), known

    started, _ = instants("started")
    ended, has_end = instants("ended")
    authorized, _ = instants("authorized")
    far = np.zeros(len(at), dtype=bool)
    for values in (started, ended, authorized):
        far |= parse.outside_supported_years(values).to_numpy()
    by_end = (ended - started).dt.total_seconds().astype("Int64")
    minutes = pd.Series(np.where(np.ma.getmaskarray(column("minutes")), None, np.ma.getdata(column("minutes"))),
                        dtype=object)
    distinct = {m: parse.minutes_to_seconds(Decimal(m)) for m in minutes.dropna().unique()}
    by_minutes = minutes.map(distinct, na_action="ignore").astype("Int64")
    duration = by_end.where(pd.Series(has_end), by_minutes)
    # what `type_timelogs` would report: a conflict of end and duration, over 24 h, negative
    conflict = by_end.notna() & by_minutes.notna() & ((by_end - by_minutes).abs() > DURATION_TOLERANCE_SECONDS)
    faulted = (far | conflict | (duration > MAX_ENTRY_SECONDS) | (duration < 0)).to_numpy(dtype=bool, na_value=True)
    typed = pd.DataFrame({
        "file_id": np.asarray(column("file_id"), dtype="int64"), "line": np.asarray(column("line"), dtype="int64"),
        "started_at": started, "ended_at": ended, "authorized_at": authorized,
        **{flag: pd.array(np.ma.filled(column(flag), False).astype(bool), dtype="boolean") for flag in FLAGS},
        "duration_seconds": duration, "local_ok": True})
    # the schema is the contract of the typed rows, plain ones too
    origin = {name: np.where(np.ma.getmaskarray(column(name)), None, np.ma.getdata(column(name)))
              for name in ("source_file", "entry_id", "customer_id", "user", "service", "incident_id")}
    schema_input = typed[~faulted].assign(**{name: values[~faulted] for name, values in origin.items()}).astype(
        {"entry_id": "str", "customer_id": "str", "user": "str", "service": "str"})
    faulted[np.flatnonzero(~faulted)[schema_rejects(ENTRY_SCHEMA, schema_input)]] = True
    plain[at[faulted]] = False
    return plain, typed[~faulted].reset_index(drop=True)


class Entries:
    """The time entries in force, decided in SQL over the kept typed rows (SPEC §2, §8).

    `finish` resolves each row's customer reference and checks its currency, then keeps the
    last valid version of each entry_id as temp table `valid_entries` (sql/kept/). Only the
    distinct references, the repeated versions and the quarantine leave the warehouse, so a
    night's memory does not follow the size of the history.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def finish(self, customers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Temp table `valid_entries`; returns the supersessions and the quarantine rows of
        the time logs (each row's own issues, its reference's and its currency's, and the
        schema's for rows whose customer is known)."""
        con = self.con
        references = [r for (r,) in con.execute(sql("kept/references.sql")).fetchall()]
        store_frame(con, "timelog_references", resolve_references(references, customers, by_name=True),
                    {"reference": "varchar", "customer_id": "varchar", "reason_code": "varchar", "detail": "varchar"})
        store_frame(con, "timelog_customers", customers, {"customer_id": "varchar", "currency": "varchar"})
        con.execute(sql("kept/timelog_verdicts.sql"))
        con.execute(sql("kept/valid_entries.sql"))
        quarantine = con.execute(sql("kept/timelog_quarantine.sql")).df()
        quarantine = quarantine.astype({"line": "int64"})
        return self._supersessions(), quarantine[QUARANTINE_COLUMNS]

    def _supersessions(self) -> pd.DataFrame:
        versions = self.con.execute(sql("kept/entry_versions.sql")).df()
        versions["line"] = versions["line"].astype("int64")
        _, supersessions = _latest_labels(versions, "entry_id", ENTRY_CONTENT_COLUMNS, "entry",
                                          cells=lambda labels: _by_label(self.con, versions, labels,
                                                                         "raw_timelogs", "r.*"),
                                          content=lambda labels: versions.loc[labels, "content"])
        return supersessions

    def known(self, entry_ids: pd.Series) -> set[str]:
        """Which of `entry_ids` are entries in force."""
        wanted = pd.DataFrame({"entry_id": entry_ids.dropna().astype("object").unique()})
        # `wanted`: read as this method's variable (see _type_and_keep)
        return {e for (e,) in self.con.execute(
            "select entry_id from valid_entries where entry_id in (select entry_id from wanted)").fetchall()}

    def authorize(self, authorizations: pd.DataFrame) -> None:
        """authorizations.csv adds or overrides authorized_at; the last row of an entry wins."""
        last = authorizations.drop_duplicates("entry_id", keep="last")[["entry_id", "authorized_at"]]
        store_frame(self.con, "entry_authorizations", last, {"entry_id": "varchar", "authorized_at": "timestamptz"})
        self.con.execute("""
            update valid_entries e set authorized_at = a.authorized_at
            from entry_authorizations a where a.entry_id = e.entry_id""")

    def services(self) -> pd.Series:
        """Entries per service (named ones), by service."""
        counts = self.con.execute("""
            select service, count(*) from valid_entries where service is not null group by service
            order by service""").fetchall()
        return pd.Series({s: n for s, n in counts}, dtype="int64")

    def count(self) -> int:
        return self.con.execute("select count(*) from valid_entries").fetchone()[0]

    def frame(self) -> pd.DataFrame:
        """`valid_entries` as a frame (validation without a warehouse: tests, one customer's log)."""
        frame = self.con.execute("select * from valid_entries order by entry_id").df()
        for column in INSTANTS:
            frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
        for column in FLAGS:
            frame[column] = frame[column].astype("boolean")
        frame["duration_seconds"] = frame["duration_seconds"].astype("Int64")
        frame["line"] = frame["line"].astype("int64")
        for column in TEXT + ["source_file", "customer_id"]:
            frame[column] = frame[column].astype("object").where(frame[column].notna(), pd.NA)
        return frame.astype({"entry_id": "str", "customer_id": "str", "user": "str", "service": "str"})


def in_memory(raw: pd.DataFrame, tz: str) -> Entries:
    """The same as a night over a warehouse, for raw time-log rows without one: typed and kept
    in an in-memory DuckDB."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    types = {c: ("bigint" if c in ("file_id", "line") else "varchar") for c in raw.columns}
    store_frame(con, "raw_timelogs", raw, types, temp=False)
    con.execute(sql("kept/schema.sql"))
    file_ids = sorted(int(f) for f in raw["file_id"].unique())
    if file_ids:
        _type_and_keep(con, file_ids, tz)
    return Entries(con)


def _by_label(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, labels: pd.Index, table: str,
              select: str) -> pd.DataFrame:
    """Columns of `table` for the rows of `labels` (matched by file_id and line), indexed by label."""
    want = rows.loc[labels, ["file_id", "line"]].rename_axis("label").reset_index()
    # `want`: read as this function's variable (see _type_and_keep)
    found = con.execute(f"select w.label, {select} from want w join {table} r using (file_id, line)").df()
    return found.set_index("label").reindex(labels)
