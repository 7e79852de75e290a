"""Smoke test of the benchmark harness (issues 6 and 19): a 10k-entry benchmark, checking
outputs and the presence of every figure the report needs, never their values.

It runs `python -m bench.run` end to end on a temporary work folder (input floor, full nightly
without the XLSX reports, output floor, tests/reference.py on the same inbox, incremental
night, close if it exists), then checks what the run wrote and what the results JSON says.
It never asserts on times: the machine is shared and timings are noise here.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bench import run as bench_run

PHASES = {"ingest", "validate", "compute", "documents", "write_outputs", "reports"}
MACHINE_KEYS = {"cpu", "cores", "ram_gib", "python", "duckdb", "pandas", "git"}
SUMMARY_KEYS = {"floor_seconds", "floor_count_only_seconds", "nightly_seconds", "phases",
                "other_seconds", "ratio_to_floor", "peak_rss_mib", "outputs", "counts", "reps"}
#: issue 19: the floor, the documents' share, memory at the end of compute
SUMMARY_KEYS_19 = {"output_floor_seconds", "floor_in_out_seconds", "ratio_to_floor_in_out", "documents_issued",
                   "documents_files_seconds", "documents_files_share", "reconciliation_seconds",
                   "reconciliation_ratio_to_floor_in_out", "peak_rss_mib_after_compute", "watched_peak_rss_mib"}
INCREMENTAL_KEYS_19 = {"share_of_full", "share_of_full_reconciliation", "reconciliation_share_of_full_reconciliation",
                       "phases", "reconciliation_seconds", "prepaid_logs_rendered"}
REFERENCE_KEYS = {"seconds", "read_seconds", "reconcile_seconds", "peak_rss_mib", "engine_seconds", "speedup",
                  "engine_peak_rss_mib_after_compute", "adapted", "agreement"}
MACHINE_OUTPUTS = {"balances.csv", "entries.csv", "ledger.csv", "breaches.csv", "quarantine.csv",
                   "run.json"}


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def quarantined(out: Path, prefix: str) -> int:
    """Quarantined rows of input files whose name starts with prefix (whole-file rejects too)."""
    return sum(1 for r in rows(out / "quarantine.csv") if r["source_file"].startswith(prefix))


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    work, results, markdown = root / "work", root / "results", root / "BENCHMARKS.md"
    # --no-reports keeps it well under 30 s (the XLSX logs are ~2 s per run at 10k and have tests
    # of their own); floor, full run, incremental night and close all run.
    code = bench_run.main(["--sizes", "10k", "--reps", "1", "--no-prefect", "--no-reports", "--timeout", "600",
                           "--work", str(work), "--results", str(results), "--markdown", str(markdown)])
    assert code == 0
    return work, results, markdown


def test_results_json_has_the_expected_keys(bench):
    _, results, _ = bench
    data = json.loads((results / "10k.json").read_text())
    assert data["size"] == "10k" and data["entries"] == 10_000 and data["customers"] == 100
    assert MACHINE_KEYS <= set(data["machine"])
    assert data["machine"]["cores"] >= 1
    summary = data["summary"]
    assert SUMMARY_KEYS <= set(summary)
    assert PHASES <= set(summary["phases"])
    assert summary["ratio_to_floor"] > 0 and summary["peak_rss_mib"] > 0
    assert len(data["reps"]) == 1 and {"floor", "nightly"} <= set(data["reps"][0])
    assert "summary" in data["incremental"] and "nightly_seconds" in data["incremental"]["summary"]
    assert "seconds" in data["close"] or "skipped" in data["close"]
    if "seconds" in data["close"]:
        assert data["close"]["exit_code"] == 0
        assert "reconciliation.csv" in data["close"]["outputs"]["files"]


def test_results_json_has_the_issue_19_figures(bench):
    _, results, _ = bench
    data = json.loads((results / "10k.json").read_text())
    assert SUMMARY_KEYS_19 <= set(data["summary"])
    assert {"files", "bytes", "seconds"} <= set(data["output_floor"])
    assert INCREMENTAL_KEYS_19 <= set(data["incremental"]["summary"])
    assert data["incremental"]["summary"]["prepaid_logs_rendered"] == 0   # --no-reports
    assert REFERENCE_KEYS <= set(data["reference"])
    assert data["summary"]["documents_issued"] > 0


def test_inbox_has_a_seller_so_every_document_gets_html_pdf_and_xml(bench):
    work, results, _ = bench
    data = json.loads((results / "10k.json").read_text())
    assert (work / "inbox-10k" / "seller.toml").exists()
    assert data["inbox_billing"] == {"seller_toml": True, "customers_with_billing_details": 100}
    outputs = data["summary"]["outputs"]
    issued = data["summary"]["documents_issued"]
    assert (outputs["invoice_html_files"], outputs["invoice_pdf_files"], outputs["invoice_xml_files"]) == (
        issued, issued, issued)


def test_reference_reads_the_same_inbox_and_agrees_with_the_engine(bench):
    _, results, _ = bench
    data = json.loads((results / "10k.json").read_text())
    ref = data["reference"]
    assert ref["adapted"]["entries_dropped_unknown_customer"] == 0
    assert ref["rows"]["entries"] == data["summary"]["outputs"]["rows"]["entries"]
    for name in ("entries", "balances"):
        agreement = ref["agreement"][name]
        assert agreement["equal_rows"] == agreement["reference_rows"] == agreement["engine_rows"]


def test_floor_reads_every_generated_row(bench):
    _, results, _ = bench
    data = json.loads((results / "10k.json").read_text())
    generated = data["generated"]
    floor = data["reps"][0]["floor"]
    expected = (generated["customers"] + generated["blocks"] + generated["rates"]
                + generated["authorizations"] + generated["entries"])
    assert floor["rows"] == expected


def test_full_run_outputs_match_the_generated_inbox(bench):
    work, results, _ = bench
    data = json.loads((results / "10k.json").read_text())
    out = work / "10k" / "out-full"
    assert MACHINE_OUTPUTS <= {p.name for p in out.iterdir()}
    generated = data["generated"]
    entries = rows(out / "entries.csv")
    assert len(entries) == generated["entries"] - quarantined(out, "timelogs/")
    assert len({e["entry_id"] for e in entries}) == len(entries)
    assert len(rows(out / "balances.csv")) == generated["blocks"] - quarantined(out, "purchases.csv")
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["entries"] == len(entries)
    assert data["summary"]["outputs"]["rows"]["entries"] == len(entries)
    assert PHASES <= set(run["timings_seconds"])


def test_incremental_night_adds_one_day_on_top(bench):
    work, results, _ = bench
    data = json.loads((results / "10k.json").read_text())
    inc = data["incremental"]
    assert inc["entries_added"] == 10_000 // 250
    out = work / "10k" / "out-inc"
    entries = rows(out / "entries.csv")
    assert len(entries) == data["generated"]["entries"] + inc["entries_added"] - quarantined(out, "timelogs/")
    new_ids = {e["entry_id"] for e in entries} - {e["entry_id"] for e in rows(work / "10k" / "out-full" / "entries.csv")}
    assert len(new_ids) == inc["entries_added"]
    nightly = inc["reps"][0]["nightly"]
    assert nightly["files_ingested"] == 2        # the new time log and the grown authorizations.csv
    assert nightly["files_unchanged"] >= 15


def test_markdown_is_rendered(bench):
    _, _, markdown = bench
    text = markdown.read_text()
    assert "| 10k | 10,000 |" in text
    assert "## Goals (issue 19; one row kept from issue 6)" in text
    for heading in ("### The full night, its floor and the reconciliation", "### The incremental night",
                    "### Memory", "### Against the naive way (tests/reference.py)"):
        assert heading in text
    assert "### What it would take" not in text         # its lines are in the goals table


def test_folders_moved_out_of_the_way_are_deleted_at_the_end(bench):
    work, _, _ = bench
    assert sorted(p.relative_to(work).as_posix() for p in work.rglob(".trash")) == []
    assert (work / "10k" / "out-full" / "run.json").is_file()
