"""Clockify detailed report (CSV), old and new variants (`Type`, `Invoiced`, `Invoice ID`,
`Date of creation`). Dates follow the workspace setting (`MM/DD/YYYY`, `DD/MM/YYYY`, ...) and
times may be 12-hour (`09:15:00 AM`).
"""

from __future__ import annotations

from transforms.ingest.trackers.common import FieldRule, RowView, TrackerSpec, read_start_end

# Entry types that are not work: never billable, whatever the Billable column says.
NON_WORK_TYPES = frozenset({"break", "time off", "time_off", "timeoff", "holiday"})


def read_times(row: RowView) -> dict[str, str]:
    """The end time is authoritative; a duration column is only read when there is none."""
    duration = None
    duration_key = "duration_h" if row.position("duration_h") is not None else "duration_decimal"
    if not row.cell("end_time"):
        if row.cell("duration_h"):
            duration = row.duration_seconds("duration_h", hours_allowed=False)
            duration_key = "duration_h"
        else:
            duration = row.duration_seconds("duration_decimal", hms_allowed=False)
            duration_key = "duration_decimal"
    return read_start_end(row, duration, duration_key=duration_key)


def adjust(row: RowView, out: dict[str, str]) -> None:
    if " ".join(row.cell("type").casefold().split()) in NON_WORK_TYPES:
        out["billable"] = "false"


SPEC = TrackerSpec(
    name="clockify",
    columns={
        "id": ("ID", "Time entry ID", "Entry ID"),
        "project": ("Project",),
        "client": ("Client",),
        "description": ("Description",),
        "task": ("Task",),
        "user": ("User",),
        "billable": ("Billable",),
        "start_date": ("Start Date",),
        "start_time": ("Start Time",),
        "end_date": ("End Date",),
        "end_time": ("End Time",),
        "duration_h": ("Duration (h)",),
        "duration_decimal": ("Duration (decimal)",),
        "type": ("Type",),
        "invoiced": ("Invoiced",),
    },
    signatures=(
        frozenset({"start_date", "duration_h"}),
        frozenset({"start_date", "duration_decimal"}),
    ),
    required=(("start_date",), ("start_time",), ("end_time", "duration_h", "duration_decimal")),
    fields={
        "entry_id": FieldRule(("id",)),
        "customer_id": FieldRule(("client",)),
        "user": FieldRule(("user",)),
        "service": FieldRule(("task", "project")),
        "project": FieldRule(("project",)),
        "task": FieldRule(("task",)),
        "description": FieldRule(("description",)),
        "billable": FieldRule(("billable",)),
        "billed_elsewhere": FieldRule(("invoiced",)),
    },
    date_keys=("start_date", "end_date"),
    decimal_keys=("duration_decimal",),
    read_times=read_times,
    adjust=adjust,
)
