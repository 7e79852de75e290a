"""Harvest detailed time report → canonical time-log rows."""

from transforms.ingest.trackers import Issue

from tests.trackers.helpers import adapt_bytes, canonical


def test_harvest__date_and_hours__start_at_midnight_duration_from_raw_hours(sample):
    out = sample("harvest_detailed.csv")
    assert out.tracker == "harvest"
    assert out.issues == []
    assert out.rows == [
        (2, canonical(currency="EUR",
            entry_id="harvest-99b63d399d806047d65e#0", customer_id="Acme GmbH", user="Anna Berg",
            service="Consulting", started_at="2026-03-09T00:00:00", duration_minutes="90",
            billable="true", authorized_at="2026-03-09T01:30:00", project="Retainer 2026",
            task="Consulting", description="Quarterly review\nwith CFO",
            billed_elsewhere="false")),
        (4, canonical(currency="EUR",
            entry_id="harvest-08e68bac4f8a26cd1f54#0", customer_id="Acme GmbH", user="Ben Ortiz",
            service="Consulting", started_at="2026-03-09T00:00:00", duration_minutes="10.2",
            billable="true", project="Retainer 2026", task="Consulting",
            description="Follow-up mail", billed_elsewhere="true")),
        (5, canonical(currency="EUR",
            entry_id="harvest-041846181908aee779e0#0", customer_id="Globex Ltd",
            user="Carla Diaz", service="Training", started_at="2026-03-10T00:00:00",
            duration_minutes="135", billable="false", authorized_at="2026-03-10T02:15:00",
            project="Onboarding", task="Training", billed_elsewhere="false")),
    ]


def test_harvest__hours_not_hours_rounded__used_for_duration(sample):
    _, row = sample("harvest_detailed.csv").rows[1]  # Hours 0.17, Hours Rounded 0.25
    assert row["duration_minutes"] == "10.2"


def test_harvest__approved_yes__authorized_at_entry_end_not_approved_blank(sample):
    rows = sample("harvest_detailed.csv").rows
    assert [row["authorized_at"] for _, row in rows] == [
        "2026-03-09T01:30:00", "", "2026-03-10T02:15:00"]


def test_harvest__invoiced_yes__billed_elsewhere_true(sample):
    rows = sample("harvest_detailed.csv").rows
    assert [row["billed_elsewhere"] for _, row in rows] == ["false", "true", "false"]


def test_harvest__first_and_last_name__joined_as_user(sample):
    rows = sample("harvest_detailed.csv").rows
    assert [row["user"] for _, row in rows] == ["Anna Berg", "Ben Ortiz", "Carla Diaz"]


def test_harvest__excel_resaved_semicolons_decimal_comma_thousands__exact_rows(sample):
    out = sample("harvest_excel_de.csv")
    assert out.issues == []
    assert out.rows == [
        (2, canonical(currency="EUR",
            entry_id="harvest-0839db639a861c523fea#0", customer_id="Acme GmbH", user="Anna Berg",
            service="Consulting", started_at="2026-03-11T00:00:00", duration_minutes="105",
            billable="true", authorized_at="2026-03-11T01:45:00", project="Retainer 2026",
            task="Consulting", description="Jahresplanung", billed_elsewhere="false")),
        (3, canonical(currency="EUR",
            entry_id="harvest-62f861f97a41e914f4a4#0", customer_id="Acme GmbH", user="Ben Ortiz",
            service="Migration", started_at="2026-03-12T00:00:00", duration_minutes="74070",
            billable="true", project="Datenmigration", task="Migration",
            description="Altdaten übernommen (Pauschale)", billed_elsewhere="false")),
    ]


def test_harvest__mapping_authorized_at_blank__approval_ignored(sample):
    rows = sample("harvest_detailed.csv", {"harvest": {"authorized_at": ""}}).rows
    assert [row["authorized_at"] for _, row in rows] == ["", "", ""]


def test_harvest__approved_with_a_third_of_a_minute__authorized_rounded_up_to_second():
    out = adapt_bytes(
        b"Date,Client,Task,Hours,Billable?,Approved?,First Name,Last Name\n"
        b"2026-03-09,Acme,Consulting,0.0001,Yes,Yes,Ann,Lee\n")  # 0.36 s
    _, row = out.rows[0]
    assert (row["duration_minutes"], row["authorized_at"]) == ("0.006", "2026-03-09T00:00:01")


def test_harvest__negative_hours__negative_duration_issue():
    out = adapt_bytes(
        b"Date,Client,Task,Hours,Billable?,First Name,Last Name\n"
        b"2026-03-09,Acme,Consulting,-1.5,Yes,Ann,Lee\n")
    assert out.issues == [
        Issue(2, "Hours", "-1.5", "negative_duration", "Hours '-1.5' is negative")]


def test_harvest__unreadable_approved_flag__row_issue():
    out = adapt_bytes(
        b"Date,Client,Task,Hours,Approved?,First Name,Last Name\n"
        b"2026-03-09,Acme,Consulting,1,maybe,Ann,Lee\n")
    assert out.issues == [Issue(2, "Approved?", "maybe", "unparseable_value",
                                "Approved? 'maybe' is not yes/no (true/false, yes/no, 1/0)")]


def test_harvest__name_columns_missing__one_missing_column_issue():
    out = adapt_bytes(b"Date,Client,Task,Hours,Billable?\n2026-03-09,Acme,Consulting,1,Yes\n")
    assert out.issues == [Issue(0, "First Name", "", "missing_column",
                                "harvest export lacks column(s): First Name or Last Name")]
