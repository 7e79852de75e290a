"""Fixtures for the orchestration tests (the one Prefect test server is in tests/conftest.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import read_csv, write_inbox


def rows(path: Path) -> list[dict[str, str]]:
    return read_csv(path)


def table(warehouse: Path, query: str, params=None) -> list[tuple]:
    """Rows of a query on a warehouse, opened read-only for the moment."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


# A small story over three months, used by several tests (amounts chosen to be exact):
# c1 buys 10 h of support (1000.00) in January, expiring end of February, and unlimited
# monitoring (610.00) for 61 days (1 January to 2 March); a value block (500.00 for 450.00) in
# February. e3 is worked on 30 January but authorized on 2 February; e4 (February) is never
# authorized.
STORY = dict(
    customers="customer_id,name,currency,invoice_cadence\nc1,Customer One,EUR,monthly",
    purchases="block_id,customer_id,kind,service,quantity,amount_paid,purchased_on,starts_on,expires_on\n"
              "b1,c1,hours,support,10,1000.00,2026-01-01,,2026-02-28\n"
              "u1,c1,unlimited,monitoring,,610.00,2026-01-01,2026-01-01,2026-03-02\n"
              "v1,c1,value,,500.00,450.00,2026-02-10,,",
    rates="customer_id,hourly_rate\nc1,60.00",
    timelogs="entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at\n"
             "e1,c1,ann,support,2026-01-10T09:00,120,2026-01-11T10:00\n"
             "e2,c1,ann,monitoring,2026-01-15T09:00,45,2026-01-15T18:00\n"
             "e3,c1,ann,support,2026-01-30T09:00,60,2026-02-02T10:00\n"
             "e4,c1,bob,support,2026-02-05T09:00,30,",
)


@pytest.fixture
def books(tmp_path):
    """Plain (no Prefect) runs over one warehouse: `books.inbox(**files)`, `.close(period)`,
    `.nightly(as_of)`, `.reopen(period)`; outputs under tmp_path."""
    from transforms.run.nightly import run_close, run_nightly, run_reopen

    class Books:
        warehouse = tmp_path / "w.duckdb"
        inbox_dir = tmp_path / "inbox"
        today = date(2026, 6, 1)

        def inbox(self, **files) -> Path:
            return write_inbox(self.inbox_dir, **{**STORY, **files})

        def nightly(self, as_of: str, out: str | None = None):
            return run_nightly(self.inbox_dir, self.warehouse, tmp_path / (out or f"out-{as_of}"),
                               date.fromisoformat(as_of), reports_enabled=False)

        def close(self, period: str, force: bool = False, out: str | None = None):
            return run_close(self.inbox_dir, self.warehouse, tmp_path / (out or f"close-{period}"), period,
                             force=force, reports_enabled=False, today=self.today)

        def reopen(self, period: str, reason: str | None = None):
            return run_reopen(self.warehouse, period, reason)

        def out(self, name: str) -> Path:
            return tmp_path / name

        def query(self, text: str, params=None) -> list[tuple]:
            return table(self.warehouse, text, params)

    return Books()
