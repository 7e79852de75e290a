"""The run's summary in the accountant's words: minutes that add up, money per currency,
what changed since the previous run, every output (transforms/run/summary.py)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from flows.defaults import DEMO_AS_OF, DEMO_INBOX
from tests.conftest import write_inbox
from tests.flows.conftest import STORY
from transforms.run.nightly import run_nightly
from transforms.run.summary import InvariantViolation, final_line, minute_split, render


def test_demo_minutes__covered_valued_overage_unpriced_add_up_to_charged(tmp_path):
    report = run_nightly(DEMO_INBOX, tmp_path / "w.duckdb", tmp_path / "out", DEMO_AS_OF, reports_enabled=False)

    m = report.counts["minutes"]
    assert m == {"charged": 22098, "covered_by_blocks": 15106, "valued": 3772, "overage": 3220, "unpriced": 0}
    assert m["covered_by_blocks"] + m["valued"] + m["overage"] + m["unpriced"] == m["charged"]
    # the figures run.json had before keep their names and meaning
    assert (report.counts["minutes_charged"], report.counts["minutes_covered"],
            report.counts["minutes_overage"]) == (22098, 15106, 3220)


def test_minute_split__entry_whose_parts_miss_minutes__invariant_violation():
    con = duckdb.connect()
    con.execute("""create table mart_entries as select * from (values
        ('e1', 'charged', 60, 30, 0, 20, false),
        ('e2', 'charged', 90, 0, 4500, 30, false)) t(entry_id, status, billable_minutes, covered_minutes,
                                                     value_cents, overage_minutes, unpriced)""")
    with pytest.raises(InvariantViolation) as failure:
        minute_split(con)
    assert str(failure.value) == ("charged minutes do not add up: covered by blocks 30 + valued 60 + overage 50 "
                                  "+ unpriced 0 = 140, charged 150; entries with a negative part: 0")


def test_money_per_currency__value_used_overage_breakage_and_documents_by_kind(tmp_path):
    inbox = write_inbox(
        tmp_path / "inbox", customers="customer_id,name,currency\nc1,One,EUR\nc2,Two,GBP",
        purchases="block_id,customer_id,kind,service,quantity,amount_paid,purchased_on,expires_on\n"
                  "v1,c1,value,,100.00,90.00,2026-01-01,\n"
                  "v2,c2,value,,50.00,50.00,2026-01-01,2026-01-31",
        rates="customer_id,hourly_rate\nc1,60.00\nc2,60.00",
        timelogs="entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
                 "e1,c1,ann,support,2026-01-10T09:00,150,2026-01-10T12:00\n"
                 "e2,c2,bob,support,2026-01-12T09:00,30,2026-01-12T12:00")
    report = run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 2, 28), reports_enabled=False)

    assert report.counts["money_charged"] == {
        "EUR": {"value_used": "100.00", "overage": "50.00", "breakage": "0.00"},
        "GBP": {"value_used": "30.00", "overage": "0.00", "breakage": "20.00"}}
    assert report.counts["documents_by_currency"] == {
        "EUR": {"overage": {"count": 1, "net": "50.00", "total": "50.00"}}}
    assert report.counts["minutes"] == {"charged": 180, "covered_by_blocks": 0, "valued": 130, "overage": 50,
                                        "unpriced": 0}


def test_changes_since_previous_run__new_corrected_charged_entries_breaches_expiries(tmp_path):
    w = tmp_path / "w.duckdb"
    inbox = write_inbox(tmp_path / "inbox", **STORY)
    first = run_nightly(inbox, w, tmp_path / "out1", date(2026, 1, 31), reports_enabled=False)
    (inbox / "timelogs" / "zz-later.csv").write_text(
        "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
        "e1,c1,ann,support,2026-01-10T09:00,90,2026-01-11T10:00\n"          # e1 shortened
        "e5,c1,ann,support,2026-02-20T09:00,30,2026-02-20T10:00\n", encoding="utf-8")
    second = run_nightly(inbox, w, tmp_path / "out2", date(2026, 3, 1), reports_enabled=False)

    assert first.counts["changes"] == {"previous_run_id": None}
    assert second.counts["changes"] == {
        "previous_run_id": first.run_id, "previous_as_of": "2026-01-31", "previous_command": "nightly",
        "entries_new": 1, "entries_corrected": 1, "entries_newly_charged": 2, "documents_new": 0,
        "pools_newly_in_breach": [], "pools_no_longer_in_breach": [], "blocks_newly_expired": ["b1"]}
    text = render(second)
    assert "  entries: 1 new, 1 corrected by a later version, 2 newly charged" in text
    assert "  blocks newly expired: 1 (b1)" in text


def test_render__every_output_by_absolute_path_and_final_line(tmp_path):
    report = run_nightly(write_inbox(tmp_path / "inbox", **STORY), tmp_path / "w.duckdb", tmp_path / "out",
                         date(2026, 1, 31), reports_enabled=False)

    text = render(report)
    listed = text[text.index(f"Outputs in {tmp_path / 'out'}:") + 1:]
    assert listed == [f"  {tmp_path / 'out' / name}" for name in
                      ("balances.csv", "breaches.csv", "entries.csv", "invoice_lines.csv", "invoices.csv",
                       "ledger.csv", "quarantine.csv", "run.json", "supersessions.csv")] + [
        "", "Warnings (1):", "  no seller.toml in the inbox: documents carry no seller details and no e-invoice "
                             "(XML) is written"]
    assert final_line(report) == (f"nightly run 1 as of 2026-01-31 committed: 0 documents issued, "
                                  f"0 input lines quarantined; outputs in {tmp_path / 'out'}")


def test_render_close__deferred_revenue_and_breakage_in_money_not_cents(books):
    books.inbox()
    report = books.close("2026-01")

    text = render(report)
    assert text[text.index("Close of 2026-01:"):text.index("Close of 2026-01:") + 5] == [
        "Close of 2026-01:",
        "  reconciled pools: 2; late adjustments: 0",
        "  deferred revenue (prepaid value not yet used): EUR 1,100.00",
        "  breakage of the period (expired unused value): EUR 0.00",
        "  period 2026-01 is closed"]
