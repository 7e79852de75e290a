"""Ingest the inbox into the warehouse's raw tables (SPEC §2, §8, §9).

Each file is read once per content: a file whose latest ingested version has the same
SHA-256 adds nothing. Rows are stored as trimmed strings under their canonical column names
with their source file and physical line; reading problems go to `raw_issues`.
The caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from transforms import progress
from transforms.ingest import trackers
from transforms.ingest.csvio import edge_whitespace, decode, parse_text_by_row, read_records, sniff_delimiter
from transforms.validate.validate import COLUMNS, missing_columns
from transforms.warehouse import store_frame

REFERENCE_FILES = {
    "customers.csv": "customers",
    "purchases.csv": "purchases",
    "rates.csv": "rates",
    "authorizations.csv": "authorizations",
}
TRACKER_MAPPING_FILE = "trackers.toml"
ISSUE_TYPES = {"file_id": "bigint", "source_file": "varchar", "line": "bigint", "column": "varchar", "value": "varchar",
               "reason_code": "varchar", "detail": "varchar", "lines": "bigint"}
#: read by transforms/documents/seller.py at the start of a run, not ingested as rows
SETTINGS_FILES = (TRACKER_MAPPING_FILE, "seller.toml")


class InboxError(RuntimeError):
    """The inbox cannot be read at all."""


@dataclass
class IngestSummary:
    files_seen: int = 0
    files_ingested: list[str] = field(default_factory=list)
    files_unchanged: list[str] = field(default_factory=list)
    rows_added: Counter = field(default_factory=Counter)
    issues_added: int = 0
    ignored: list[str] = field(default_factory=list)


def inbox_files(inbox: Path) -> tuple[list[tuple[str, str, Path]], list[str]]:
    """(relative name, kind, path) of input files in reading order, and ignored names."""
    if not inbox.is_dir():
        raise InboxError(f"inbox {inbox} does not exist or is not a folder")
    found, ignored = [], []
    for path in sorted(inbox.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(inbox).as_posix()
        if rel in REFERENCE_FILES:
            found.append((rel, REFERENCE_FILES[rel], path))
        elif rel.startswith("timelogs/") and rel.lower().endswith(".csv"):
            found.append((rel, "timelogs", path))
        elif rel not in SETTINGS_FILES:
            ignored.append(rel)
    order = {k: i for i, k in enumerate(["customers", "purchases", "rates", "timelogs", "authorizations"])}
    found.sort(key=lambda f: (order[f[1]], f[0]))
    return found, ignored


def load_tracker_mapping(inbox: Path) -> dict:
    path = inbox / TRACKER_MAPPING_FILE
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InboxError(f"{path}: cannot read tracker mapping: {exc}") from exc


def ingest(con: duckdb.DuckDBPyConnection, inbox: Path, run_id: int) -> IngestSummary:
    """Add new file versions of the inbox to the raw tables."""
    files, ignored = inbox_files(inbox)
    mapping = load_tracker_mapping(inbox)
    summary = IngestSummary(files_seen=len(files), ignored=ignored)
    latest = dict(con.execute(
        "select source_file, arg_max(sha256, file_id) from files group by source_file"
    ).fetchall())
    for rel, kind, path in progress.track(files, describe=lambda f: f[0]):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if latest.get(rel) == digest:
            summary.files_unchanged.append(rel)
            continue
        file_id = con.execute("select nextval('file_id_seq')").fetchall()[0][0]
        count = _insert_plain_csv(con, kind, file_id, rel, data)
        if count is not None:
            issues, tracker = [], None
        else:
            rows, issues, tracker = _read_file(kind, data, mapping)
            _insert_rows(con, kind, file_id, rel, rows)
            count = len(rows)
        rejected = any(i["line"] == 0 for i in issues)
        con.execute(
            "insert into files values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [file_id, rel, kind, digest, tracker, count, rejected, run_id,
             datetime.now(timezone.utc)],
        )
        if issues:
            frame = pd.DataFrame(issues, columns=["line", "column", "value", "reason_code", "detail"])
            frame.insert(0, "source_file", rel)
            frame.insert(0, "file_id", file_id)
            # the input lines each issue stands for: a file rejected whole loses all its lines
            frame["lines"] = [data_lines(data) if line == 0 else 1 for line in frame["line"]]
            store_frame(con, "new_issues", frame, ISSUE_TYPES)
            con.execute('insert into raw_issues by name select * from new_issues')
            con.execute("drop table new_issues")
        summary.files_ingested.append(rel)
        summary.rows_added[kind] += count
        summary.issues_added += len(issues)
    return summary


#: characters Python's str.strip() removes (str.isspace()), listed (for DuckDB's `contains`);
#: a test checks them against every Unicode character
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200b))) \
    + "\u2028\u2029\u202f\u205f\u3000"
#: the same characters as an RE2 character class
WHITESPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"
#: a CSV cell in double quotes, doubled quotes inside (RFC 4180)
_QUOTED_CELL = re.compile(r'"[^"]*(?:""[^"]*)*"')


#: smaller files are read by Python: DuckDB's reader has a fixed cost per file that only
#: pays off on larger ones (figures in docs/decisions.md, "Reading large plain files")
PLAIN_CSV_FROM_BYTES = 1 << 20


def _insert_plain_csv(con: duckdb.DuckDBPyConnection, kind: str, file_id: int, rel: str,
                      data: bytes, min_bytes: int = PLAIN_CSV_FROM_BYTES) -> int | None:
    """Rows of a plain file inserted by DuckDB's CSV reader; None when the file is not plain.

    Plain: UTF-8 without control characters, no blank lines, no lone CR, quotes only around
    whole cells, every record as wide as the header, and the header has the canonical column
    names. On such a file DuckDB reads exactly what `csvio.parse_text` reads (the line of a
    record follows from the line breaks inside earlier cells; tests compare both readers),
    about ten times faster. Every other file, and every file under `min_bytes`, takes the
    Python reader, which reports each problem with its line.
    """
    if len(data) < min_bytes or _CONTROL_BYTES.search(data):
        return None
    text, problem = decode(data)
    if problem is not None or not text:
        return None
    header_line, _, _ = text.partition("\n")
    delimiter = sniff_delimiter(header_line)
    header = parse_text_by_row(header_line).header
    if not header or missing_columns(kind, list(header)) or len(set(header)) != len(header) or "" in header:
        return None
    if text.count("\r") != text.count("\r\n"):
        return None
    if '"' in text and not _quotes_around_whole_cells(text, delimiter):
        return None
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    positions = {name: header.index(name) for name in COLUMNS[kind] if name in header}
    trim = edge_whitespace(delimiter).search(text) is not None
    edges = f"'^{WHITESPACE_CLASS}+|{WHITESPACE_CLASS}+$'"
    # the regular expression only where the first or last character is whitespace: most cells
    # have none, and the regular expression is most of the read's cost
    edge = (lambda i: f"(contains('{WHITESPACE}', c{i}[1]) or contains('{WHITESPACE}', c{i}[-1]))")
    stripped = (lambda i: f"case when {edge(i)} then regexp_replace(c{i}, {edges}, '', 'g') else c{i} end") \
        if trim else (lambda i: f"c{i}")
    names = ", ".join(f'"{c}"' for c in positions)
    trimmed = ", ".join(f"{stripped(i)} as s{i}" for i in range(len(header)))
    cells = ", ".join(f"nullif(s{i}, '')" for i in positions.values())
    # blank rows (every cell empty or whitespace) are skipped, as parse_text skips them
    given = " or ".join(f"coalesce(s{i}, '') <> ''" for i in range(len(header)))
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
    reader = (f"read_csv(?, header = true, auto_detect = false, columns = {columns}, delim = ?, "
              "quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
              "max_line_size = 16777216)")
    # line breaks inside the cells of a row: a plain file has no lone CR (checked above), so
    # every line break is one LF (alone or after a CR), counted once over the row's cells joined
    row_text = "concat(" + ", ".join(f"c{i}" for i in range(len(header))) + ")"
    breaks = f"length({row_text}) - length(replace({row_text}, chr(10), ''))"
    with tempfile.TemporaryDirectory(prefix="prepaid-ingest-") as folder:
        # DuckDB reads exactly the bytes that were hashed, even if the inbox file changes
        copy = Path(folder) / "input.csv"
        copy.write_bytes(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
        probe = con.cursor()  # its own connection: a failed read must not abort the run's transaction
        try:
            read, inner_breaks = probe.execute(f"select count(*), coalesce(sum({breaks}), 0) from {reader}",
                                               [str(copy), delimiter]).fetchall()[0]
        except duckdb.Error:
            return None
        finally:
            probe.close()
        if read + inner_breaks != lines - 1:  # e.g. a blank line DuckDB skipped
            return None
        # row i starts on line i + 2 plus the line breaks inside the cells of the rows before it;
        # DuckDB keeps the file's row order through a scan of one table function and through
        # `row_number() over ()` (documented: "Order Preservation" in DuckDB 2.0's SQL dialect)
        line = ("rn + 1" if inner_breaks == 0 else
                "rn + 1 + coalesce(sum(breaks) over (order by rn rows between unbounded preceding "
                "and 1 preceding), 0)")
        return con.execute(f"insert into raw_{kind} (file_id, source_file, line, {names}) "
                           f"select ?, ?, line, {cells} from (select {line} as line, {trimmed} from "
                           f"(select row_number() over () as rn, {breaks} as breaks, * from {reader})) "
                           f"where {given}",
                           [file_id, rel, str(copy), delimiter]).fetchall()[0][0]


def _quotes_around_whole_cells(text: str, delimiter: str) -> bool:
    """Every quote of the text opens or closes a quoted cell that fills its whole cell."""
    quotes = 0
    for match in _QUOTED_CELL.finditer(text):
        start, end = match.span()
        if start > 0 and text[start - 1] not in (delimiter, "\n"):
            return False
        if end < len(text) and text[end] not in (delimiter, "\r", "\n"):
            return False
        quotes += match.group().count('"')
    return quotes == text.count('"')


def _read_file(kind: str, data: bytes, mapping: dict) -> tuple[list[dict], list[dict], str | None]:
    """Canonical rows (dicts with 'line') and issues of one file, and the tracker if any."""
    rows, issues, tracker = _read_rows(kind, data, mapping)
    if not _CONTROL_BYTES.search(data):   # one pass over the bytes instead of one per cell
        return rows, issues, tracker
    rows, rejected = _without_control_characters(rows)
    return rows, issues + rejected, tracker


#: characters that no spreadsheet cell (XML 1.0) can hold: C0 controls except TAB, LF and CR
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _without_control_characters(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Rows without control characters, and an issue per cell of the others (row rejected)."""
    kept, issues = [], []
    for row in rows:
        bad = [(c, v) for c, v in row.items()
               if c != "line" and isinstance(v, str) and _CONTROL_CHARACTER.search(v)]
        if not bad:
            kept.append(row)
        for column, value in bad:
            char = _CONTROL_CHARACTER.search(value).group()
            issues.append(_issue(row["line"], column, value, "nul_byte" if char == "\x00" else "control_character",
                                 f"{column} contains the control character U+{ord(char):04X}"))
    return kept, issues


