"""Adapters that turn time-tracker CSV exports into canonical time-log rows (SPEC §9).

`detect(header)` names the tracker whose export a header is; `adapt(header, records, mapping)`
converts the records. Columns are matched by name (case-insensitive, trimmed), never by
position. See docs/trackers.md for the default mapping and how to override it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from transforms.ingest.csvio import Record
from transforms.ingest.trackers import clockify, harvest, kimai, toggl
from transforms.ingest.trackers.common import (
    CANONICAL_COLUMNS,
    Adapted,
    HeaderIndex,
    Issue,
    TrackerSpec,
    adapt_export,
)

__all__ = ["CANONICAL_COLUMNS", "Adapted", "Issue", "SPECS", "adapt", "detect"]

# Tried in this order; Clockify before Toggl (both have `Start date`/`Start time`).
SPECS: dict[str, TrackerSpec] = {
    spec.name: spec for spec in (clockify.SPEC, toggl.SPEC, harvest.SPEC, kimai.SPEC)
}

# A header with any of these is the canonical time-log format, never a tracker export.
_CANONICAL_MARKERS = ("entry_id", "started_at")


def detect(header: Sequence[str]) -> str | None:
    """The tracker whose export this header is, or None if it is not a known export."""
    index = HeaderIndex(header)
    if any(index.position([m]) is not None for m in _CANONICAL_MARKERS):
        return None
    return next((name for name, spec in SPECS.items() if spec.matches(index)), None)


def adapt(header: Sequence[str], records: Sequence[Record],
          mapping: Mapping[str, Mapping[str, str]] | None = None) -> Adapted | None:
    """Canonical rows and issues of a tracker export; None if the header is not one.

    Never raises on bad content: every record becomes a row or an issue; a file-level problem
    (missing column, ambiguous dates, bad mapping) is one issue at line 0 and no rows.
    """
    name = detect(header)
    if name is None:
        return None
    return adapt_export(SPECS[name], header, records, mapping)
