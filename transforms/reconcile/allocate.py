"""Allocation of charged entries to prepaid blocks: the sequential fold of SPEC §4.

Pure: a function of the customer's sorted charged entries and sorted known blocks. Customers
are independent; `allocate` folds each customer on its own. Units are integers: minutes for
hours and unlimited blocks, cents for value blocks, counts for incidents blocks.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import groupby
from typing import Iterable, Iterator, NamedTuple

KIND_ORDER = {"unlimited": 0, "incidents": 1, "hours": 2, "value": 3}


@dataclass(frozen=True, slots=True)
class Block:
    """A known block of one customer, in precedence order within its customer."""

    customer_id: str
    block_id: str
    kind: str
    service: str | None
    starts_day: int                 # days since 1970-01-01
    expires_day: int | None         # last day of cover
    expiry_at: int | None           # epoch seconds: start of the day after expires_on
    quantity: int | None            # minutes / cents / count; None for unlimited
    purchased_day: int = 0          # days since 1970-01-01 (last but one precedence key)

    def precedence(self) -> tuple:
        """SPEC §4: kind, service-specific first, expires_on ascending (none last), starts_on,
        purchased_on, block_id (code-point order)."""
        return (KIND_ORDER[self.kind], self.service is None, self.expires_day is None,
                self.expires_day or 0, self.starts_day, self.purchased_day, self.block_id)


class Posting(NamedTuple):
    """A charged entry, in posting order (authorized_at, started_at, entry_id)."""

    customer_id: str
    entry_id: str
    service: str
    work_day: int
    authorized_at: int              # epoch seconds (effective authorization)
    minutes: int                    # billable minutes
    incident_id: str | None
    rate_cents: int | None          # hourly rate, None when the entry has no rate
    started_at: int = 0             # epoch seconds (second posting key)

    def order(self) -> tuple:
        """SPEC §3: postings go one at a time in (authorized_at, started_at, entry_id) order."""
        return (self.authorized_at, self.started_at, self.entry_id)


class Part(NamedTuple):
    """What one block covered or took for one entry."""

    entry_id: str
    block_id: str
    minutes: int                    # minutes covered by this block (value blocks: 0)
    cents: int                      # money taken (value blocks)
    incidents: int                  # incidents consumed (0 on reuse)


class Result(NamedTuple):
    entry_id: str
    covered_minutes: int            # by unlimited, incidents and hours blocks
    value_cents: int
    overage_minutes: int
    overage_cents: int | None       # None when unpriced
    unpriced: bool
    block_ids: tuple[str, ...]


@dataclass
class Allocation:
    parts: list[Part] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)


class OrderViolation(AssertionError):
    """Postings or blocks reached the fold out of the order SPEC §3–§4 prescribes."""


def covers(block: Block, posting: Posting) -> bool:
    """Cover window: service, starts_on <= work date, and within expiry (day and instant)."""
    if block.service is not None and block.service != posting.service:
        return False
    if block.starts_day > posting.work_day:
        return False
    if block.expires_day is not None and (
        posting.work_day > block.expires_day or posting.authorized_at >= block.expiry_at
    ):
        return False
    return True


def cost_cents(minutes: int, rate_cents: int) -> int:
    """round_half_up(minutes × rate / 60, 2), in cents."""
    return (minutes * rate_cents + 30) // 60


def allocate(postings: Iterable[Posting], blocks: Iterable[Block]) -> Allocation:
    """Fold every customer's postings over its blocks. Both inputs sorted by customer_id."""
    out = Allocation()
    blocks_by_customer = {c: list(bs) for c, bs in groupby(blocks, key=lambda b: b.customer_id)}
    for customer_id, customer_postings in groupby(postings, key=lambda p: p.customer_id):
        fold_customer(customer_postings, blocks_by_customer.get(customer_id, []), out)
    return out


class Window(NamedTuple):
    """The blocks covering a posting, by kind, each in precedence order (indices into the ledger)."""

    unlimited: tuple[int, ...]
    incidents: tuple[int, ...]
    hours: tuple[int, ...]
    value: tuple[int, ...]


class _Ledger:
    """What is left of one customer's blocks while its postings are folded."""

    def __init__(self, blocks: list[Block]) -> None:
        keys = [b.precedence() for b in blocks]
        if keys != sorted(keys):
            raise OrderViolation(f"blocks of {blocks[0].customer_id} are not in precedence order")
        self.blocks = blocks
        self.left = [b.quantity for b in blocks]                 # None = unlimited
        self.incidents: dict[str, set[int]] = {}                 # incident_id -> blocks charged
        self.last: tuple | None = None                           # order of the last posting folded
        # which blocks cover a posting depends only on its service and on where its work day and
        # its authorization fall among the blocks' start days, last days and expiry instants:
        # a customer's postings share a few windows
        self._starts = sorted({b.starts_day for b in blocks})
        self._last_days = sorted({b.expires_day for b in blocks if b.expires_day is not None})
        self._expiries = sorted({b.expiry_at for b in blocks if b.expiry_at is not None})
        self._windows: dict[tuple, Window] = {}

    def window(self, p: Posting) -> Window:
        key = (p.service, bisect_right(self._starts, p.work_day), bisect_left(self._last_days, p.work_day),
               bisect_right(self._expiries, p.authorized_at))
        window = self._windows.get(key)
        if window is None:
            covering = [i for i, b in enumerate(self.blocks) if covers(b, p)]
            window = self._windows[key] = Window(
                **{kind: tuple(i for i in covering if self.blocks[i].kind == kind) for kind in KIND_ORDER})
        return window


