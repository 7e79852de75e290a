"""Reading input CSV files into header + records with physical line numbers.

Every input file goes through `read_records`: it never raises on bad content.
What cannot be read becomes a `FileProblem` (one quarantine row at line 0).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

_DELIMITERS = (",", ";", "\t")


class Record(NamedTuple):
    """One data row: the physical line it starts on (header is line 1) and its cells, trimmed."""

    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class FileProblem:
    """Why a whole file cannot be read."""

    reason_code: str
    detail: str


@dataclass(frozen=True)
class CsvContent:
    header: tuple[str, ...]
    records: list[Record]
    delimiter: str
    problem: FileProblem | None = None


def decode(data: bytes) -> tuple[str | None, FileProblem | None]:
    """UTF-8 text with an optional BOM removed, or the problem that prevents decoding."""
    if b"\x00" in data:
        offset = data.index(b"\x00")
        return None, FileProblem("nul_byte", f"NUL byte at byte offset {offset}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, FileProblem(
            "invalid_encoding", f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}"
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, None


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a file, decided from its header line: the most frequent of , ; TAB."""
    counts = {d: _count_outside_quotes(header_line, d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


#: appended after the text: it comes back as a row of its own unless the file ends inside a
#: quoted cell (Python's csv reader then silently takes the rest of the file into that cell)
_END_MARKER = "\uffff"


def parse_text(text: str) -> CsvContent:
    """Header and records of CSV text. Blank lines are skipped; cells are trimmed.

    A quoted cell that is never closed swallows every later line, so the file is rejected
    (`unterminated_quote`) rather than read with rows hidden inside one cell.

    The whole text is read in one call of the csv module; line numbers follow from the line
    breaks inside cells, and cells are only trimmed when some whitespace sits at a cell's
    edge. Any problem (a csv error, an unclosed quote, no header) is left to the row-by-row
    reader `parse_text_by_row`, which gives the same result for every text (a property test
    compares the two) and says where the problem is.
    """
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text + "\n" + _END_MARKER, newline=""), delimiter=delimiter, strict=False)
    try:
        rows = list(reader)
    except csv.Error:
        return parse_text_by_row(text)
    if not rows or rows.pop() != [_END_MARKER]:
        return parse_text_by_row(text)
    if len(rows) == _line_breaks(text) + 1:  # no cell holds a line break: row i is on line i + 1
        lines: Iterable[int] = range(1, len(rows) + 1)
    else:
        lines = _first_lines(rows)
    if edge_whitespace(delimiter).search(text):
        rows = [[c.strip() for c in row] for row in rows]
    kept = [(line, row) for line, row in zip(lines, rows) if any(row)]
    if not kept:
        return parse_text_by_row(text)
    header = tuple(kept[0][1])
    return CsvContent(header, [Record(line, tuple(row)) for line, row in kept[1:]], delimiter)


def _line_breaks(text: str) -> int:
    """Line breaks as the csv module counts lines: LF, CR LF and a lone CR."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _first_lines(rows: list[list[str]]) -> list[int]:
    """The physical line each row starts on, when some cells hold line breaks."""
    lines, line = [], 1
    for row in rows:
        lines.append(line)
        line += 1 + sum(_line_breaks(c) for c in row if "\n" in c or "\r" in c)
    return lines


@lru_cache(maxsize=None)
def edge_whitespace(delimiter: str) -> re.Pattern:
    """Whitespace that can end up at the start or end of a cell: after a delimiter, a line
    break or the start of the text, before one of those or the end, or next to a quote."""
    d = re.escape(delimiter)
    return re.compile(rf'(?:\A|[{d}\r\n])[^\S\r\n]|"\s|\s"|[^\S\r\n](?:[{d}\r\n]|\Z)')


def parse_text_by_row(text: str) -> CsvContent:
    """`parse_text`, one row at a time: slower, and the reference for what `parse_text` returns."""
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text + "\n" + _END_MARKER, newline=""), delimiter=delimiter, strict=False)
    header: tuple[str, ...] | None = None
    records: list[Record] = []
    next_line = 1
    held: tuple[int, list[str]] | None = None  # a row equal to the end marker, unless more follow
    last_line = 0
    try:
        for row in reader:
            line = next_line
            next_line = reader.line_num + 1
            last_line = line
            if held is not None:
                header = _add_row(held[0], held[1], header, records)
                held = None
            if row == [_END_MARKER]:
                held = (line, row)
                continue
            header = _add_row(line, row, header, records)
    except csv.Error as exc:  # e.g. field larger than the field size limit
        return CsvContent(header or (), records, delimiter, FileProblem("unreadable_csv", str(exc)))
    if held is None:
        return CsvContent(header or (), records, delimiter, FileProblem(
            "unterminated_quote", f"a quoted cell in the row starting on line {last_line} is never closed"))
    if header is None:
        return CsvContent((), [], delimiter, FileProblem("empty_file", "no header row"))
    return CsvContent(header, records, delimiter)


def _add_row(line: int, row: list[str], header: tuple[str, ...] | None,
             records: list[Record]) -> tuple[str, ...] | None:
    """Append one non-blank row as a record (or take it as the header); returns the header."""
    if not row or all(not c.strip() for c in row):
        return header
    cells = tuple(c.strip() for c in row)
    if header is None:
        return cells
    records.append(Record(line, cells))
    return header


def read_records(data: bytes) -> CsvContent:
    """Parse the bytes of one input file; problems are returned, never raised."""
    text, problem = decode(data)
    if problem is not None:
        return CsvContent((), [], ",", problem)
    return parse_text(text)


csv.field_size_limit(16 * 1024 * 1024)
