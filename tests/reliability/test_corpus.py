"""SPEC §8 on the bad-input corpus (tests/corpus/*): the run completes, the outcome is exactly
the expected one, nothing is lost, and every quarantine row points at its cell.

Each case is run once (as of 2026-01-31, UTC) and shared by the tests below.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.reliability.helpers import account_run, quarantine_naming_problems, read_csv, safe
from transforms.run.nightly import run_nightly
from transforms.warehouse import current_raw

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "inbox").is_dir())
AS_OF = date(2026, 1, 31)
_runs: dict[str, Path] = {}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    """The OUT folder of a case's nightly run (run once per case)."""
    def run(case: str) -> Path:
        if case not in _runs:
            base = tmp_path_factory.mktemp(case)
            run_nightly(CORPUS / case / "inbox", base / "w.duckdb", base / "out", AS_OF, "UTC",
                        reports_enabled=False)
            _runs[case] = base / "out"
        return _runs[case]
    return run


def projected(rows: list[dict[str, str]], columns: list[str]) -> list[dict[str, str]]:
    return [{c: r[c] for c in columns} for r in rows]


def test_corpus__has_at_least_25_cases_and_covers_every_reason_code():
    assert len(CASES) >= 25
    reasons = {r["reason_code"] for case in CASES for r in read_csv(CORPUS / case / "expected_quarantine.csv")}
    assert reasons >= {
        "empty_file", "missing_column", "duplicate_column", "invalid_encoding", "nul_byte",
        "unterminated_quote", "wrong_field_count", "missing_value", "unparseable_value",
        "negative_value", "negative_duration", "implausible_duration", "duration_conflict",
        "unknown_customer", "ambiguous_customer", "duplicate_id", "currency_mismatch",
        "expires_before_start", "fractional_minutes", "unexpected_value", "out_of_range",
        "unknown_entry", "ambiguous_rate", "control_character",
    }


@pytest.mark.parametrize("case", CASES)
def test_corpus__run_completes__quarantine_is_exactly_as_expected(corpus_run, case):
    out = corpus_run(case)
    assert read_csv(out / "quarantine.csv") == read_csv(CORPUS / case / "expected_quarantine.csv")


@pytest.mark.parametrize("case", CASES)
def test_corpus__accepted_entries_and_blocks_are_exactly_as_expected(corpus_run, case):
    out = corpus_run(case)
    for name in ("entries", "balances"):
        expected_path = CORPUS / case / f"expected_{name}.csv"
        if expected_path.exists():
            expected = read_csv(expected_path)
            with open(expected_path, encoding="utf-8") as fh:
                columns = fh.readline().strip().split(",")
            assert projected(read_csv(out / f"{name}.csv"), columns) == expected, name


@pytest.mark.parametrize("case", CASES)
def test_corpus__every_record_lands_in_exactly_one_of_accepted_quarantined_superseded_reexport(
        corpus_run, case):
    out = corpus_run(case)
    con = duckdb.connect(str(out.parent / "w.duckdb"), read_only=True)
    try:
        accounting = account_run(CORPUS / case / "inbox", con, out)
        supersessions = con.execute("select * from supersessions order by all").fetchall()
        entry_ids = [e for (e,) in con.execute("select entry_id from last_entries").fetchall()]
        purchases = current_raw(con, "purchases")
    finally:
        con.close()
    assert accounting.problems() == []
    counts = accounting.counts()
    placed = sum(counts.get(b, 0) for b in ("accepted", "quarantined", "superseded", "duplicate_export"))
    assert placed == counts["records"]
    # entries.csv and balances.csv list exactly the accepted entries and (known) blocks
    written = [r["entry_id"] for r in read_csv(out / "entries.csv")]
    assert sorted(written) == sorted(safe(e) for e in entry_ids) and len(written) == len(set(written))
    accepted = accounting.buckets["accepted"]
    blocks = [b for b, f, line, on in zip(purchases["block_id"], purchases["source_file"], purchases["line"],
                                          purchases["purchased_on"]) if (f, line) in accepted and on <= str(AS_OF)]
    assert sorted(r["block_id"] for r in read_csv(out / "balances.csv")) == sorted(safe(b) for b in blocks)
    expected_path = CORPUS / case / "expected_supersessions.csv"
    expected = [tuple(r.values()) for r in read_csv(expected_path)] if expected_path.exists() else []
    assert [tuple(str(v) for v in row) for row in supersessions] == expected


@pytest.mark.parametrize("case", CASES)
def test_corpus__quarantine_rows_name_file_line_and_column_and_show_the_cell(corpus_run, case):
    out = corpus_run(case)
    assert quarantine_naming_problems(CORPUS / case / "inbox", read_csv(out / "quarantine.csv")) == []
