"""Reading input CSV files into header + records with physical line numbers.

Every input file goes through `read_records`: it never raises on bad content. A broken record
costs only itself (SPEC §8): a line the reader cannot make a record of (an unterminated quote,
bad UTF-8) becomes a `BrokenLine` and the rest of the file is read as usual. Only a file
without a readable header becomes a `FileProblem` (one quarantine row at line 0).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
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
class BrokenLine:
    """A physical line that could not be read as (part of) a record; the rest of the file is read."""

    line: int
    reason_code: str
    detail: str
    text: str


@dataclass(frozen=True)
class CsvContent:
    header: tuple[str, ...]
    records: list[Record]
    delimiter: str
    problem: FileProblem | None = None
    broken: tuple[BrokenLine, ...] = ()


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
        if _ragged_multiline(rows, lines, _line_breaks(text) + 1):
            return parse_text_by_row(text)
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


def _ragged_multiline(rows: list[list[str]], lines: list[int], total_lines: int) -> bool:
    """Whether a record that spans several lines has another width than the header: perhaps a
    stray quote that joined lines (the row-by-row reader decides, and resynchronizes after it)."""
    width = next((len(row) for row in rows if any(c.strip() for c in row)), None)
    ends = list(lines[1:]) + [total_lines + 1]
    return any(end - line > 1 and len(row) != width and any(c.strip() for c in row)
               for row, line, end in zip(rows, lines, ends))


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


#: physical lines as the csv module counts them (LF, CR LF, lone CR), each with its line break
_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class _Lines:
    """An iterator over physical lines from a position, that a new csv reader can resume."""

    def __init__(self, lines: list[str], start: int) -> None:
        self.lines, self.position = lines, start

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.position >= len(self.lines):
            raise StopIteration
        self.position += 1
        return self.lines[self.position - 1]


def parse_text_by_row(text: str) -> CsvContent:
    """`parse_text`, one row at a time: slower, and the reference for what `parse_text` returns.

    Resynchronization (docs/decisions.md): a record that starts on line L and cannot be right,
    because its quoted cell runs to the end of the file or because it spans several lines, has
    another width than the header and swallowed a line that reads as a row of the header's
    width, is a quote opened on line L and never closed where it should be. Line L is reported
    broken and reading starts again on line L + 1, so the lines the quote swallowed are read as
    the records they are. A csv error (a cell over the size
    limit) costs the line it starts on in the same way.
    """
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    lines = _PHYSICAL_LINE.findall(text + "\n" + _END_MARKER)   # the marker is the last line
    header: tuple[str, ...] | None = None
    records: list[Record] = []
    broken: list[BrokenLine] = []
    start = 0
    while start < len(lines):
        source = _Lines(lines, start)
        reader = csv.reader(source, delimiter=delimiter, strict=False)
        restart = None
        first = start + 1                      # the line the next record starts on
        try:
            for row in reader:
                line, first = first, source.position + 1
                if source.position == len(lines) and row == [_END_MARKER]:
                    break
                swallowed = source.position == len(lines)      # the marker is inside this record
                ragged = (first - line > 1 and header is not None and len(row) != len(header)
                          and any(c.strip() for c in row)
                          and _holds_rows(lines[line:first - 1], delimiter, len(header)))
                if swallowed or ragged:
                    if header is None:
                        return CsvContent((), [], delimiter, FileProblem(
                            "unterminated_quote", f"a quoted cell in the header starting on line {line} is never closed"))
                    broken.append(BrokenLine(line, "unterminated_quote",
                                             f"a quoted cell opened on line {line} is not closed where its row "
                                             f"ends; the line is not read, reading resumes on line {line + 1}",
                                             _without_line_break(lines[line - 1])))
                    restart = line
                    break
                header = _add_row(line, row, header, records)
        except csv.Error as exc:  # e.g. a field larger than the field size limit
            if header is None:
                return CsvContent((), records, delimiter, FileProblem("unreadable_csv", str(exc)))
            broken.append(BrokenLine(first, "unreadable_csv", f"{exc}; reading resumes on line {first + 1}",
                                     _without_line_break(lines[first - 1])))
            restart = first
        if restart is None:
            break
        start = restart
    if header is None:
        return CsvContent((), [], delimiter, FileProblem("empty_file", "no header row"))
    return CsvContent(header, records, delimiter, broken=tuple(broken))


def _holds_rows(lines: list[str], delimiter: str, width: int) -> bool:
    """Whether one of `lines`, read on its own, is a row of `width` cells: the lines a record
    spans past its first are rows a stray quote swallowed only if they look like rows. A record
    whose lines do not (a cell with line breaks in a row that also has a cell too many) is read
    whole, and costs only itself."""
    for text in lines:
        try:
            row = next(csv.reader([text], delimiter=delimiter, strict=False), [])
        except csv.Error:
            continue
        if len(row) == width and any(c.strip() for c in row):
            return True
    return False


def _without_line_break(line: str) -> str:
    return line.rstrip("\r\n")


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
    """Parse the bytes of one input file; problems are returned, never raised.

    Bytes that are not UTF-8 cost the records they are in (`invalid_encoding`, shown as \\xNN);
    NUL and other control characters are left in the cells for validation to quarantine.
    """
    text = data.decode("utf-8", "surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    content = parse_text(text)
    if not _UNDECODABLE.search(text) or content.problem is not None:
        return content
    if any(_UNDECODABLE.search(h) for h in content.header):
        return CsvContent((), [], content.delimiter, FileProblem(
            "invalid_encoding", "the header is not UTF-8: " + readable(" ".join(content.header))))
    kept, broken = [], list(content.broken)
    for record in content.records:
        bad = next((c for c in record.cells if _UNDECODABLE.search(c)), None)
        if bad is None:
            kept.append(record)
            continue
        byte = ord(_UNDECODABLE.search(bad).group()) - 0xDC00
        broken.append(BrokenLine(record.line, "invalid_encoding",
                                 f"not UTF-8: byte 0x{byte:02x} in the record starting on line {record.line}",
                                 readable(content.delimiter.join(record.cells))))
    broken = [BrokenLine(b.line, b.reason_code, b.detail, readable(b.text)) for b in broken]
    return CsvContent(content.header, kept, content.delimiter, broken=tuple(sorted(broken, key=lambda b: b.line)))


#: a byte that is not UTF-8, as the surrogateescape error handler decodes it
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def readable(text: str) -> str:
    """Text with every byte that was not UTF-8 written as \\xNN (it can be stored and shown)."""
    return _UNDECODABLE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


csv.field_size_limit(16 * 1024 * 1024)
