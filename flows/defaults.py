"""Default places, shared by the CLI, the flows and the deployments.

The warehouse, inbox and outputs are relative to the working directory; the demo inbox ships
with the project and is found wherever the command is run from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

DEMO_INBOX = Path(__file__).resolve().parent.parent / "data" / "demo"
DEMO_AS_OF = date(2026, 3, 31)
DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")
DEFAULT_OUT = "data/out/{as_of}"                 # a nightly run's OUT; {as_of} is its date
DEFAULT_CLOSE_OUT = "data/out/close-{period}"    # a close's OUT; {period} is YYYY-MM


def default_inbox() -> Path:
    """data/inbox when it exists, else the demo inbox."""
    inbox = Path("data/inbox")
    return inbox if inbox.is_dir() else DEMO_INBOX


def close_out(pattern: str | Path, period: str) -> Path:
    return Path(str(pattern).replace("{period}", period))
