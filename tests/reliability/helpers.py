"""Shared checks of the reliability suite (SPEC §8): row accounting, formula-safe cells,
warehouse snapshots.

Row accounting: every data record of every input file (as `transforms.ingest.csvio.read_records`
splits it, header = line 1, and every broken line it reports) must end up in exactly one bucket:

- `accepted`: a valid row. After ingest + validation (`account_validated`): the typed rows
  of `transforms.validate.validate.validate`, which carry source_file and line. After a run
  (`account_run`): time entries from the warehouse `last_entries`; reference rows are the
  current raw rows not in quarantine (the test then checks them against balances.csv).
  Authorizations have no other trace than "not quarantined";
- `quarantined`: at least one quarantine row names its (source_file, line);
- `superseded`: an earlier version of a time entry replaced by a later file (the warehouse
  `supersessions` table);
- `duplicate_export`: a time entry row that is neither of the above, whose canonical content
  equals the raw row of the accepted version of the same entry_id (an identical re-export).

A file rejected whole (a quarantine row at line 0) accounts for all its records at once, and
then none of them may appear in any other bucket.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from transforms.ingest.csvio import read_records
from transforms.ingest.ingest import inbox_files
from transforms.validate import validate as validate_mod
from transforms.warehouse import RAW_KINDS, current_raw, current_raw_issues

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
#: reason codes of a whole-file rejection (quarantine line 0)
FILE_REASONS = {"empty_file", "invalid_encoding", "nul_byte", "unreadable_csv", "unterminated_quote",
                "missing_column", "duplicate_column"}
#: row-level reasons that concern the whole row (or a physical line that is no record), not one cell
ROW_REASONS = {"wrong_field_count", "unterminated_quote", "invalid_encoding", "unreadable_csv"}


def safe(text: str) -> str:
    """How an input text is written to a CSV output (decisions.md: spreadsheet safety)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def evaluable_cells(path: Path) -> list[tuple[int, str]]:
    """(row number, cell) of every CSV cell a spreadsheet program would evaluate as a formula.

    A cell starting with = + - @ TAB or CR is evaluable unless it is a plain number ('-90',
    '-12.50'): spreadsheets read those as numbers, and the engine writes signed movements so.
    """
    found = []
    with open(path, newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.reader(fh), start=1):
            found += [(n, c) for c in row if c.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(c)]
    return found


# --- row accounting -----------------------------------------------------------------------

