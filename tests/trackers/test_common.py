"""Detection, entry ids, cell parsers, mapping and robustness shared by all adapters."""

import hashlib
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.ingest.csvio import Record
from transforms.ingest.trackers import Issue, adapt, detect
from transforms.ingest.trackers.common import (
    decimal_mark_evidence,
    parse_clock,
    parse_decimal,
    parse_hms_seconds,
)

from tests.trackers.helpers import (
    SAMPLES,
    adapt_bytes,
    assert_every_record_accounted_for,
)

# -- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name, tracker", [
    ("toggl_detailed_eur.csv", "toggl"), ("toggl_detailed_quoted.csv", "toggl"),
    ("toggl_detailed_usd.csv", "toggl"), ("clockify_detailed_us.csv", "clockify"),
    ("clockify_detailed_eu.csv", "clockify"), ("harvest_detailed.csv", "harvest"),
    ("harvest_excel_de.csv", "harvest"), ("kimai_en.csv", "kimai"), ("kimai_de.csv", "kimai"),
])
def test_detect__each_sample_export__its_tracker(name, tracker, sample):
    assert sample(name).tracker == tracker


def test_detect__canonical_time_log_header__none():
    header = ["entry_id", "customer_id", "user", "service", "started_at", "duration_minutes"]
    assert detect(header) is None
    assert adapt(header, [Record(2, ("e1", "c1", "ann", "support", "2026-01-05T09:00", "90"))]) \
        is None


def test_detect__unknown_header__none():
    assert detect(["Datum", "Betrag", "Kunde"]) is None


def test_detect__header_names_case_and_blanks__ignored():
    assert detect(["  START DATE ", "duration (H)", "client"]) == "clockify"
    assert detect(["datum", " VON", "bis ", "Dauer"]) == "kimai"


# -- entry ids ---------------------------------------------------------------------------------


def test_hash_id__sha256_over_identity_columns_nul_joined__first_20_hex_and_counter(sample):
    _, row = sample("toggl_detailed_eur.csv").rows[0]
    identity = ["Acme GmbH", "Anna Berg", "Remote support", "2026-03-02T09:00:00",
                "2026-03-02T10:30:00", "", "", "Support", "Remote support",
                "Printer queue stuck"]
    digest = hashlib.sha256("\x00".join(identity).encode()).hexdigest()[:20]
    assert row["entry_id"] == f"toggl-{digest}#0"


def test_hash_id__same_export_adapted_twice__identical_ids(sample):
    first = [row["entry_id"] for _, row in sample("toggl_week1.csv").rows]
    second = [row["entry_id"] for _, row in sample("toggl_week1.csv").rows]
    assert first == second


def test_hash_id__two_identical_entries_in_one_file__both_kept_with_counter(sample):
    rows = sample("toggl_week1.csv").rows
    assert [row["entry_id"] for _, row in rows] == [
        "toggl-814b7077aa0697e2624e#0", "toggl-fef785383db24a6e24b4#0",
        "toggl-fef785383db24a6e24b4#1", "toggl-6bd1bc31c3e513570c42#0"]


def test_hash_id__overlapping_exports__shared_rows_same_ids(sample):
    week1 = {row["entry_id"] for _, row in sample("toggl_week1.csv").rows}
    week2 = [row["entry_id"] for _, row in sample("toggl_week2.csv").rows]
    assert week2 == ["toggl-fef785383db24a6e24b4#0", "toggl-fef785383db24a6e24b4#1",
                     "toggl-6bd1bc31c3e513570c42#0", "toggl-09a7149891df92a998a2#0"]
    assert [i in week1 for i in week2] == [True, True, True, False]


def test_hash_id__billable_flag_changed_in_reexport__same_id_so_it_supersedes(sample):
    week1 = {row["entry_id"]: row for _, row in sample("toggl_week1.csv").rows}
    _, changed = sample("toggl_week2.csv").rows[2]  # Firewall rules: Billable Yes -> No
    assert week1[changed["entry_id"]]["billable"] == "true"
    assert changed["billable"] == "false"


# -- parsers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, mark, expected", [
    ("1.5", None, "1.5"), ("1,5", None, "1.5"), ("1.234,5", None, "1234.5"),
    ("1,234.5", None, "1234.5"), ("1,234,567", None, "1234567"), ("1.234", ",", "1234"),
    ("1,234", ".", "1234"), ("1,234", None, "1.234"), ("0,25", None, "0.25"),
    ("12 345,5", None, "12345.5"), (",5", None, "0.5"), ("-0.5", None, "-0.5"), ("7", None, "7"),
])
def test_parse_decimal__commas_dots_thousands__exact(text, mark, expected):
    assert parse_decimal(text, mark) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3,4,5", "12,34.5", "1.", "1,2,3.4.5", "--1"])
def test_parse_decimal__malformed__value_error(text):
    with pytest.raises(ValueError):
        parse_decimal(text)


@pytest.mark.parametrize("text, expected", [
    ("1.234,5", ","), ("1,234.5", "."), ("1,5", ","), ("1.50", "."), ("1,234", None),
    ("1.234.567", ","), ("12", None),
])
def test_decimal_mark_evidence__shape_of_number__proves_mark(text, expected):
    assert decimal_mark_evidence(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("09:15:00 AM", "09:15:00"), ("9:15 pm", "21:15:00"), ("12:00:00 AM", "00:00:00"),
    ("12:30:00 PM", "12:30:00"), ("11:30:00 P.M.", "23:30:00"), ("23:59", "23:59:00"),
])
def test_parse_clock__am_pm_and_24h__converted_to_24h(text, expected):
    assert parse_clock(text).isoformat() == expected


