"""Log lines and live progress of a run's phases.

Every module logs with the standard `logging` module, to a logger under `prepaid`
(`logger(__name__)` gives `prepaid.transforms.ingest.ingest` and so on), so one handler on
`prepaid` gets them all: the CLI's (stderr), or Prefect's flow-run log inside a flow
(flows/logs.py).

A phase of a run is timed and logged as one INFO line when it ends, with what it did:

    with phase("ingest") as p:
        summary = ingest(...)
        p.detail = "7 files, 812 rows added"       # -> "ingest: 7 files, 812 rows added (0.12 s)"

While it runs, code inside it may report progress (`progress.update(total=n)`,
`progress.advance()`); without a live display (tests, Prefect, a log file) that costs nothing.
The CLI shows one on a terminal (`live_display()`): a line per running phase, with a bar when
the phase said how many steps it has, else a spinner, and the elapsed time.
"""

from __future__ import annotations

import logging
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")

ROOT = "prepaid"


def logger(module: str) -> logging.Logger:
    """The logger of a module (pass `__name__`), under `prepaid`."""
    return logging.getLogger(f"{ROOT}.{module}")


_log = logger(__name__)
_lock = threading.Lock()
_display = None            # the rich Progress shown by live_display(), if any
_phases: list["Phase"] = []  # running phases, innermost last


@dataclass
class Phase:
    name: str
    detail: str = ""
    seconds: float = 0.0
    task: int | None = None    # its row in the live display

    def update(self, total: int | None = None, description: str | None = None) -> None:
        if _display is not None and self.task is not None:
            fields = {"total": total} if total is not None else {}
            if description is not None:
                fields["description"] = f"{self.name}: {description}"
            _display.update(self.task, **fields)

    def advance(self, steps: int = 1, description: str | None = None) -> None:
        if _display is not None and self.task is not None:
            _display.update(self.task, advance=steps,
                            **({"description": f"{self.name}: {description}"} if description else {}))


@contextmanager
def phase(name: str, log: logging.Logger | None = None, level: int = logging.INFO) -> Iterator[Phase]:
    """Time a phase; log `name: detail (S s)` when it ends (also when it fails: `name: failed`)."""
    p = Phase(name)
    with _lock:
        if _display is not None:
            p.task = _display.add_task(name, total=None)
        _phases.append(p)
    start = clock()
    failed = True
    try:
        yield p
        failed = False
    finally:
        p.seconds = round(clock() - start, 3)
        with _lock:
            _phases.remove(p)
            if _display is not None and p.task is not None:
                _display.remove_task(p.task)
        text = "failed" if failed else (p.detail or "done")
        (log or _log).log(logging.ERROR if failed else level, "%s: %s (%.2f s)", name, text, p.seconds)


def clock() -> float:
    """Seconds, for timing phases (tests replace `perf_counter` here)."""
    return perf_counter()


def current() -> Phase | None:
    with _lock:
        return _phases[-1] if _phases else None


def update(total: int | None = None, description: str | None = None) -> None:
    """Progress of the running phase: how many steps it has (and what it does now)."""
    p = current()
    if p is not None:
        p.update(total, description)


def advance(steps: int = 1, description: str | None = None) -> None:
    """Progress of the running phase: `steps` more done."""
    p = current()
    if p is not None:
        p.advance(steps, description)


def track(items: Iterable[T], describe: Callable[[T], str] = str, steps_after: int = 0) -> Iterator[T]:
    """Iterate over the steps of the running phase, showing each (`describe(item)`) and how many
    are done, with a debug line per step; `steps_after` more steps follow the items."""
    items = list(items)
    update(total=len(items) + steps_after)
    p = current()
    for item in items:
        text = describe(item)
        update(description=text)
        _log.debug("%s: %s", p.name if p else "step", text)
        yield item
        advance()


# --- the command line's view: log lines on stderr, and a live display on a terminal ------

QUIET, NORMAL, VERBOSE = -1, 0, 1

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(message)s"


@contextmanager
def cli_output(verbosity: int = NORMAL, stream=None, live: bool | None = None) -> Iterator[None]:
    """Route the `prepaid` log lines to stderr for one command, at the level `verbosity` asks
    (quiet: errors only; normal: a line per phase and warnings; verbose: also debug lines),
    with a live progress display when stderr is a terminal (unless quiet)."""
    global _display
    stream = stream if stream is not None else sys.stderr
    if live is None:
        live = verbosity > QUIET and hasattr(stream, "isatty") and stream.isatty()
    root = logging.getLogger(ROOT)
    level = {QUIET: logging.ERROR, NORMAL: logging.INFO}.get(verbosity, logging.DEBUG)
    saved_level, saved_propagate = root.level, root.propagate
    root.setLevel(logging.DEBUG if verbosity >= VERBOSE else logging.INFO)
    root.propagate = False   # Prefect's console handler on the root logger would print them twice
    progress = None
    if live:
        from rich.console import Console
        from rich.logging import RichHandler
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn)
        from rich.text import Text

        console = Console(file=stream, stderr=stream is sys.stderr)
        class Count(MofNCompleteColumn):   # "3/16" for a phase of known steps, nothing for a spinner
            def render(self, task):
                return super().render(task) if task.total is not None else Text("")

        progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), Count(),
                            TimeElapsedColumn(), console=console, transient=True)
        handler: logging.Handler = RichHandler(console=console, show_path=False, markup=False,
                                               log_time_format="%H:%M:%S")
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT, "%Y-%m-%d %H:%M:%S"))
    handler.setLevel(level)
    root.addHandler(handler)
    try:
        if progress is not None:
            with progress:
                _display = progress
                try:
                    yield
                finally:
                    _display = None
        else:
            yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        root.propagate = saved_propagate
