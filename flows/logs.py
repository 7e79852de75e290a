"""Our log lines in Prefect's flow-run log.

The transforms log to the `prepaid` logger (transforms/progress.py). Inside a flow,
`to_flow_run_log()` attaches Prefect's API log handler to it, so each phase line lands in the
log of the flow run (and of the task run it came from) in the UI, whatever the console shows
(the CLI sets Prefect's console to CRITICAL unless --verbose).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from transforms.progress import ROOT


@contextmanager
def to_flow_run_log() -> Iterator[None]:
    """While a flow runs: `prepaid` records of INFO and above go to its Prefect run log."""
    from prefect.logging.handlers import APILogHandler

    root = logging.getLogger(ROOT)
    if any(isinstance(h, APILogHandler) for h in root.handlers):   # a subflow of a flow that has it
        yield
        return
    handler = APILogHandler()
    handler.setLevel(logging.INFO)
    saved = root.level
    if saved == logging.NOTSET or saved > logging.INFO:   # a worker process: no CLI set the level
        root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)


def log_summary(lines: list[str]) -> None:
    """The run's summary as one entry of the flow-run log (Prefect's run logger: not repeated
    on our console, where the CLI prints it)."""
    from prefect.logging import get_run_logger

    get_run_logger().info("%s", "\n".join(lines))
