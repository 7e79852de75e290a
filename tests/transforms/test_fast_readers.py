"""The fast readers give exactly what the row-by-row reader gives.

`csvio.parse_text` reads a file in one call of the csv module and `ingest._insert_plain_csv`
lets DuckDB read plain files; `csvio.parse_text_by_row` is the reference for both.
"""

from __future__ import annotations

import re
import sys

import duckdb
from hypothesis import given, strategies as st

from tests.reliability.test_fuzz import fuzz, near_valid_csv
from transforms.ingest import csvio, ingest
from transforms.validate.validate import COLUMNS
from transforms.warehouse import connect

KINDS = list(COLUMNS)
CSV_ALPHABET = list(',;\t"\r\n x1é\uffff\u00a0\u2003') + ["ab", "c d", '""', "\r\n"]


def test_whitespace_class__is_exactly_what_str_strip_removes():
    # RE2's \x{N} spelled for Python: the 8 hex digits of \U
    pattern = re.compile(re.sub(r"\\x\{([0-9a-f]+)\}", lambda m: f"\\U{int(m.group(1), 16):08x}",
                                ingest.WHITESPACE_CLASS))
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    matched = {chr(c) for c in range(sys.maxunicode + 1) if pattern.fullmatch(chr(c))}
    assert matched == spaces
    con = duckdb.connect()
    in_duckdb = {c for c in spaces | {"a", "é", "\x00"}
                 if con.execute(f"select regexp_full_match(?, '{ingest.WHITESPACE_CLASS}')", [c]).fetchall()[0][0]}
    assert in_duckdb == spaces
    assert set(ingest.WHITESPACE) == spaces and len(ingest.WHITESPACE) == len(spaces)


@fuzz(400, shrink=True)
@given(st.lists(st.sampled_from(CSV_ALPHABET), max_size=60).map("".join))
def test_parse_text__any_text__same_header_records_and_problem_as_row_by_row(text):
    assert csvio.parse_text(text) == csvio.parse_text_by_row(text)


@fuzz(150, shrink=True)
@given(st.sampled_from(KINDS).flatmap(lambda k: st.tuples(st.just(k), near_valid_csv(k))))
def test_parse_text__near_valid_files__same_as_row_by_row(case):
    _, (data, _) = case
    text, problem = csvio.decode(data)
    if problem is None:
        assert csvio.parse_text(text) == csvio.parse_text_by_row(text)


def _raw_rows_both_ways(tmp_path, kind: str, data: bytes):
    """raw_<kind> rows and issues after ingesting `data`, with and without DuckDB's reader."""
    results = []
    for name, plain in (("duckdb", True), ("python", False)):
        con = connect(tmp_path / f"{name}.duckdb")
        count = ingest._insert_plain_csv(con, kind, 1, "f.csv", data, min_bytes=0) if plain else None
        if count is None:
            rows, issues, _ = ingest._read_file(kind, data, {})
            ingest._insert_rows(con, kind, 1, "f.csv", rows)
            count = len(rows)
        else:
            issues = "read by DuckDB"
        rows = con.execute(f"select * from raw_{kind} order by line").fetchall()
        results.append((rows, count, issues))
        con.close()
        (tmp_path / f"{name}.duckdb").unlink()
    return results


@fuzz(120)
@given(st.sampled_from(KINDS).flatmap(lambda k: st.tuples(st.just(k), near_valid_csv(k))))
def test_plain_csv_through_duckdb__near_valid_files__same_raw_rows_as_python(tmp_path_factory, case):
    kind, (data, _) = case
    (rows, count, issues), (expected_rows, expected_count, expected_issues) = _raw_rows_both_ways(
        tmp_path_factory.mktemp("plain"), kind, data)
    if issues == "read by DuckDB" and expected_issues:  # a file the Python reader finds problems in
        raise AssertionError(f"DuckDB read a file with issues {expected_issues}")
    if issues == "read by DuckDB":
        assert (rows, count) == (expected_rows, expected_count)


