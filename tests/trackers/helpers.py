"""Helpers for tracker-adapter tests: read a sample export, adapt it, check the partition."""

from __future__ import annotations

from pathlib import Path

from transforms.ingest.csvio import read_records
from transforms.ingest.trackers import CANONICAL_COLUMNS, Adapted, adapt

SAMPLES = Path(__file__).parent / "samples"


def canonical(**values: str) -> dict[str, str]:
    """A full canonical row: every column present, '' unless given."""
    unknown = set(values) - set(CANONICAL_COLUMNS)
    assert not unknown, unknown
    return {column: values.get(column, "") for column in CANONICAL_COLUMNS}


def adapt_bytes(data: bytes, mapping=None) -> Adapted:
    content = read_records(data)
    assert content.problem is None, content.problem
    adapted = adapt(content.header, content.records, mapping)
    assert adapted is not None, f"not detected: {content.header}"
    assert_every_record_accounted_for(content.records, adapted)
    return adapted


def assert_every_record_accounted_for(records, adapted: Adapted) -> None:
    """Each record is in exactly one of rows/issues, unless one file-level issue replaces all."""
    if any(issue.line == 0 for issue in adapted.issues):
        assert adapted.rows == [] and len(adapted.issues) == 1
        return
    row_lines = [line for line, _ in adapted.rows]
    issue_lines = [issue.line for issue in adapted.issues]
    assert sorted(row_lines + issue_lines) == [r.line for r in records]
    for _, row in adapted.rows:
        assert tuple(row) == CANONICAL_COLUMNS and all(isinstance(v, str) for v in row.values())