def data_lines(data: bytes) -> int:
    """Non-blank physical lines after the header: what a file rejected whole loses."""
    return max(0, sum(1 for line in data.splitlines() if line.strip()) - 1)


def _read_rows(kind: str, data: bytes, mapping: dict) -> tuple[list[dict], list[dict], str | None]:
    """Canonical rows, issues (broken lines included) and the tracker of one file."""
    content = read_records(data)
    rows, issues, tracker = _rows_of(kind, content, mapping)
    broken = [_issue(b.line, "", b.text, b.reason_code, b.detail) for b in content.broken]
    return rows, issues + broken, tracker


def _rows_of(kind: str, content, mapping: dict) -> tuple[list[dict], list[dict], str | None]:
    if content.problem:
        return [], [_issue(0, "", "", content.problem.reason_code, content.problem.detail)], None
    header = list(content.header)
    duplicated = sorted({h for h in header if header.count(h) > 1 and h})
    if duplicated:
        return [], [_issue(0, "|".join(duplicated), "", "duplicate_column",
                           f"header names {', '.join(duplicated)} more than once")], None
    missing = missing_columns(kind, header)
    if kind == "timelogs" and missing:
        adapted = trackers.adapt(header, content.records, mapping)
        if adapted is not None:
            rows = [dict(values, line=line) for line, values in adapted.rows]
            issues = [_issue(i.line, i.column, i.value, i.reason_code, i.detail) for i in adapted.issues]
            return rows, issues, adapted.tracker
    if missing:
        return [], [_issue(0, "|".join(missing), "", "missing_column",
                           f"required column(s) {', '.join(missing)} not in header")], None
    positions = {name: header.index(name) for name in COLUMNS[kind] if name in header}
    rows, issues = [], []
    width = len(header)
    for record in content.records:
        if len(record.cells) != width:
            issues.append(_issue(record.line, "", "", "wrong_field_count",
                                 f"{len(record.cells)} fields, header has {width}"))
            continue
        row = {name: record.cells[i] for name, i in positions.items()}
        row["line"] = record.line
        rows.append(row)
    return rows, issues, None


def _issue(line: int, column: str, value: str, reason: str, detail: str) -> dict:
    return {"line": line, "column": column, "value": value, "reason_code": reason, "detail": detail}


def _insert_rows(con: duckdb.DuckDBPyConnection, kind: str, file_id: int, rel: str, rows: list[dict]) -> None:
    if not rows:
        return
    columns = COLUMNS[kind]
    frame = pd.DataFrame({
        "file_id": file_id,
        "source_file": rel,
        "line": [r["line"] for r in rows],
        **{c: [r.get(c) or None for r in rows] for c in columns},
    })
    for c in columns:
        frame[c] = frame[c].astype("object")
    quoted = ", ".join(f'"{c}"' for c in ["file_id", "source_file", "line", *columns])
    store_frame(con, "new_rows", frame, {"file_id": "bigint", "source_file": "varchar", "line": "bigint",
                                         **{c: "varchar" for c in columns}})
    con.execute(f"insert into raw_{kind} ({quoted}) select {quoted} from new_rows")
    con.execute("drop table new_rows")
