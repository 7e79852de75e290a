"""Kimai CSV export, English or German headers, `,` or `;` separated. One date per entry with
`From`/`To` clock times (`To` before `From` = next day) and `Duration` as `h:mm` (or decimal
hours when the user exports decimal durations).
"""

from __future__ import annotations

from datetime import timedelta

from transforms.ingest.trackers.common import FieldRule, RowView, TrackerSpec, combine, span_fields


def read_times(row: RowView) -> dict[str, str]:
    """`Duration` is the worked time (Kimai subtracts breaks); ended_at is written only when
    `To` agrees with it within 60 s, else duration_minutes alone."""
    day = row.date("date")
    started = combine(day, row.time("begin"))
    duration = row.duration_seconds("duration")
    ended = None
    if row.cell("end"):
        ended = combine(day, row.time("end"))
        if ended < started or (ended == started and duration):
            ended += timedelta(days=1)
    return span_fields(row, started, ended, duration, end_key="end", duration_key="duration",
                       duration_wins=True)


SPEC = TrackerSpec(
    name="kimai",
    columns={
        "id": ("ID",),
        "date": ("Date", "Datum"),
        "begin": ("From", "Von", "Begin", "Beginn"),
        "end": ("To", "Bis", "End", "Ende"),
        "duration": ("Duration", "Dauer"),
        "user": ("User", "Benutzer"),
        "customer": ("Customer", "Kunde"),
        "project": ("Project", "Projekt"),
        "activity": ("Activity", "Tätigkeit"),
        "description": ("Description", "Beschreibung"),
        "billable": ("Billable", "Abrechenbar"),
    },
    signatures=(frozenset({"date", "begin", "end", "duration"}),),
    required=(("date",), ("begin",), ("end", "duration")),
    fields={
        "entry_id": FieldRule(("id",)),
        "customer_id": FieldRule(("customer",)),
        "user": FieldRule(("user",)),
        "service": FieldRule(("activity",)),
        "project": FieldRule(("project",)),
        "task": FieldRule(("activity",)),
        "description": FieldRule(("description",)),
        "billable": FieldRule(("billable",)),
    },
    date_keys=("date",),
    decimal_keys=("duration",),
    read_times=read_times,
)