def test_plain_csv_through_duckdb__quotes_spaces_bom_crlf__read_as_python_reads_them(tmp_path):
    data = ("\ufeffentry_id , customer_id,user,service,started_at,duration_minutes,description\r\n"
            'e1,c1, ann ,dev,2026-01-05T09:00,30,"fix, then ""test"""\r\n'
            '"e2",c1,bob,dev,2026-01-05T10:00,15,\u00a0 padded \u2003\r\n'
            ",,,,,,\r\n"
            'e3,c1,bob,dev,2026-01-05T11:00,15,"two\nlines, \r\nthree"\r\n'
            'e4,c1,bob,dev,2026-01-05T12:00,15,""\r\n').encode()
    (rows, count, issues), (expected_rows, expected_count, expected_issues) = _raw_rows_both_ways(
        tmp_path, "timelogs", data)
    assert (issues, expected_issues) == ("read by DuckDB", [])
    assert (rows, count) == (expected_rows, expected_count)
    assert count == 4
    # r[-3]: description (billed_elsewhere and currency follow it)
    assert [(r[2], r[3], r[5], r[-3]) for r in rows] == [
        (2, "e1", "ann", 'fix, then "test"'), (3, "e2", "bob", "padded"),
        (5, "e3", "bob", "two\nlines, \r\nthree"), (8, "e4", "bob", None)]


def test_plain_csv_through_duckdb__files_it_must_leave_to_python__returns_none(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    header = "entry_id,customer_id,user,service,started_at,duration_minutes\n"
    not_plain = {
        "blank line": header + "e1,c1,a,s,2026-01-05T09:00,5\n\ne2,c1,a,s,2026-01-05T09:00,5\n",
        "quote inside a cell": header + 'e1,c1,a"b,s,2026-01-05T09:00,5\n',
        "text after a closing quote": header + 'e1,c1,"a"b,s,2026-01-05T09:00,5\n',
        "short row": header + "e1,c1,a,s,2026-01-05T09:00\n",
        "long row": header + "e1,c1,a,s,2026-01-05T09:00,5,6\n",
        "lone CR": header + "e1,c1,a,s,2026-01-05T09:00,5\re2,c1,a,s,2026-01-05T09:00,5\n",
        "control character": header + "e1,c1,a\x0bb,s,2026-01-05T09:00,5\n",
        "tracker header": "Description,Start date\nx,2026-01-05\n",
        "duplicate column": "entry_id,entry_id,customer_id,user,service,started_at,duration_minutes\n",
        "unclosed quote": header + 'e1,c1,"a,s,2026-01-05T09:00,5\n',
        "not UTF-8": header + "e1,c1,\xe9,s,2026-01-05T09:00,5\n",
    }
    results = {name: ingest._insert_plain_csv(con, "timelogs", 1, "f.csv",
                                              text.encode("latin-1" if name == "not UTF-8" else "utf-8"),
                                              min_bytes=0)
               for name, text in not_plain.items()}
    assert results == {name: None for name in not_plain}
    assert con.execute("select count(*) from raw_timelogs").fetchall() == [(0,)]


def test_plain_csv_through_duckdb__small_file__left_to_python(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    data = b"entry_id,customer_id,user,service,started_at,duration_minutes\ne1,c1,a,s,2026-01-05T09:00,5\n"
    assert ingest._insert_plain_csv(con, "timelogs", 1, "f.csv", data) is None
    assert ingest._insert_plain_csv(con, "timelogs", 1, "f.csv", data, min_bytes=len(data)) == 1


def test_parse_text__multiline_cell_in_a_row_with_a_cell_too_many__read_whole_as_one_record():
    # found by the fuzz test: read as a stray quote, the row's later lines became two junk records
    text = 'a,b\n"x\ny",z,surplus\nok,1\n'
    content = csvio.parse_text(text)
    assert [(r.line, r.cells) for r in content.records] == [(2, ("x\ny", "z", "surplus")), (4, ("ok", "1"))]
    assert content.broken == () and content == csvio.parse_text_by_row(text)


def test_parse_text__stray_quote_that_swallowed_a_row__its_line_reported_the_row_read():
    text = 'a,b\nx,"1\nok,2\nend",3,4\nlast,5\n'
    content = csvio.parse_text(text)
    assert [(b.line, b.reason_code) for b in content.broken] == [(2, "unterminated_quote")]
    assert [(r.line, r.cells) for r in content.records] == [(3, ("ok", "2")), (4, ('end"', "3", "4")), (5, ("last", "5"))]
