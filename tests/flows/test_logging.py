"""Log lines of a run's phases, the live progress display, and what -q / -v print."""

from __future__ import annotations

import io
import itertools
import logging
import re
from datetime import date

import pytest

from tests.conftest import write_inbox
from tests.flows.conftest import STORY
from transforms import progress
from transforms.run.nightly import run_nightly
from transforms.warehouse import RAW_KINDS

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


@pytest.fixture
def quarter_second_clock(monkeypatch):
    """Every reading of the phase clock is 0.25 s after the one before."""
    ticks = itertools.count(1)
    monkeypatch.setattr(progress, "perf_counter", lambda: next(ticks) / 4)


def test_nightly__one_info_line_per_phase_with_counts_and_seconds(tmp_path, caplog, quarter_second_clock):
    caplog.set_level(logging.INFO, logger="prepaid")
    out = tmp_path / "out"
    run_nightly(write_inbox(tmp_path / "inbox", **STORY), tmp_path / "w.duckdb", out, date(2026, 1, 31),
                reports_enabled=False)

    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("prepaid.transforms.run.nightly", "INFO", line) for line in (
            "ingest: 4 files in the inbox, 4 new or changed, 0 unchanged; 9 rows added (0.25 s)",
            "validate: 1 customer, 3 blocks, 1 rate, 4 entries accepted; 0 rows quarantined (0.25 s)",
            "compute: 4 entries over 3 blocks (0.25 s)",
            "documents: 0 issued (0.25 s)",
            "write_outputs: machine outputs and 0 documents (0.25 s)",
            "reports: skipped (--no-reports) (0.25 s)")] + [
        ("prepaid.transforms.run.nightly", "WARNING", "no seller.toml in the inbox: documents carry no seller details "
                                                  "and no e-invoice (XML) is written")] + [
        ("prepaid.transforms.run.nightly", "INFO", line) for line in (
            "commit: run 1 in the warehouse (0.25 s)",
            f"publish: outputs in {out} (0.25 s)",
            "nightly run 1 as of 2026-01-31 committed in 4.25 s")]


def test_phase__fails__error_line_names_it_and_exception_goes_on(caplog, quarter_second_clock):
    caplog.set_level(logging.INFO, logger="prepaid")
    with pytest.raises(OSError, match="disk full"):
        with progress.phase("write_outputs") as p:
            p.detail = "not reached"
            raise OSError("disk full")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [("ERROR", "write_outputs: failed (0.25 s)")]


def test_live_display__tracked_steps__bar_counts_and_names_the_current_step():
    seen = []
    with progress.cli_output(progress.NORMAL, stream=io.StringIO(), live=True):
        with progress.phase("ingest"):
            for name in progress.track(["customers.csv", "timelogs/t.csv"]):
                task = progress._display.tasks[0]
                seen.append((task.description, task.completed, task.total))
        assert progress._display.tasks == []      # an ended phase leaves the display
    assert seen == [("ingest: customers.csv", 0, 2), ("ingest: timelogs/t.csv", 1, 2)]
    assert progress._display is None


def cli_night(tmp_path, *flags: str) -> list[str]:
    inbox = write_inbox(tmp_path / "inbox", **STORY)
    return ["nightly", "--no-prefect", "--no-reports", "--inbox", str(inbox), "--warehouse",
            str(tmp_path / "w.duckdb"), "--as-of", "2026-01-31", "--out", str(tmp_path / "out"), *flags]


def test_cli_quiet__only_the_final_line_nothing_on_stderr(tmp_path, capsys):
    from flows.cli import main

    assert main(cli_night(tmp_path, "-q")) == 0
    out, err = capsys.readouterr()
    assert out == (f"nightly run 1 as of 2026-01-31 committed: 0 documents issued, 0 input lines quarantined; "
                   f"outputs in {tmp_path / 'out'}\n")
    assert err == ""


def test_cli_default__phase_lines_on_stderr_summary_on_stdout_ending_with_final_line(tmp_path, capsys):
    from flows.cli import main

    assert main(cli_night(tmp_path)) == 0
    out, err = capsys.readouterr()
    lines = [TIMESTAMP.sub("", line) for line in err.splitlines()]
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "INFO ingest", "INFO validate", "INFO compute", "INFO documents", "INFO write_outputs", "INFO reports",
        "WARNING no seller.toml in the inbox", "INFO commit", "INFO publish"]
    assert re.fullmatch(r"INFO nightly run 1 as of 2026-01-31 committed in \d+\.\d\d s", lines[-1])
    assert out.splitlines()[0] == "nightly run 1 as of 2026-01-31: committed"
    assert out.splitlines()[-1] == (f"nightly run 1 as of 2026-01-31 committed: 0 documents issued, "
                                    f"0 input lines quarantined; outputs in {tmp_path / 'out'}")


def test_cli_verbose__debug_lines_name_each_file_and_table_read(tmp_path, capsys):
    from flows.cli import main

    assert main(cli_night(tmp_path, "-v")) == 0
    debug = [TIMESTAMP.sub("", line) for line in capsys.readouterr().err.splitlines() if " DEBUG " in line]
    reading = [f"DEBUG validate: reading {kind}" for kind in RAW_KINDS]
    typed = reading.index("DEBUG validate: reading timelogs") + 1
    assert debug == ["DEBUG ingest: customers.csv", "DEBUG ingest: purchases.csv", "DEBUG ingest: rates.csv",
                     "DEBUG ingest: timelogs/t.csv"] + reading[:typed] + [
                     "DEBUG typed 4 time-log row(s) of 1 new file version(s)"] + reading[typed:]


def test_cli_quiet_and_verbose_together__usage_error():
    from flows.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["demo", "-q", "-v"])
    assert stop.value.code == 2


def test_live_display__validate__reads_each_table_then_checks_as_a_last_step(tmp_path, monkeypatch):
    from transforms.run import nightly

    seen = []
    monkeypatch.setattr(nightly.validate_mod, "validate", lambda raw, tz, timelogs: seen.append(
        (progress._display.tasks[0].description, progress._display.tasks[0].completed,
         progress._display.tasks[0].total)))
    monkeypatch.setattr(nightly, "current_raw", lambda con, kind: None)
    monkeypatch.setattr(nightly.kept, "typed_timelogs", lambda con, tz, recompute: None)
    with progress.cli_output(progress.NORMAL, stream=io.StringIO(), live=True):
        with progress.phase("validate"):
            nightly.load_inputs(None, "UTC")
    assert seen == [("validate: checking every row", 5, 6)]