@pytest.mark.parametrize("text", ["24:00", "13:00 PM", "0:30 AM", "9.15", "09:61"])
def test_parse_clock__invalid__value_error(text):
    with pytest.raises(ValueError):
        parse_clock(text)


@pytest.mark.parametrize("text, expected", [
    ("01:30:00", 5400), ("0:20", 1200), ("25:00:00", 90000), ("-0:30", -1800),
])
def test_parse_hms_seconds__hours_may_exceed_24(text, expected):
    assert parse_hms_seconds(text) == expected


# -- mapping and file-level problems -----------------------------------------------------------

_TOGGL = (SAMPLES / "toggl_detailed_eur.csv").read_bytes()


def test_mapping__unknown_key__one_invalid_mapping_issue():
    out = adapt_bytes(_TOGGL, {"toggl": {"customer": "Client"}})
    assert out.rows == []
    assert [(i.line, i.reason_code) for i in out.issues] == [(0, "invalid_mapping")]


def test_mapping__column_not_in_file__one_missing_column_issue():
    out = adapt_bytes(_TOGGL, {"toggl": {"incident_id": "Ticket"}})
    assert out.issues == [Issue(0, "Ticket", "", "missing_column",
                                "toggl export lacks column(s): Ticket")]


def test_mapping__list_of_columns__first_non_blank_wins():
    out = adapt_bytes(_TOGGL, {"toggl": {"incident_id": ["Tags", "Email"]}})
    assert [row["incident_id"] for _, row in out.rows] == [
        "anna@firm.example", "migration", "anna@firm.example"]


def test_mapping__other_tracker_table__ignored():
    out = adapt_bytes(_TOGGL, {"harvest": {"service": "Project"}})
    assert [row["service"] for _, row in out.rows] == ["Remote support", "Migration", "Admin"]


def test_mapping__bad_date_order__invalid_mapping():
    out = adapt_bytes(_TOGGL, {"toggl": {"date_order": "ymd"}})
    assert [(i.line, i.reason_code) for i in out.issues] == [(0, "invalid_mapping")]


def test_row_with_more_cells_than_header__extra_cells_issue_other_rows_survive():
    out = adapt_bytes(
        b"User,Client,Task,Start date,Start time,End date,End time,Duration\n"
        b"Ann,Acme,Phone,2026-03-02,09:00:00,2026-03-02,10:00:00,01:00:00\n"
        b"Ann,Acme,Phone,call,2026-03-02,09:00:00,2026-03-02,10:00:00,01:00:00\n")
    assert [line for line, _ in out.rows] == [2]
    assert [(i.line, i.reason_code, i.value) for i in out.issues] == [
        (3, "extra_cells", "01:00:00")]


def test_row_with_fewer_cells_than_header__missing_cells_are_blank():
    out = adapt_bytes(
        b"User,Client,Task,Start date,Start time,End date,End time,Duration,Tags\n"
        b"Ann,Acme,Phone,2026-03-02,09:00:00,2026-03-02,10:00:00\n")
    assert out.rows[0][1]["ended_at"] == "2026-03-02T10:00:00"


# -- robustness --------------------------------------------------------------------------------

_HEADERS = {
    "toggl": ("User", "Client", "Project", "Task", "Description", "Billable", "Start date",
              "Start time", "End date", "End time", "Duration"),
    "clockify": ("Client", "Task", "User", "Billable", "Start Date", "Start Time", "End Date",
                 "End Time", "Duration (h)", "Duration (decimal)", "Type", "Invoiced"),
    "harvest": ("Date", "Client", "Task", "Notes", "Hours", "Billable?", "Invoiced?",
                "Approved?", "First Name", "Last Name"),
    "kimai": ("Datum", "Von", "Bis", "Dauer", "Benutzer", "Kunde", "Tätigkeit", "Abrechenbar"),
}
_CELL = st.one_of(
    st.sampled_from(["", "x", "Yes", "no", "2026-03-02", "13/03/2026", "03/13/2026", "11.03.26",
                     "2026-02-30", "9999-12-31", "09:15 PM", "23:59:59", "25:00", "1:30",
                     "99999:00:00", "1.234,5", "1,5", "-2", "0", "1e9", "9" * 50, "BREAK"]),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(tracker=st.sampled_from(sorted(_HEADERS)), data=st.data())
def test_adapt__arbitrary_cells__never_raises_and_every_record_accounted_for(tracker, data):
    header = _HEADERS[tracker]
    rows = data.draw(st.lists(st.lists(_CELL, min_size=len(header) - 2,
                                       max_size=len(header) + 1), max_size=6))
    records = [Record(i + 2, tuple(cells)) for i, cells in enumerate(rows)]
    out = adapt(header, records)
    assert out is not None and out.tracker == tracker
    assert_every_record_accounted_for(records, out)


def test_docs_trackers_toml_example__no_file_level_issue_for_any_sample(sample):
    doc = (Path(__file__).parents[2] / "docs" / "trackers.md").read_text(encoding="utf-8")
    mapping = tomllib.loads(re.search(r"```toml\n(.*?)```", doc, re.S)[1])
    for path in sorted(SAMPLES.glob("*.csv")):
        out = sample(path.name, mapping)
        assert [i for i in out.issues if i.line == 0] == [], path.name


def test_mapping__list_naming_absent_columns__present_one_used():
    out = adapt_bytes(
        b"Date,From,To,Duration,User,Customer,Project,Activity,Exported\n"
        b"2026-03-16,08:00,09:00,1:00,anna,Acme,P,Support,no\n",
        {"kimai": {"billed_elsewhere": ["Exportiert", "Exported"]}})
    assert out.rows[0][1]["billed_elsewhere"] == "false"
