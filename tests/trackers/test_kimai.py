"""Kimai CSV export (English and German headers) → canonical time-log rows."""

from transforms.ingest.trackers import Issue

from tests.trackers.helpers import adapt_bytes, canonical


def test_kimai__english_export_with_id__ids_kept_with_tracker_prefix(sample):
    out = sample("kimai_en.csv")
    assert out.tracker == "kimai"
    assert out.issues == []
    assert out.rows == [
        (2, canonical(
            entry_id="kimai-1041", customer_id="Acme GmbH", user="anna",
            service="Remote support", started_at="2026-03-16T08:00:00",
            ended_at="2026-03-16T10:30:00", project="Support 2026", task="Remote support",
            description="Server check")),
        (3, canonical(
            entry_id="kimai-1042", customer_id="Acme GmbH", user="ben", service="On-site",
            started_at="2026-03-16T12:00:00", duration_minutes="270", project="Support 2026",
            task="On-site", description="Office move (30 min break)")),
        (4, canonical(
            entry_id="kimai-1043", customer_id="Globex Ltd", user="ben", service="Maintenance",
            started_at="2026-03-16T22:30:00", ended_at="2026-03-17T01:00:00", project="Ops",
            task="Maintenance", description="Night patching")),
    ]


def test_kimai__duration_shorter_than_from_to__break_excluded_duration_only(sample):
    _, row = sample("kimai_en.csv").rows[1]  # 12:00-17:00 with Duration 4:30
    assert (row["ended_at"], row["duration_minutes"]) == ("", "270")


def test_kimai__to_before_from__ends_next_day(sample):
    _, row = sample("kimai_en.csv").rows[2]
    assert (row["started_at"], row["ended_at"]) == ("2026-03-16T22:30:00", "2026-03-17T01:00:00")


def test_kimai__german_headers_semicolons_dotted_dates_bom__exact_rows(sample):
    out = sample("kimai_de.csv")
    assert out.tracker == "kimai"
    assert out.issues == []
    assert out.rows == [
        (2, canonical(
            entry_id="kimai-9268d7492578b1a6700a#0", customer_id="Müller & Söhne KG",
            user="Eva Novak", service="Fernwartung", started_at="2026-03-11T09:00:00",
            ended_at="2026-03-11T10:15:00", billable="true", project="Wartung 2026",
            task="Fernwartung", description="Drucker eingerichtet\nTreiber aktualisiert")),
        (4, canonical(
            entry_id="kimai-042b04e8f950dc06e3f0#0", customer_id="Müller & Söhne KG",
            user="Eva Novak", service="Telefonat", started_at="2026-03-12T14:00:00",
            ended_at="2026-03-12T14:20:00", billable="false", project="Wartung 2026",
            task="Telefonat", description="Rückfrage Lizenz")),
    ]


def test_kimai__decimal_hours_duration_with_comma__minutes():
    out = adapt_bytes(
        "Datum;Von;Bis;Dauer;Benutzer;Kunde;Projekt;Tätigkeit;Beschreibung\n"
        "11.03.2026;09:00;;1,25;Eva;Acme;P;Support;x\n".encode())
    _, row = out.rows[0]
    assert (row["started_at"], row["ended_at"], row["duration_minutes"]) == (
        "2026-03-11T09:00:00", "", "75")


def test_kimai__mapping_billed_elsewhere_to_exported_column__read_as_flag():
    out = adapt_bytes(
        b"Date,From,To,Duration,User,Customer,Project,Activity,Exported\n"
        b"2026-03-16,08:00,09:00,1:00,anna,Acme,P,Support,yes\n",
        {"kimai": {"billed_elsewhere": "Exported"}})
    assert out.rows[0][1]["billed_elsewhere"] == "true"


def test_kimai__blank_activity__missing_value_issue():
    out = adapt_bytes(
        b"Date,From,To,Duration,User,Customer,Project,Activity\n"
        b"2026-03-16,08:00,09:00,1:00,anna,Acme,P,\n")
    assert out.issues == [Issue(2, "Activity", "", "missing_value", "Activity is blank")]


def test_kimai__duration_agrees_with_from_to_within_60s__ended_at_written():
    out = adapt_bytes(
        b"Date,From,To,Duration,User,Customer,Project,Activity\n"
        b"2026-03-16,08:00,09:01,1:00,anna,Acme,P,Support\n")
    _, row = out.rows[0]
    assert (row["ended_at"], row["duration_minutes"]) == ("2026-03-16T09:01:00", "")
