"""Harvest detailed time report (CSV). One row per day and task with `Hours`, no clock times:
the entry starts at 00:00 of its date and lasts `Hours` (raw, not `Hours Rounded`).
"""

from __future__ import annotations

from datetime import time

from transforms.ingest.trackers.common import (
    FieldRule,
    RowProblem,
    RowView,
    TrackerSpec,
    combine,
    duration_fields,
    end_of,
    format_timestamp,
)


def read_times(row: RowView) -> dict[str, str]:
    """started_at = Date 00:00:00; duration_minutes = Hours × 60; approved → authorized at the
    entry's end (start + duration, rounded up to the second)."""
    started = combine(row.date("date"), time(0, 0))
    seconds = row.duration_seconds("hours")
    if seconds is None:
        raise RowProblem(row.name("hours"), "", "missing_value", f"{row.name('hours')} is blank")
    approved = row.flag("approved")
    return {
        "started_at": format_timestamp(started),
        "ended_at": "",
        "duration_minutes": "",
        "authorized_at": format_timestamp(end_of(started, seconds)) if approved else "",
    } | duration_fields(started, seconds)


SPEC = TrackerSpec(
    name="harvest",
    columns={
        "date": ("Date",),
        "client": ("Client",),
        "project": ("Project",),
        "task": ("Task",),
        "notes": ("Notes",),
        "hours": ("Hours",),
        "billable": ("Billable?",),
        "invoiced": ("Invoiced?",),
        "approved": ("Approved?",),
        "first_name": ("First Name",),
        "last_name": ("Last Name",),
    },
    signatures=(
        frozenset({"date", "hours", "billable"}),
        frozenset({"date", "hours", "invoiced"}),
        frozenset({"date", "hours", "approved"}),
        frozenset({"date", "hours", "first_name", "last_name"}),
    ),
    required=(("date",), ("hours",)),
    fields={
        "customer_id": FieldRule(("client",)),
        "user": FieldRule(("first_name", "last_name"), join=True),
        "service": FieldRule(("task",)),
        "project": FieldRule(("project",)),
        "task": FieldRule(("task",)),
        "description": FieldRule(("notes",)),
        "billable": FieldRule(("billable",)),
        "billed_elsewhere": FieldRule(("invoiced",)),
    },
    date_keys=("date",),
    decimal_keys=("hours",),
    read_times=read_times,
)
