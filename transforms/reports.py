"""Per-customer prepaid logs (SPEC §6)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb


def write_reports(con: duckdb.DuckDBPyConnection, target: Path, as_of: date) -> None:
    return None
