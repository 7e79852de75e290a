"""SPEC §2/§8 ingest: idempotent re-ingest, supersession, release of quarantine after a fix."""

from datetime import date

import duckdb

from tests.conftest import write_inbox
from transforms.run.nightly import run_ingest, run_nightly

TL = "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"


def test_same_files_twice__adds_nothing(tmp_path):
    inbox = write_inbox(tmp_path / "in", timelogs=TL + "e1,c1,ann,support,2026-01-05T09:00,30,")
    first, _ = run_ingest(inbox, tmp_path / "w.duckdb")
    second, counts = run_ingest(inbox, tmp_path / "w.duckdb")
    assert first.files_ingested == ["customers.csv", "timelogs/t.csv"]
    assert second.files_ingested == [] and second.files_unchanged == ["customers.csv", "timelogs/t.csv"]
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("select count(*) from raw_timelogs").fetchone() == (1,)
    assert counts["entries"] == 1


def test_changed_entry_in_later_file__supersedes_and_is_recorded(tmp_path):
    inbox = write_inbox(tmp_path / "in", timelogs={
        "a.csv": TL + "e1,c1,ann,support,2026-01-05T09:00,30,\ne2,c1,ann,support,2026-01-05T09:00,15,",
        "b.csv": TL + "e1,c1,ann,support,2026-01-05T09:00,45,\ne2,c1,ann,support,2026-01-05T09:00,15,",
    })
    run_nightly(inbox, tmp_path / "w.duckdb", tmp_path / "out", date(2026, 1, 31))
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("select * from supersessions").fetchall() == [
        ("entry", "e1", "timelogs/a.csv", 2, "timelogs/b.csv", 2, "duration_minutes")]
    entries = con.execute("select entry_id, billable_minutes from last_entries order by 1").fetchall()
    assert entries == [("e1", 45), ("e2", 15)]


def test_fixing_customers_releases_quarantined_rows(tmp_path):
    w = tmp_path / "w.duckdb"
    timelogs = TL + "e1,Globex,ann,support,2026-01-05T09:00,30,"
    run_nightly(write_inbox(tmp_path / "in1", timelogs=timelogs), w, tmp_path / "out1", date(2026, 1, 31))
    fixed = "customer_id,name,currency\nc1,Customer One,EUR\nc2,Globex,EUR"
    run_nightly(write_inbox(tmp_path / "in2", customers=fixed, timelogs=timelogs), w, tmp_path / "out2", date(2026, 1, 31))
    before = (tmp_path / "out1" / "quarantine.csv").read_text().splitlines()
    after = (tmp_path / "out2" / "quarantine.csv").read_text().splitlines()
    assert [l.split(",")[4] for l in before[1:]] == ["unknown_customer"]
    assert after == ["source_file,line,column,value,reason_code,detail"]
    assert "e1,c2,pending" in (tmp_path / "out2" / "entries.csv").read_text()


def test_reference_file_rejected_whole__last_accepted_version_stays(tmp_path):
    w = tmp_path / "w.duckdb"
    run_ingest(write_inbox(tmp_path / "in1"), w)
    _, counts = run_ingest(write_inbox(tmp_path / "in2", customers="customer_id,currency\nc1,EUR"), w)
    assert counts["customers"] == 1
    assert counts["quarantine_by_reason"] == {"missing_column": 1}
