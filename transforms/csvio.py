"""Reading input CSV files into header + records with physical line numbers.

Every input file goes through `read_records`: it never raises on bad content.
What cannot be read becomes a `FileProblem` (one quarantine row at line 0).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Record:
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
    """
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
