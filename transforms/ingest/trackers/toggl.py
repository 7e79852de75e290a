"""Toggl Track detailed report (CSV): the classic export with `Amount (EUR)` and the newer
all-quoted export without amounts. Times are wall-clock start/end; `Duration` is `HH:MM:SS`.
"""

from __future__ import annotations

from transforms.ingest.trackers.common import FieldRule, RowView, TrackerSpec, read_start_end


def read_times(row: RowView) -> dict[str, str]:
    """The end time is authoritative; `Duration` is only read when there is no end time."""
    duration = None
    if not row.cell("end_time"):
        duration = row.duration_seconds("duration", hours_allowed=False)
    return read_start_end(row, duration, duration_key="duration")


SPEC = TrackerSpec(
    name="toggl",
    columns={
        "id": ("ID", "Time entry ID"),
        "user": ("User", "Member"),
        "client": ("Client",),
        "project": ("Project",),
        "task": ("Task",),
        "description": ("Description",),
        "billable": ("Billable",),
        "start_date": ("Start date",),
        "start_time": ("Start time",),
        "end_date": ("End date", "Stop date"),
        "end_time": ("End time", "Stop time"),
        "duration": ("Duration",),
    },
    signatures=(
        frozenset({"start_date", "duration", "user"}),
        frozenset({"start_date", "duration", "client"}),
    ),
    required=(("start_date",), ("start_time",), ("end_time", "duration")),
    fields={
        "entry_id": FieldRule(("id",)),
        "customer_id": FieldRule(("client",)),
        "user": FieldRule(("user",)),
        "service": FieldRule(("task", "project")),
        "project": FieldRule(("project",)),
        "task": FieldRule(("task",)),
        "description": FieldRule(("description",)),
        "billable": FieldRule(("billable",)),
    },
    date_keys=("start_date", "end_date"),
    decimal_keys=(),
    read_times=read_times,
)
