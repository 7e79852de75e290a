"""The synthetic inbox generator and the hand-made demo inbox: both are valid SPEC §2 input."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from transforms.run.generate import generate_inbox

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"

# SPEC §2, column names exactly as written there.
CUSTOMER_COLUMNS = [
    "customer_id", "name", "aliases", "currency", "rounding_increment_minutes", "rounding_mode",
    "minimum_entry_minutes", "requires_authorization", "invoice_cadence", "tax_rate_percent",
]
PURCHASE_COLUMNS = [
    "block_id", "customer_id", "kind", "service", "quantity", "amount_paid", "purchased_on",
    "starts_on", "expires_on", "reorder_point", "auto_invoice", "invoice_number", "remarks",
]
RATE_COLUMNS = ["customer_id", "service", "user", "hourly_rate", "valid_from", "valid_to"]
TIMELOG_COLUMNS = [
    "entry_id", "customer_id", "user", "service", "started_at", "ended_at", "duration_minutes",
    "billable", "incident_id", "authorized_at", "project", "task", "description",
]
AUTHORIZATION_COLUMNS = ["entry_id", "authorized_at", "authorized_by"]

SMALL = dict(customers=50, entries=2000, seed=11)
MONEY = re.compile(r"\d+\.\d{2}")
LOCAL_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def all_files(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def timelog_rows(root: Path) -> list[dict[str, str]]:
    return [row for path in sorted((root / "timelogs").glob("*.csv")) for row in read(path)[1]]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("inbox")
    return out, generate_inbox(out, **SMALL)


# --- determinism ---------------------------------------------------------------------------


def test_generate__same_seed__byte_identical_files(small, tmp_path):
    out, _ = small
    generate_inbox(tmp_path, **SMALL)
    first, second = all_files(out), all_files(tmp_path)
    assert sorted(first) == sorted(second)
    assert len(first) == 4 + 12  # customers, purchases, rates, authorizations + 12 time logs
    for name in first:
        assert first[name] == second[name], name


def test_generate__different_seed__files_differ(small, tmp_path):
    out, _ = small
    generate_inbox(tmp_path, **dict(SMALL, seed=12))
    first, second = all_files(out), all_files(tmp_path)
    for name in ("customers.csv", "purchases.csv", "timelogs/part-01.csv"):
        assert first[name] != second[name], name


def test_generate__fewer_files_than_before__stale_parts_removed(tmp_path):
    generate_inbox(tmp_path, 5, 100, 1, files=4)
    generate_inbox(tmp_path, 5, 100, 1, files=2)
    names = sorted(p.name for p in (tmp_path / "timelogs").iterdir())
    assert names == ["part-01.csv", "part-02.csv"]


def test_generate__more_files_than_days__every_file_has_a_header(tmp_path):
    counts = generate_inbox(tmp_path, 3, 30, 5, start=date(2026, 3, 1), days=2, files=5)
    parts = sorted((tmp_path / "timelogs").glob("*.csv"))
    assert [p.name for p in parts] == [f"part-0{i}.csv" for i in range(1, 6)]
    assert all(read(p)[0] == TIMELOG_COLUMNS for p in parts)
    assert sum(len(read(p)[1]) for p in parts) == counts["entries"] == 30


# --- counts and references -----------------------------------------------------------------


def test_generate__returned_counts__equal_rows_in_files(small):
    out, counts = small
    assert counts == {
        "customers": 50,
        "blocks": 150,
        "rates": len(read(out / "rates.csv")[1]),
        "entries": 2000,
        "authorizations": len(read(out / "authorizations.csv")[1]),
    }
    assert len(read(out / "customers.csv")[1]) == 50
    assert len(read(out / "purchases.csv")[1]) == 150
    assert len(timelog_rows(out)) == 2000
    assert counts["rates"] > 6 and counts["authorizations"] > 0


def test_generate__headers__exactly_the_spec_columns(small):
    out, _ = small
    assert read(out / "customers.csv")[0] == CUSTOMER_COLUMNS
    assert read(out / "purchases.csv")[0] == PURCHASE_COLUMNS
    assert read(out / "rates.csv")[0] == RATE_COLUMNS
    assert read(out / "authorizations.csv")[0] == AUTHORIZATION_COLUMNS
    for path in (out / "timelogs").glob("*.csv"):
        assert read(path)[0] == TIMELOG_COLUMNS


def test_generate__entry_ids__unique_across_files(small):
    out, _ = small
    ids = [row["entry_id"] for row in timelog_rows(out)]
    assert len(ids) == len(set(ids)) == 2000


def test_generate__time_logs__split_by_date_in_name_order(small):
    out, _ = small
    last = ""
    for path in sorted((out / "timelogs").glob("*.csv")):
        rows = read(path)[1]
        assert rows, path.name
        assert rows[0]["started_at"][:10] >= last
        last = rows[-1]["started_at"][:10]


def test_generate__every_reference__exists(small):
    out, _ = small
    customers = read(out / "customers.csv")[1]
    known = {c["customer_id"] for c in customers}
    names: dict[str, set[str]] = {}
    for c in customers:
        for name in [c["name"], *filter(None, c["aliases"].split("|"))]:
            names.setdefault(name.lower(), set()).add(c["customer_id"])
    assert all(len(ids) == 1 for ids in names.values())  # no ambiguous name or alias
    assert {b["customer_id"] for b in read(out / "purchases.csv")[1]} <= known
    assert {r["customer_id"] for r in read(out / "rates.csv")[1]} <= known | {""}
    entries = timelog_rows(out)
    for e in entries:
        assert e["customer_id"] in known or e["customer_id"].lower() in names, e
    assert any(e["customer_id"] not in known for e in entries)  # some refer by name or alias
    entry_ids = {e["entry_id"] for e in entries}
    assert {a["entry_id"] for a in read(out / "authorizations.csv")[1]} <= entry_ids


# --- values --------------------------------------------------------------------------------


def test_generate__purchases__all_kinds_and_unit_rules(small):
    out, _ = small
    blocks = read(out / "purchases.csv")[1]
    assert {b["kind"] for b in blocks} == {"hours", "value", "unlimited", "incidents"}
    for b in blocks:
        assert MONEY.fullmatch(b["amount_paid"]), b
        first_day = b["starts_on"] or b["purchased_on"]
        assert b["expires_on"] == "" or b["expires_on"] >= first_day, b
        if b["kind"] == "unlimited":
            assert b["quantity"] == "" and b["expires_on"] != "" and b["reorder_point"] == "", b
        elif b["kind"] == "hours":
            for hours in filter(None, (b["quantity"], b["reorder_point"])):
                minutes = Decimal(hours) * 60
                assert minutes == minutes.to_integral_value(), b
        elif b["kind"] == "value":
            assert MONEY.fullmatch(b["quantity"]), b
        else:
            assert b["quantity"].isdigit(), b
    assert len({b["block_id"] for b in blocks}) == len(blocks)


def test_generate__time_entries__valid_values_and_mix(small):
    out, _ = small
    entries = timelog_rows(out)
    for e in entries:
        assert e["user"] and e["service"]
        assert LOCAL_TIMESTAMP.fullmatch(e["started_at"]), e
        assert e["ended_at"] or e["duration_minutes"], e
        started = datetime.fromisoformat(e["started_at"])
        seconds = []
        if e["ended_at"]:
            assert LOCAL_TIMESTAMP.fullmatch(e["ended_at"]), e
            seconds.append(int((datetime.fromisoformat(e["ended_at"]) - started).total_seconds()))
        if e["duration_minutes"]:
            assert re.fullmatch(r"\d+(\.5)?", e["duration_minutes"]), e
            seconds.append(int(Decimal(e["duration_minutes"]) * 60))
        assert max(seconds) - min(seconds) <= 60, e  # both given: they agree
        assert 5 * 60 <= seconds[0] <= 241 * 60, e
        assert e["billable"] in ("true", "false")
        if e["authorized_at"]:
            assert LOCAL_TIMESTAMP.fullmatch(e["authorized_at"]), e
            assert e["authorized_at"] > e["started_at"]
    share = lambda test: sum(1 for e in entries if test(e)) / len(entries)  # noqa: E731
    assert 0.84 < share(lambda e: e["authorized_at"]) < 0.92
    assert 0.01 < share(lambda e: e["billable"] == "false") < 0.06
    assert 0.06 < share(lambda e: e["incident_id"]) < 0.14
    assert 0.05 < share(lambda e: not e["ended_at"]) < 0.2


def test_generate__rates__global_default_and_no_ambiguous_rows(small):
    out, _ = small
    rates = read(out / "rates.csv")[1]
    assert rates[0] == dict(customer_id="", service="", user="", hourly_rate="95.00",
                            valid_from="", valid_to="")
    keys = [(r["customer_id"], r["service"], r["user"], r["valid_from"]) for r in rates]
    assert len(keys) == len(set(keys))
    assert all(MONEY.fullmatch(r["hourly_rate"]) for r in rates)


# --- the demo inbox ------------------------------------------------------------------------


def test_demo__every_file__parses_with_exact_spec_header():
    # the demo's customers also carry the optional billing columns of SPEC §10
    assert read(DEMO / "customers.csv")[0] == CUSTOMER_COLUMNS + [
        "street", "city", "postal_code", "country", "vat_id", "company_id", "email", "endpoint",
        "buyer_reference", "language", "tax_category", "tax_exemption_reason"]
    assert read(DEMO / "purchases.csv")[0] == PURCHASE_COLUMNS
    assert read(DEMO / "rates.csv")[0] == RATE_COLUMNS
    assert read(DEMO / "authorizations.csv")[0] == AUTHORIZATION_COLUMNS
    logs = sorted(p.name for p in (DEMO / "timelogs").glob("*.csv"))
    assert logs == ["2026-01.csv", "2026-02.csv", "2026-03.csv"]
    for name in logs:
        header, rows = read(DEMO / "timelogs" / name)
        assert header == TIMELOG_COLUMNS
        assert all(None not in row and None not in row.values() for row in rows), name


def test_demo__entry_ids__unique_across_time_logs():
    ids = [row["entry_id"] for row in timelog_rows(DEMO)]
    assert 300 <= len(ids) <= 500
    assert len(ids) == len(set(ids))
    assert {a["entry_id"] for a in read(DEMO / "authorizations.csv")[1]} <= set(ids)


def test_demo__reference_data__ids_unique_and_referenced_customers_exist():
    customers = read(DEMO / "customers.csv")[1]
    known = {c["customer_id"] for c in customers}
    assert len(known) == len(customers) == 12
    blocks = read(DEMO / "purchases.csv")[1]
    assert len({b["block_id"] for b in blocks}) == len(blocks)
    assert {b["customer_id"] for b in blocks} <= known
    assert {b["kind"] for b in blocks} == {"hours", "value", "unlimited", "incidents"}
    assert {r["customer_id"] for r in read(DEMO / "rates.csv")[1]} <= known | {""}
