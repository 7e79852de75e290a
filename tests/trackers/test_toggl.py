"""Toggl Track detailed report → canonical time-log rows."""

from transforms.ingest.trackers import Issue

from tests.trackers.helpers import adapt_bytes, canonical


def test_toggl__classic_export_with_bom_and_amount_eur__exact_rows(sample):
    out = sample("toggl_detailed_eur.csv")
    assert out.tracker == "toggl"
    assert out.issues == []
    assert out.rows == [
        (2, canonical(currency="EUR",
            entry_id="toggl-a95848a50b33d41f7a33#0", customer_id="Acme GmbH", user="Anna Berg",
            service="Remote support", started_at="2026-03-02T09:00:00",
            ended_at="2026-03-02T10:30:00", billable="true", project="Support",
            task="Remote support", description="Printer queue stuck")),
        (3, canonical(currency="EUR",
            entry_id="toggl-193437834635c43f14b3#0", customer_id="Acme GmbH", user="Ben Ortiz",
            service="Migration", started_at="2026-03-02T13:15:00",
            ended_at="2026-03-02T13:40:30", billable="true", project="Migration",
            description="Mailbox move\nsecond batch")),
        (5, canonical(currency="EUR",
            entry_id="toggl-4e557f5e4518e2bd1bcc#0", customer_id="Globex Ltd", user="Anna Berg",
            service="Admin", started_at="2026-03-03T23:30:00", ended_at="2026-03-04T00:15:00",
            billable="false", project="Internal", task="Admin",
            description="Timesheet cleanup")),
    ]


def test_toggl__blank_task__service_falls_back_to_project(sample):
    line, row = sample("toggl_detailed_eur.csv").rows[1]
    assert (row["task"], row["project"], row["service"]) == ("", "Migration", "Migration")


def test_toggl__quoted_newline_in_description__kept_and_next_record_on_its_physical_line(sample):
    rows = sample("toggl_detailed_eur.csv").rows
    assert [(line, row["description"]) for line, row in rows] == [
        (2, "Printer queue stuck"), (3, "Mailbox move\nsecond batch"), (5, "Timesheet cleanup")]


def test_toggl__all_quoted_export_without_amount__exact_rows(sample):
    out = sample("toggl_detailed_quoted.csv")
    assert out.issues == []
    assert out.rows == [
        (2, canonical(
            entry_id="toggl-2d474b725b7665c843e6#0", customer_id="Initech", user="Carla Diaz",
            service="Support", started_at="2026-03-05T08:05:00",
            ended_at="2026-03-05T08:20:00", billable="true", project="Helpdesk", task="Support",
            description="Password reset, two accounts")),
        (3, canonical(
            entry_id="toggl-dde48fcdc177445221c2#0", customer_id="Initech", user="Carla Diaz",
            service="Support", started_at="2026-03-05T16:00:00",
            ended_at="2026-03-05T16:12:00", billable="true", project="Helpdesk", task="Support",
            description="Password reset, two accounts")),
    ]


def test_toggl__amount_usd_reordered_columns_crlf__mapped_by_name(sample):
    out = sample("toggl_detailed_usd.csv")
    assert out.issues == []
    assert out.rows == [
        (2, canonical(currency="USD",
            entry_id="toggl-3465b118888a62249963#0", customer_id="Initech", user="Dan Wu",
            service="Support", started_at="2026-03-06T10:00:00",
            ended_at="2026-03-06T11:05:00", billable="true", project="Helpdesk", task="Support",
            description="Backup restore test")),
    ]


def test_toggl__bad_start_time_in_one_row__one_issue_naming_line_and_column_others_survive(sample):
    out = sample("toggl_bad_time.csv")
    assert [line for line, _ in out.rows] == [2, 4]
    assert out.issues == [Issue(
        3, "Start time", "25:10:00", "unparseable_value",
        "Start time '25:10:00' is not a time of day (HH:MM[:SS] or 12-hour AM/PM)")]


def test_toggl__mapping_service_project__project_used_even_when_task_given(sample):
    out = sample("toggl_detailed_eur.csv", {"toggl": {"service": "Project"}})
    assert [row["service"] for _, row in out.rows] == ["Support", "Migration", "Internal"]


def test_toggl__no_end_time__duration_hh_mm_ss_becomes_duration_minutes():
    out = adapt_bytes(
        b"User,Client,Project,Task,Start date,Start time,End date,End time,Duration\n"
        b"Ann,Acme,Support,Phone,2026-03-02,09:00:00,,,01:07:30\n")
    assert out.rows == [(2, canonical(
        entry_id="toggl-a944e60146b7caaa77d9#0", customer_id="Acme", user="Ann", service="Phone",
        started_at="2026-03-02T09:00:00", duration_minutes="67.5", project="Support",
        task="Phone"))]


def test_toggl__end_before_start__negative_duration_issue():
    out = adapt_bytes(
        b"User,Client,Task,Start date,Start time,End date,End time,Duration\n"
        b"Ann,Acme,Phone,2026-03-02,09:00:00,2026-03-01,10:00:00,01:00:00\n")
    assert out.rows == []
    assert out.issues == [Issue(2, "End time", "10:00:00", "negative_duration",
                                "ends 2026-03-01T10:00:00 before it starts 2026-03-02T09:00:00")]


def test_toggl__blank_client__missing_value_issue_naming_client():
    out = adapt_bytes(
        b"User,Client,Task,Start date,Start time,End date,End time,Duration\n"
        b"Ann,,Phone,2026-03-02,09:00:00,2026-03-02,10:00:00,01:00:00\n")
    assert out.issues == [Issue(2, "Client", "", "missing_value", "Client is blank")]


def test_toggl__missing_start_time_column__one_file_level_issue_no_rows():
    out = adapt_bytes(
        b"User,Client,Task,Start date,End date,End time,Duration\n"
        b"Ann,Acme,Phone,2026-03-02,2026-03-02,10:00:00,01:00:00\n")
    assert out.rows == []
    assert out.issues == [Issue(0, "Start time", "", "missing_column",
                                "toggl export lacks column(s): Start time")]


def test_toggl__duration_only_not_whole_in_decimal_minutes__written_as_ended_at():
    out = adapt_bytes(
        b"User,Client,Task,Start date,Start time,End date,End time,Duration\n"
        b"Ann,Acme,Phone,2026-03-02,09:00:00,,,00:00:20\n")  # 20 s = 0.333... min
    _, row = out.rows[0]
    assert (row["ended_at"], row["duration_minutes"]) == ("2026-03-02T09:00:20", "")