@dataclass
class Accounting:
    """Which bucket every input record landed in; `problems()` lists each violation."""

    records: dict[str, list[int]]                      # file -> record lines (read_records)
    kinds: dict[str, str]                              # file -> kind
    rejected: set[str]                                 # files with a line-0 quarantine row
    buckets: dict[str, set[tuple[str, int]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = Counter({name: len(rows) for name, rows in self.buckets.items()})
        out["records"] = sum(len(v) for v in self.records.values())
        out["records_in_rejected_files"] = sum(len(self.records[f]) for f in self.rejected)
        return dict(out)

    def problems(self) -> list[str]:
        problems = []
        known = {(f, line) for f, lines in self.records.items() for line in lines}
        for name, rows in self.buckets.items():
            for f, line in sorted(rows - known):
                problems.append(f"{f}:{line} is in {name} but is no record of the inbox")
        for f, lines in self.records.items():
            for line in lines:
                where = [name for name, rows in self.buckets.items() if (f, line) in rows]
                if f in self.rejected:
                    extra = [w for w in where if w != "quarantined"]
                    if extra:
                        problems.append(f"{f}:{line} is in a rejected file but also in {extra}")
                elif len(where) != 1:
                    problems.append(f"{f}:{line} ({self.kinds[f]}) is in {where or 'no bucket'}")
        return problems


def inbox_records(inbox: Path) -> tuple[dict[str, list[int]], dict[str, str]]:
    """Record lines of every input file of the inbox, and each file's kind."""
    records, kinds = {}, {}
    for rel, kind, path in inbox_files(inbox)[0]:
        content = read_records(path.read_bytes())
        # a broken line (SPEC §8: it costs only itself) is an input record that must be quarantined
        records[rel] = ([r.line for r in content.records] + [b.line for b in content.broken]
                        if content.problem is None else [])
        kinds[rel] = kind
    return records, kinds


def account(inbox: Path, raw: dict[str, pd.DataFrame], quarantine: list[tuple[str, int]],
            accepted: set[tuple[str, int]], superseded: set[tuple[str, int]],
            entry_places: dict[str, tuple[str, int]]) -> Accounting:
    """Accounting of an inbox given where its rows went.

    raw: current raw rows per kind (transforms.warehouse.current_raw); quarantine: the
    (source_file, line) of every quarantine row; accepted: places of accepted customers,
    blocks, rates and entries (authorizations: every raw row not quarantined is accepted);
    entry_places: entry_id -> place of its accepted version.
    """
    records, kinds = inbox_records(inbox)
    rejected = {f for f, line in quarantine if line == 0}
    quarantined = {(f, line) for f, line in quarantine if line != 0}
    quarantined |= {(f, line) for f in rejected for line in records.get(f, [])}
    accepted = accepted | (places(raw["authorizations"]) - quarantined)
    placed = accepted | quarantined | superseded
    return Accounting(records, kinds, rejected, {
        "accepted": accepted, "quarantined": quarantined, "superseded": superseded,
        "duplicate_export": _duplicate_exports(raw["timelogs"], entry_places, placed),
    })


def account_validated(inbox: Path, con: duckdb.DuckDBPyConnection, inputs: validate_mod.Validated) -> Accounting:
    """Accounting of ingest + validation (no run): buckets from the typed tables."""
    raw = {kind: current_raw(con, kind) for kind in RAW_KINDS}
    issues = current_raw_issues(con)
    quarantine = [(f, int(line)) for f, line in zip(issues["source_file"], issues["line"])]
    quarantine += [(f, int(line)) for f, line in zip(inputs.quarantine["source_file"], inputs.quarantine["line"])]
    accepted = places(inputs.customers) | places(inputs.blocks) | places(inputs.rates) | places(inputs.entries)
    entry_places = {e: (f, int(line)) for e, f, line in
                    zip(inputs.entries["entry_id"], inputs.entries["source_file"], inputs.entries["line"])}
    return account(inbox, raw, quarantine, accepted, places(inputs.supersessions), entry_places)


def account_run(inbox: Path, con: duckdb.DuckDBPyConnection, out: Path) -> Accounting:
    """Accounting of a finished nightly run from what it left: OUT quarantine.csv, the
    warehouse `last_entries` (accepted entries with source_file, line) and `supersessions`.
    Accepted reference rows are the current raw rows not in quarantine."""
    raw = {kind: current_raw(con, kind) for kind in RAW_KINDS}
    quarantine = quarantine_pairs(read_csv(out / "quarantine.csv"))
    quarantined = set(quarantine)
    accepted = set()
    for kind in ("customers", "purchases", "rates"):
        accepted |= places(raw[kind]) - quarantined
    entries = con.execute("select entry_id, source_file, line from last_entries").fetchall()
    accepted |= {(f, int(line)) for _, f, line in entries}
    superseded = {(f, int(line)) for f, line in con.execute("select source_file, line from supersessions").fetchall()}
    return account(inbox, raw, quarantine, accepted, superseded, {e: (f, int(line)) for e, f, line in entries})


def places(frame: pd.DataFrame) -> set[tuple[str, int]]:
    return {(f, int(line)) for f, line in zip(frame["source_file"], frame["line"])}


def _duplicate_exports(raw: pd.DataFrame, entry_places: dict[str, tuple[str, int]],
                       placed: set[tuple[str, int]]) -> set[tuple[str, int]]:
    """Raw time-log rows in no other bucket that repeat their accepted version exactly."""
    if raw.empty:
        return set()
    columns = validate_mod.ENTRY_CONTENT_COLUMNS
    by_place = {(f, int(line)): i for i, (f, line) in enumerate(zip(raw["source_file"], raw["line"]))}
    content = raw[columns].fillna("").astype("str").values.tolist()
    out = set()
    for place, i in by_place.items():
        if place in placed:
            continue
        version = entry_places.get(raw["entry_id"].iat[i])
        if version is not None and version != place and content[by_place[version]] == content[i]:
            out.add(place)
    return out


def quarantine_pairs(rows: list[dict[str, str]]) -> list[tuple[str, int]]:
    return [(r["source_file"], int(r["line"])) for r in rows]


def quarantine_naming_problems(inbox: Path, rows: list[dict[str, str]]) -> list[str]:
    """Each quarantine row names an input file, a line, and (unless it is about the whole file
    or the whole row) a canonical column, and shows the cell as it is in that file."""
    problems = []
    files = {rel: (kind, path) for rel, kind, path in inbox_files(inbox)[0]}
    contents = {}
    for r in rows:
        where = f"{r['source_file']}:{r['line']} {r['reason_code']}"
        if r["source_file"] not in files or not r["line"].isdigit():
            problems.append(f"{where}: no such input file or line")
            continue
        kind, path = files[r["source_file"]]
        if r["line"] == "0":
            if r["reason_code"] not in FILE_REASONS:
                problems.append(f"{where}: line 0 but not a file-level reason")
            continue
        if r["reason_code"] in ROW_REASONS:
            continue
        if r["column"] not in validate_mod.COLUMNS[kind]:
            problems.append(f"{where}: column {r['column']!r} is not a column of {kind}")
            continue
        if r["source_file"] not in contents:
            contents[r["source_file"]] = read_records(path.read_bytes())
        content = contents[r["source_file"]]
        record = next((x for x in content.records if x.line == int(r["line"])), None)
        if record is None:
            problems.append(f"{where}: no record starts on that line")
        elif r["column"] in content.header:
            cell = record.cells[content.header.index(r["column"])]
            if r["value"] != safe(cell):
                problems.append(f"{where}: value {r['value'][:40]!r} is not the cell {cell[:40]!r}")
    return problems


# --- warehouse snapshots ------------------------------------------------------------------

#: columns that differ between equivalent histories: sequence values spent by killed runs
#: (DuckDB sequences are not rolled back), wall-clock times, and where a prepaid log's files
#: are on the disk (inode and modification time: `prepaid_log_cache.placed`)
VOLATILE_COLUMNS = {"run_id", "ingested_at", "placed"}
SKIPPED_TABLES = {"runs"}


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every table of a warehouse file except `runs`, as sorted rows of text, with file_id
    replaced by its rank and run_id/ingested_at left out. Opens a copy, never the file."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "w.duckdb"
        shutil.copy(path, copy)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            shutil.copy(wal, copy.with_name(copy.name + ".wal"))
        con = duckdb.connect(str(copy))
        try:
            ranks = dict(con.execute("select file_id, row_number() over (order by file_id) from files").fetchall())
            tables = [t for (t,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' and table_type = 'BASE TABLE' order by 1").fetchall()]
            out = {}
            for table in tables:
                if table in SKIPPED_TABLES:
                    continue
                cur = con.execute(f'select * from "{table}"')
                names = [d[0] for d in cur.description]
                keep = [i for i, n in enumerate(names) if n not in VOLATILE_COLUMNS]
                rows = []
                for row in cur.fetchall():
                    values = [ranks.get(row[i]) if names[i] == "file_id" else row[i] for i in keep]
                    rows.append(tuple(repr(v) for v in values))
                out[table] = [tuple(names[i] for i in keep)] + sorted(rows)
            return out
        finally:
            con.close()


# --- comparing two runs' results ----------------------------------------------------------

#: run.json fields that differ between two runs of the same inputs: wall-clock times and the
#: Prefect flow run
RUN_JSON_VOLATILE = ("started_at", "timings_seconds", "flow_run_id")
#: warehouse tables of a run's results besides the `last_*` marts
RESULT_TABLES = ("quarantine", "supersessions", "documents", "document_lines")


def out_differences(a: Path, b: Path) -> list[str]:
    """Each file that differs between two OUT folders, with its first differing line; run.json
    is compared without RUN_JSON_VOLATILE."""
    import json

    files = {side: {p.relative_to(side).as_posix() for p in side.rglob("*") if p.is_file()} for side in (a, b)}
    problems = [f"{rel}: only in {side.parent.name}/{side.name}"
                for side, other in ((a, b), (b, a)) for rel in sorted(files[side] - files[other])]
    for rel in sorted(files[a] & files[b]):
        left, right = (a / rel).read_bytes(), (b / rel).read_bytes()
        if rel == "run.json":
            left, right = (json.loads(x) for x in (left, right))
            for volatile in RUN_JSON_VOLATILE:
                left.pop(volatile, None), right.pop(volatile, None)
            left, right = (json.dumps(x, indent=2, sort_keys=True).encode() for x in (left, right))
        if left != right:
            problems.append(f"{rel}: {first_difference(left, right)}")
    return problems


def first_difference(left: bytes, right: bytes) -> str:
    """Where two different files first differ: a line of text, a line of a zip member's XML
    (XLSX) split at its tags, or a byte offset."""
    import io
    import zipfile

    if left[:2] == right[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(left)) as za, zipfile.ZipFile(io.BytesIO(right)) as zb:
            names_a, names_b = za.namelist(), zb.namelist()
            if names_a != names_b:
                return f"zip members {names_a} != {names_b}"
            for name in names_a:
                ma, mb = za.read(name), zb.read(name)
                if ma != mb:
                    return f"member {name}, " + first_difference(ma.replace(b"><", b">\n<"), mb.replace(b"><", b">\n<"))
            return "same members, different zip metadata (times, order, compression)"
    lines_a, lines_b = left.split(b"\n"), right.split(b"\n")
    for n, (la, lb) in enumerate(zip(lines_a, lines_b), start=1):
        if la != lb:
            offset = next(i for i, (x, y) in enumerate(zip(la + b"\0", lb + b"\1")) if x != y)
            return f"line {n}: {la[max(0, offset - 80):offset + 80]!r} != {lb[max(0, offset - 80):offset + 80]!r}"
    return f"{len(lines_a)} lines != {len(lines_b)} lines"


def mart_differences(a: Path, b: Path) -> list[str]:
    """Each result table (`last_*` marts and RESULT_TABLES) that differs between two
    warehouses, with its first differing row (rows sorted)."""
    contents = []
    for path in (a, b):
        con = duckdb.connect(str(path), read_only=True)
        try:
            tables = {t for (t,) in con.execute("select table_name from information_schema.tables where "
                                                "table_schema = 'main' and table_type = 'BASE TABLE'").fetchall()}
            tables = sorted(t for t in tables if t.startswith("last_") or t in RESULT_TABLES)
            contents.append({t: con.execute(f'select * from "{t}" order by all').fetchall() for t in tables})
        finally:
            con.close()
    left, right = contents
    problems = [f"table {t}: only in {p.parent.name}/{p.name}"
                for p, x, y in ((a, left, right), (b, right, left)) for t in sorted(x.keys() - y.keys())]
    for table in sorted(left.keys() & right.keys()):
        if left[table] != right[table]:
            rows = [(x, y) for x, y in zip(left[table], right[table]) if x != y]
            where = f"first different row {rows[0][0]} != {rows[0][1]}" if rows else \
                f"{len(left[table])} rows != {len(right[table])} rows"
            problems.append(f"table {table}: {where}")
    return problems
