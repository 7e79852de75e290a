"""Property test: on random inboxes the engine equals the naive reference implementation,
invariants hold and reruns are byte-identical."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import read_csv, write_inbox
from tests.reference import reconcile_reference
from transforms.run.nightly import run_nightly

JAN1 = date(2026, 1, 1)
SERVICES = [None, "support", "dev"]


@st.composite
def inboxes(draw):
    customers = [
        dict(customer_id=cid, currency="EUR",
             rounding_increment_minutes=draw(st.sampled_from([1, 6, 15])),
             rounding_mode=draw(st.sampled_from(["up", "nearest", "down"])),
             minimum_entry_minutes=draw(st.sampled_from([0, 0, 15])),
             requires_authorization=draw(st.booleans()),
             invoice_cadence="monthly", tax_rate_percent=Decimal(0))
        for cid in ("c1", "c2")
    ]
    blocks = []
    for n in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["hours", "value", "unlimited", "incidents"]))
        purchased_on = JAN1 + timedelta(days=draw(st.integers(0, 45)))
        starts_on = purchased_on + timedelta(days=draw(st.sampled_from([0, 0, 3, 20])))
        expires = draw(st.sampled_from([None, 0, 10, 30])) if kind != "unlimited" else draw(st.sampled_from([0, 10, 30]))
        quantity = {
            "hours": Decimal(draw(st.integers(0, 12))) / 4,
            "value": Decimal(draw(st.integers(0, 20000))) / 100,
            "incidents": Decimal(draw(st.integers(0, 2))),
            "unlimited": None,
        }[kind]
        reorder = None if kind == "unlimited" else draw(st.sampled_from(
            [None, Decimal(0), Decimal(1), Decimal("0.5"), Decimal("2.505") if kind == "hours" else Decimal(2)]))
        blocks.append(dict(
            block_id=f"b{n}", customer_id=draw(st.sampled_from(["c1", "c2"])), kind=kind,
            service=draw(st.sampled_from(SERVICES)), quantity=quantity,
            amount_paid=Decimal(draw(st.integers(0, 50000))) / 100, purchased_on=purchased_on,
            starts_on=starts_on, expires_on=None if expires is None else starts_on + timedelta(days=expires),
            reorder_point=reorder, auto_invoice=False))
    rates, keys = [], set()
    for _ in range(draw(st.integers(0, 4))):
        rate = dict(customer_id=draw(st.sampled_from([None, "c1", "c2"])),
                    service=draw(st.sampled_from(SERVICES)), user=draw(st.sampled_from([None, "ann"])),
                    hourly_rate=Decimal(draw(st.integers(0, 15000))) / 100,
                    valid_from=draw(st.sampled_from([None, date(2026, 1, 20)])), valid_to=None)
        key = (rate["customer_id"], rate["service"], rate["user"], rate["valid_from"])
        if key not in keys:
            keys.add(key)
            rates.append(rate)
    entries = []
    for n in range(draw(st.integers(0, 14))):
        started = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=draw(st.integers(0, 60 * 24 * 58)))
        auth_days = draw(st.sampled_from([None, 0, 1, 5, 30]))
        entries.append(dict(
            entry_id=f"e{n:02d}", customer_id=draw(st.sampled_from(["c1", "c2"])),
            user=draw(st.sampled_from(["ann", "bob"])), service=draw(st.sampled_from(["support", "dev"])),
            started_at=started, duration_seconds=draw(st.sampled_from([0, 29, 30, 450, 3600, 5400, 9000])),
            billable=draw(st.booleans()) or draw(st.booleans()),
            incident_id=draw(st.sampled_from([None, None, "INC-1", "INC-2"])),
            authorized_at=None if auth_days is None else started + timedelta(days=auth_days, hours=2)))
    as_of = JAN1 + timedelta(days=draw(st.integers(10, 70)))
    tz = draw(st.sampled_from(["UTC", "Europe/Berlin"]))
    return customers, blocks, rates, entries, as_of, tz


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(v)


def _csv(rows: list[dict], columns: list[str]) -> str:
    return "\n".join([",".join(columns)] + [",".join(_text(r[c]) for c in columns) for r in rows])


def _write(inbox, customers, blocks, rates, entries):
    timelog_rows = [dict(e, ended_at=e["started_at"] + timedelta(seconds=e["duration_seconds"])) for e in entries]
    write_inbox(
        inbox,
        customers=_csv([dict(c, name=c["customer_id"].upper()) for c in customers],
                       ["customer_id", "name", "currency", "rounding_increment_minutes", "rounding_mode",
                        "minimum_entry_minutes", "requires_authorization"]),
        purchases=_csv(blocks, ["block_id", "customer_id", "kind", "service", "quantity", "amount_paid",
                                "purchased_on", "starts_on", "expires_on", "reorder_point"]),
        rates=_csv(rates, ["customer_id", "service", "user", "hourly_rate", "valid_from", "valid_to"]),
        timelogs=_csv(timelog_rows, ["entry_id", "customer_id", "user", "service", "started_at", "ended_at",
                                     "billable", "incident_id", "authorized_at"]),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inboxes())
def test_engine_equals_reference_and_reruns_are_identical(tmp_path_factory, case):
    customers, blocks, rates, entries, as_of, tz = case
    tmp = tmp_path_factory.mktemp("diff")
    _write(tmp / "inbox", customers, blocks, rates, entries)
    run_nightly(tmp / "inbox", tmp / "w1.duckdb", tmp / "out1", as_of, tz, reports_enabled=False)
    run_nightly(tmp / "inbox", tmp / "w2.duckdb", tmp / "out2", as_of, tz, reports_enabled=False)
    expected = reconcile_reference(customers, blocks, rates, entries, as_of, tz)

    assert read_csv(tmp / "out1" / "quarantine.csv") == []
    for name, ours_drop in (("entries", "document_numbers"), ("balances", None),
                            ("breaches", "topup_invoice_number")):
        ours = read_csv(tmp / "out1" / f"{name}.csv")
        for row in ours:
            row.pop(ours_drop, None)
        assert ours == expected[name], name
        assert (tmp / "out1" / f"{name}.csv").read_bytes() == (tmp / "out2" / f"{name}.csv").read_bytes()
