"""Worker processes for the files of a run (documents, prepaid logs): one pool, one rule.

Rendering a file is independent per document or customer and costs CPU (a PDF most), so
a run with many spreads it over the machine's cores. `Pool(jobs, parallel_from)` maps a
function over work items in spawned processes when there are at least `parallel_from` items
and more than one core, else in this process; either way results come back in the items'
order, so what a run writes never depends on how it was split.

Spawned, not forked: a worker starts from a clean interpreter and never shares the caller's
warehouse connection or threads. The function and its items must pickle (a module-level
function and plain values). One pool serves a whole run (`map` may be called once per batch),
so workers start once and keep what they loaded (templates, fonts) between batches.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 8
MAX_CHUNK = 64      # items sent to a worker at a time: fewer round trips, yet results stream back


def count() -> int:
    """How many worker processes a pool starts: one per core, at most MAX_WORKERS."""
    return min(os.cpu_count() or 1, MAX_WORKERS)


class Pool:
    """`map(fn, items)` in worker processes from `parallel_from` jobs on, else in this process.

    `jobs`: how many items the pool will be given in all (it decides whether processes are
    worth starting: below `parallel_from`, starting them costs more than it saves).
    Use as a context manager; leaving it stops the workers, cancelling what is not yet started.
    """

    def __init__(self, jobs: int, parallel_from: int, workers: int | None = None) -> None:
        self.workers = workers or count()
        self._executor = None
        if jobs >= parallel_from and self.workers >= 2:
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    @property
    def parallel(self) -> bool:
        return self._executor is not None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """fn(item) for each item, in order. In workers, every item is submitted at once and
        results are yielded as they come back in order; in this process, lazily."""
        if self._executor is None:
            return map(fn, items)
        items = list(items)
        chunk = max(1, min(MAX_CHUNK, len(items) // (self.workers * 8)))
        return self._executor.map(fn, items, chunksize=chunk)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
