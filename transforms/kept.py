"""Time-log rows typed once per file version, kept in the warehouse.

Typing a row (parsing its times, durations and flags, checking it against itself and its own
file) depends only on its file version and the business time zone, so a night types only the
file versions it has not typed before and reads the others back: time logs are history, and
most of a night's rows were typed on an earlier night. What depends on other files (the
customer a reference names, the currency, which version of an entry is in force) is decided
again every night in `validate.finish_timelogs`. `RULES` names the version of the typing
rules: a change to them, or to the time zone, retypes every file version.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from transforms import progress
from transforms.validate import ENTRY_CONTENT_COLUMNS, TYPED_TIMELOG_COLUMNS, TypedTimelogs, type_timelogs
from transforms.warehouse import raw_rows, sql

log = progress.logger(__name__)

#: bump when `validate.type_timelogs` changes what it makes of a row
RULES = 1

TEXT = ["entry_id", "user", "service", "incident_id", "project", "task", "description"]
INSTANTS = ["started_at", "ended_at", "authorized_at"]
FLAGS = ["billable", "billed_elsewhere"]
COLUMNS = TYPED_TIMELOG_COLUMNS
ISSUE_COLUMNS = ["file_id", "source_file", "line", "column", "value", "reason_code", "detail"]


def typed_timelogs(con: duckdb.DuckDBPyConnection, tz: str, recompute: bool = False) -> TypedTimelogs:
    """Every current time-log row, typed: new file versions typed now and kept, the others
    read back. `recompute` forgets what was kept and types everything again."""
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
    return _read_back(con)


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
    raw = raw_rows(con, "timelogs", file_ids)
    rows, local, schema = type_timelogs(raw, tz)
    frame = rows[COLUMNS].copy()
    for column in TEXT + ["source_file", "customer_id", "currency"]:
        frame[column] = frame[column].astype("object").where(frame[column].notna(), None)
    content = ", ".join(f'coalesce(r."{c}", \'\')' for c in ENTRY_CONTENT_COLUMNS)
    # `frame` and the other frames below are read by DuckDB's scan of this function's variables,
    # not `con.register`: DuckDB keeps a registered frame alive until the transaction ends, and
    # a run is one transaction, so every typed batch of a first night would stay in memory
    con.execute(f"""
        insert into typed_timelogs
        select t.file_id, t.source_file, t.line, t.entry_id, t."user", t.service, t.started_at, t.ended_at,
               t.billable, t.incident_id, t.authorized_at, t.project, t.task, t.description,
               t.billed_elsewhere, t.duration_seconds, t.local_ok, t.customer_id, t.currency,
               sha256(to_json(list_value({content})))
        from frame t
        join raw_timelogs r using (file_id, line)""")
    issues = pd.concat([local.assign(schema=False), schema.assign(schema=True)], ignore_index=True)
    issues = issues[ISSUE_COLUMNS + ["schema"]].astype({"file_id": "int64", "line": "int64"})
    con.execute("insert into typed_timelog_issues select * from issues")
    con.executemany("insert into typed_timelog_files values (?, ?, ?)", [[f, tz, RULES] for f in file_ids])
    log.debug("typed %s time-log row(s) of %s new file version(s)", len(rows), len(file_ids))


#: text columns read back through a dictionary of their distinct values: rows repeat a few
#: files, users, services, customers and descriptions, and one Python string per distinct value
#: (shared by its rows) instead of one per row keeps the whole history's rows small. entry_id
#: is unique per row and is read as it is.
DICTIONARY = ["source_file", "user", "service", "incident_id", "project", "task", "description", "customer_id",
              "currency"]


def _read_back(con: duckdb.DuckDBPyConnection) -> TypedTimelogs:
    uniques, joins, codes = {}, [], []
    for i, name in enumerate(DICTIONARY):
        con.execute(f"""
            create or replace temp table _dict_{i} as
            select value, (row_number() over (order by value) - 1)::bigint as code
            from (select distinct "{name}" as value from typed_timelogs where "{name}" is not null)""")
        uniques[name] = [v for (v,) in con.execute(f"select value from _dict_{i} order by code").fetchall()]
        joins.append(f'left join _dict_{i} on _dict_{i}.value = t."{name}"')
        codes.append(f'_dict_{i}.code as "{name}"')
    epochs = ", ".join(f"epoch_ms(t.{c}) // 1000 as {c}" for c in INSTANTS)
    plain = ", ".join(f't."{c}"' for c in COLUMNS if c not in INSTANTS and c not in DICTIONARY)
    arrays = con.execute(f"""
        select {plain}, {epochs}, {", ".join(codes)}
        from typed_timelogs t {" ".join(joins)}
        order by t.file_id, t.line""").fetchnumpy()
    for i in range(len(DICTIONARY)):
        con.execute(f"drop table _dict_{i}")
    columns = {}
    for name in COLUMNS:
        values = arrays.pop(name)
        mask = np.ma.getmaskarray(values)
        data = np.ma.getdata(values)
        if name in ("file_id", "line"):
            columns[name] = data.astype("int64")
        elif name in INSTANTS:
            seconds = pd.Series(data.astype("int64").astype("datetime64[s]")).where(~mask, pd.NaT)
            columns[name] = seconds.dt.tz_localize("UTC")
        elif name in FLAGS:
            columns[name] = pd.array(np.where(mask, None, data), dtype="boolean")
        elif name == "duration_seconds":
            columns[name] = pd.array(np.where(mask, None, data), dtype="Int64")
        elif name == "local_ok":
            columns[name] = data.astype(bool)
        elif name in DICTIONARY:
            table = np.array([*uniques[name], pd.NA if name in TEXT else None], dtype=object)
            columns[name] = pd.Series(table[np.where(mask, len(table) - 1, data)], dtype=object)
        elif name in TEXT:
            columns[name] = pd.Series(np.where(mask, pd.NA, data), dtype=object)
        else:
            columns[name] = pd.Series(np.where(mask, None, data), dtype=object)
    rows = pd.DataFrame(columns)[COLUMNS]
    issues = con.execute("select * from typed_timelog_issues order by file_id, line").df()
    local = issues[~issues["schema"]].drop(columns=["schema"]).reset_index(drop=True)
    schema = issues[issues["schema"]].drop(columns=["schema"]).reset_index(drop=True)
    return TypedTimelogs(rows, local, schema, cells=lambda labels: _by_label(con, rows, labels, "raw_timelogs", "r.*"),
                         content=lambda labels: _by_label(con, rows, labels, "typed_timelogs", "r.content")["content"])


def _by_label(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, labels: pd.Index, table: str,
              select: str) -> pd.DataFrame:
    """Columns of `table` for the rows of `labels` (matched by file_id and line), indexed by label."""
    want = rows.loc[labels, ["file_id", "line"]].rename_axis("label").reset_index()
    # `want`: read as this function's variable (see _type_and_keep)
    found = con.execute(f"select w.label, {select} from want w join {table} r using (file_id, line)").df()
    return found.set_index("label").reindex(labels)
