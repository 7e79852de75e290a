"""Clockify detailed report → canonical time-log rows."""

from transforms.ingest.trackers import Issue

from tests.trackers.helpers import adapt_bytes, canonical


def test_clockify__am_pm_times_and_month_first_dates__converted_to_24h_iso(sample):
    out = sample("clockify_detailed_us.csv")
    assert out.tracker == "clockify"
    assert out.issues == []
    assert out.rows == [
        (2, canonical(currency="USD",
            entry_id="clockify-f68f54fa05bb252d7adc#0", customer_id="Initech", user="Carla Diaz",
            service="Support", started_at="2026-03-13T09:15:00",
            ended_at="2026-03-13T10:00:00", billable="true", project="Helpdesk", task="Support",
            description="VPN reset")),
        (3, canonical(currency="USD",
            entry_id="clockify-428f8af380103d167a50#0", customer_id="Initech", user="Carla Diaz",
            service="Helpdesk", started_at="2026-03-13T12:00:00",
            ended_at="2026-03-13T12:30:00", billable="false", project="Helpdesk",
            description="Lunch call with client")),
        (4, canonical(currency="USD",
            entry_id="clockify-3a9f396e5ace9de62b98#0", customer_id="Initech", user="Dan Wu",
            service="Maintenance", started_at="2026-03-02T23:30:00",
            ended_at="2026-03-03T01:15:00", billable="true", project="Servers",
            task="Maintenance", description="Patch night")),
    ]


def test_clockify__new_variant_semicolons_day_first_decimal_comma__exact_rows(sample):
    out = sample("clockify_detailed_eu.csv")
    assert out.issues == []
    assert out.rows == [
        (2, canonical(currency="EUR",
            entry_id="clockify-197057e49f13d49c2c25#0", customer_id="Müller & Söhne KG",
            user="Eva Novak", service="Content", started_at="2026-03-14T14:00:00",
            ended_at="2026-03-14T15:30:00", billable="true", project="Website", task="Content",
            description="Texte Startseite", billed_elsewhere="true")),
        (3, canonical(currency="EUR",
            entry_id="clockify-fd9a4df32afaeff81647#0", customer_id="Müller & Söhne KG",
            user="Eva Novak", service="Website", started_at="2026-03-14T15:30:00",
            ended_at="2026-03-14T15:45:00", billable="false", project="Website",
            description="Pause", billed_elsewhere="false")),
        (4, canonical(currency="EUR",
            entry_id="clockify-9b9a152e13c4ffe42f07#0", customer_id="Müller & Söhne KG",
            user="Eva Novak", service="Content", started_at="2026-03-02T08:00:00",
            duration_minutes="75", billable="true", project="Website", task="Content",
            description="Bilder nachgereicht", billed_elsewhere="false")),
    ]


def test_clockify__invoiced_yes__billed_elsewhere_true(sample):
    rows = sample("clockify_detailed_eu.csv").rows
    assert [row["billed_elsewhere"] for _, row in rows] == ["true", "false", "false"]


def test_clockify__break_type_marked_billable__not_billable(sample):
    _, row = sample("clockify_detailed_eu.csv").rows[1]
    assert (row["description"], row["billable"]) == ("Pause", "false")


def test_clockify__no_end_time__decimal_comma_duration_becomes_minutes(sample):
    _, row = sample("clockify_detailed_eu.csv").rows[2]
    assert (row["ended_at"], row["duration_minutes"]) == ("", "75")


def test_clockify__all_dates_ambiguous__one_file_level_issue_no_rows(sample):
    out = sample("clockify_ambiguous_dates.csv")
    assert out.rows == []
    assert out.issues == [Issue(
        0, "", "03/04/2026", "ambiguous_date_format",
        "dates like '03/04/2026' can be day-first or month-first and no date in the file has "
        'a part > 12; set date_order = "dmy" or "mdy" in [clockify] of inbox/trackers.toml')]


def test_clockify__ambiguous_dates_with_mapping_date_order__read_in_that_order(sample):
    mdy = sample("clockify_ambiguous_dates.csv", {"clockify": {"date_order": "mdy"}})
    dmy = sample("clockify_ambiguous_dates.csv", {"clockify": {"date_order": "dmy"}})
    assert [row["started_at"] for _, row in mdy.rows] == ["2026-03-04T09:00:00",
                                                          "2026-05-06T14:00:00"]
    assert [row["started_at"] for _, row in dmy.rows] == ["2026-04-03T09:00:00",
                                                          "2026-06-05T14:00:00"]


def test_clockify__day_first_and_month_first_dates_mixed__inconsistent_file_issue():
    out = adapt_bytes(
        b"Client,Task,User,Start Date,Start Time,End Date,End Time,Duration (h)\n"
        b"Acme,Support,Ann,13/03/2026,09:00,13/03/2026,10:00,01:00:00\n"
        b"Acme,Support,Ann,03/14/2026,09:00,03/14/2026,10:00,01:00:00\n")
    assert out.rows == []
    assert out.issues == [Issue(
        0, "", "13/03/2026", "inconsistent_date_format",
        "'13/03/2026' is day-first but '03/14/2026' is month-first; set date_order = \"dmy\" "
        'or "mdy" in [clockify] of inbox/trackers.toml')]


def test_clockify__date_contradicting_mapping_order__row_issue():
    out = adapt_bytes(
        b"Client,Task,User,Start Date,Start Time,End Date,End Time,Duration (h)\n"
        b"Acme,Support,Ann,13/03/2026,09:00,13/03/2026,10:00,01:00:00\n",
        {"clockify": {"date_order": "mdy"}})
    assert out.issues == [Issue(
        2, "Start Date", "13/03/2026", "unparseable_value",
        "Start Date '13/03/2026' is not a date (YYYY-MM-DD or month-first like the rest of "
        "the file)")]


def test_clockify__client_column_missing__one_missing_column_issue():
    out = adapt_bytes(
        b"Project,Task,User,Start Date,Start Time,End Date,End Time,Duration (h)\n"
        b"P,Support,Ann,2026-03-13,09:00,2026-03-13,10:00,01:00:00\n")
    assert out.issues == [Issue(0, "Client", "", "missing_column",
                                "clockify export lacks column(s): Client")]


def test_clockify__time_entry_id_column__used_as_entry_id_with_prefix():
    out = adapt_bytes(
        b"ID,Client,Task,User,Start Date,Start Time,End Date,End Time,Duration (h)\n"
        b"65f1c0ffee,Acme,Support,Ann,2026-03-13,09:00,2026-03-13,10:00,01:00:00\n")
    assert out.rows[0][1]["entry_id"] == "clockify-65f1c0ffee"
