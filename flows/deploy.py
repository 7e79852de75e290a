"""Long-running deployments with schedules, for `prepaid serve` (see also prefect.yaml).

The nightly run starts at 02:00 business time and reconciles the day that just ended; the
close starts at 06:00 on the 1st and closes the month before. A backfill deployment without a
schedule lets a user catch up on nights from the UI.
"""

from __future__ import annotations

from pathlib import Path

NIGHTLY_CRON = "0 2 * * *"
CLOSE_CRON = "0 6 1 * *"


def deployments(inbox: Path, warehouse: Path, out: str, close_out: str, tz: str,
                nightly_cron: str = NIGHTLY_CRON, close_cron: str = CLOSE_CRON) -> list:
    """The three deployments, with absolute paths (the runner may start flows elsewhere)."""
    from prefect.schedules import Cron

    from flows.close import close_flow
    from flows.nightly import backfill_flow, nightly_flow

    common = {"inbox": str(Path(inbox).resolve()), "warehouse": str(Path(warehouse).resolve()), "tz": tz}
    out, close_out = str(Path(out).absolute()), str(Path(close_out).absolute())
    return [
        nightly_flow.to_deployment(
            name="prepaid-nightly", schedules=[Cron(nightly_cron, timezone=tz)],
            parameters={**common, "out": out},
            description=f"Nightly reconciliation at {nightly_cron} ({tz}), as of the day that ended."),
        close_flow.to_deployment(
            name="prepaid-close", schedules=[Cron(close_cron, timezone=tz)],
            parameters={**common, "out": close_out},
            description=f"Month-end close at {close_cron} ({tz}) of the previous month."),
        backfill_flow.to_deployment(
            name="prepaid-backfill", parameters={**common, "out": out},
            description="Catch up on nights (from_date..to_date), in order; run it from the UI."),
    ]


def serve(inbox: Path, warehouse: Path, out: str, close_out: str, tz: str,
          nightly_cron: str = NIGHTLY_CRON, close_cron: str = CLOSE_CRON) -> None:
    """Register the deployments and run their schedules until interrupted."""
    from prefect import serve as prefect_serve

    prefect_serve(*deployments(inbox, warehouse, out, close_out, tz, nightly_cron, close_cron))