@dataclass(frozen=True, slots=True)
class Taken:
    """What one earlier part took from a block, as kept by the run that folded it."""

    block_id: str
    minutes: int
    cents: int
    incidents: int
    incident_id: str | None         # the incident of the part's entry


def resumed(blocks: list[Block], taken: Iterable[Taken], last: tuple) -> _Ledger:
    """The ledger of a customer after the postings an earlier run folded, from what their parts
    took: a fold resumed with the postings after `last` gives what a fold of all would give,
    because a posting never changes earlier ones (the blocks must be the same)."""
    ledger = _Ledger(blocks)
    index = {b.block_id: i for i, b in enumerate(blocks)}
    for t in taken:
        i = index[t.block_id]
        kind = blocks[i].kind
        if kind == "hours":
            ledger.left[i] -= t.minutes
        elif kind == "value":
            ledger.left[i] -= t.cents
        elif kind == "incidents" and t.incidents:
            ledger.left[i] -= t.incidents
            ledger.incidents.setdefault(t.incident_id, set()).add(i)
    ledger.last = last
    return ledger


def fold_customer(postings: Iterator[Posting], blocks: list[Block], out: Allocation,
                  ledger: _Ledger | None = None) -> None:
    """Post one customer's entries one at a time; a posting never changes earlier ones.

    Blocks are tried by kind (SPEC §4), each kind by its own rule below, while minutes remain.
    `ledger`: where an earlier fold of this customer stopped (`resumed`); a fresh one by default.
    """
    if ledger is None:
        ledger = _Ledger(blocks)
    previous = ledger.last
    for p in postings:
        order = p.order()
        if previous is not None and order <= previous:
            raise OrderViolation(f"posting {p.entry_id} of {p.customer_id} comes after {previous}")
        previous = order
        parts: list[Part] = []
        covered, value_cents, overage_minutes, overage_cents, unpriced = 0, 0, 0, 0, False
        rem = p.minutes
        if rem > 0:
            window = ledger.window(p)
            if window.unlimited:
                rem = _unlimited(ledger, window.unlimited, p, rem, parts)
            if rem and window.incidents and p.incident_id is not None:
                rem = _incidents(ledger, window.incidents, p, rem, parts)
            if rem and window.hours:
                rem = _hours(ledger, window.hours, p, rem, parts)
            covered = p.minutes - rem
            if rem:
                value_cents, overage_minutes, overage_cents, unpriced = _value(ledger, window.value, p, rem, parts)
        out.parts += parts
        out.results.append(Result(p.entry_id, covered, value_cents, overage_minutes, overage_cents, unpriced,
                                  tuple([part.block_id for part in parts])))


def _unlimited(ledger: _Ledger, unlimited: tuple[int, ...], p: Posting, rem: int, parts: list[Part]) -> int:
    """The first unlimited block covers everything left and consumes nothing."""
    parts.append(Part(p.entry_id, ledger.blocks[unlimited[0]].block_id, rem, 0, 0))
    return 0


def _incidents(ledger: _Ledger, incidents: tuple[int, ...], p: Posting, rem: int, parts: list[Part]) -> int:
    """An entry with an incident: a block already charged for the incident covers it at no cost
    (even when its incidents are used up); else the first with one left consumes one."""
    charged = ledger.incidents.get(p.incident_id, ())
    reuse = next((i for i in incidents if i in charged), None)
    if reuse is not None:
        parts.append(Part(p.entry_id, ledger.blocks[reuse].block_id, rem, 0, 0))
        return 0
    fresh = next((i for i in incidents if ledger.left[i] >= 1), None)
    if fresh is None:
        return rem
    ledger.left[fresh] -= 1
    ledger.incidents.setdefault(p.incident_id, set()).add(fresh)
    parts.append(Part(p.entry_id, ledger.blocks[fresh].block_id, rem, 0, 1))
    return 0


def _draw(left: list[int], indices: tuple[int, ...], wanted: int) -> list[tuple[int, int]]:
    """Blocks in turn give min(what is still wanted, what they have left), until nothing is
    wanted: (block index, taken) pairs."""
    drawn = []
    for i in indices:
        if wanted == 0:
            break
        if left[i] > 0:
            take = min(wanted, left[i])
            left[i] -= take
            drawn.append((i, take))
            wanted -= take
    return drawn


def _hours(ledger: _Ledger, hours: tuple[int, ...], p: Posting, rem: int, parts: list[Part]) -> int:
    """Each hours block in turn takes min(minutes left of the entry, minutes left in it)."""
    for i, take in _draw(ledger.left, hours, rem):
        parts.append(Part(p.entry_id, ledger.blocks[i].block_id, take, 0, 0))
        rem -= take
    return rem


def _value(ledger: _Ledger, value: tuple[int, ...], p: Posting, rem: int, parts: list[Part]
           ) -> tuple[int, int, int | None, bool]:
    """The rest is priced once; value blocks in turn take min(cost left, money left); what is
    left is overage. Without a rate the entry is unpriced and takes nothing.
    Returns (value taken, overage minutes, overage cents, unpriced)."""
    if p.rate_cents is None:
        return 0, rem, None, True
    cost = cost_cents(rem, p.rate_cents)
    taken = 0
    for i, take in _draw(ledger.left, value, cost):
        parts.append(Part(p.entry_id, ledger.blocks[i].block_id, 0, take, 0))
        taken += take
    overage_minutes = rem if taken == 0 else rem - (rem * taken) // cost
    return taken, overage_minutes, cost - taken, False
