"""Shared fixtures: build a tiny inbox from inline CSV text, run the nightly job, read OUT."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from transforms.run.nightly import run_nightly

DEFAULT_CUSTOMERS = "customer_id,name,currency\nc1,Customer One,EUR"


def write_inbox(inbox: Path, customers: str | None = DEFAULT_CUSTOMERS, purchases: str | None = None,
                rates: str | None = None, timelogs: str | dict[str, str] | None = None,
                authorizations: str | None = None) -> Path:
    """Write inline CSV texts as inbox files (None = file absent)."""
    inbox.mkdir(parents=True, exist_ok=True)
    files = {"customers.csv": customers, "purchases.csv": purchases, "rates.csv": rates,
             "authorizations.csv": authorizations}
    if isinstance(timelogs, str):
        timelogs = {"t.csv": timelogs}
    for name, text in (timelogs or {}).items():
        files[f"timelogs/{name}"] = text
    for name, text in files.items():
        if text is not None:
            path = inbox / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text.strip("\n") + "\n", encoding="utf-8")
    return inbox


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@dataclass
class Out:
    """The machine outputs of one run, read back as lists of string dicts."""

    path: Path

    def rows(self, name: str) -> list[dict[str, str]]:
        return read_csv(self.path / f"{name}.csv")

    def entry(self, entry_id: str, *keys: str) -> dict[str, str]:
        row = next(r for r in self.rows("entries") if r["entry_id"] == entry_id)
        return {k: row[k] for k in keys} if keys else row

    def balance(self, block_id: str, *keys: str) -> dict[str, str]:
        row = next(r for r in self.rows("balances") if r["block_id"] == block_id)
        return {k: row[k] for k in keys} if keys else row

    @property
    def quarantine(self) -> list[dict[str, str]]:
        return self.rows("quarantine")

    @property
    def breaches(self) -> list[dict[str, str]]:
        return self.rows("breaches")


@pytest.fixture
def reconcile(tmp_path):
    """Run the real nightly job (no Prefect) on an inline inbox; returns its outputs."""
    runs = iter(range(1, 1000))

    def run(as_of: str, tz: str = "UTC", warehouse: Path | None = None, reports: bool = False,
            **files) -> Out:
        n = next(runs)
        inbox = write_inbox(tmp_path / f"inbox{n}", **files)
        out = tmp_path / f"out{n}"
        run_nightly(inbox, warehouse or tmp_path / f"w{n}.duckdb", out, date.fromisoformat(as_of), tz,
                    reports_enabled=reports)
        return Out(out)

    return run


@pytest.fixture(scope="session")
def prefect_server():
    """ONE temporary Prefect server and database for the whole session (started on first use)."""
    import os

    from prefect.testing.utilities import prefect_test_harness

    saved = os.environ.get("PREFECT_SERVER_ANALYTICS_ENABLED")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"   # no telemetry from the test server
    try:
        # a loaded 2-core machine took 82 s to start it (Python 3.13, four other test runs going)
        with prefect_test_harness(server_startup_timeout=300):
            yield
    finally:
        if saved is None:
            os.environ.pop("PREFECT_SERVER_ANALYTICS_ENABLED", None)
        else:
            os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = saved
