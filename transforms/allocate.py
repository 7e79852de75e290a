"""Allocation of charged entries to prepaid blocks: the sequential fold of SPEC §4.

Pure: a function of the customer's sorted charged entries and sorted known blocks. Customers
are independent; `allocate` folds each customer on its own. Units are integers: minutes for
hours and unlimited blocks, cents for value blocks, counts for incidents blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Iterable, Iterator

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


@dataclass(frozen=True, slots=True)
class Posting:
    """A charged entry, in posting order (authorized_at, started_at, entry_id)."""

    customer_id: str
    entry_id: str
    service: str
    work_day: int
    authorized_at: int              # epoch seconds (effective authorization)
    minutes: int                    # billable minutes
    incident_id: str | None
    rate_cents: int | None          # hourly rate, None when the entry has no rate


@dataclass(frozen=True, slots=True)
class Part:
    """What one block covered or took for one entry."""

    entry_id: str
    block_id: str
    minutes: int                    # minutes covered by this block (value blocks: 0)
    cents: int                      # money taken (value blocks)
    incidents: int                  # incidents consumed (0 on reuse)


@dataclass(frozen=True, slots=True)
class Result:
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


def fold_customer(postings: Iterator[Posting], blocks: list[Block], out: Allocation) -> None:
    """Post one customer's entries one at a time; a posting never changes earlier ones."""
    left = [b.quantity for b in blocks]                  # None = unlimited
    charged_incidents: dict[str, set[int]] = {}          # incident_id -> block indexes charged
    for p in postings:
        rem = p.minutes
        parts: list[Part] = []
        covered = value_taken = 0
        overage_minutes, overage_cents, unpriced = 0, 0, False
        if rem > 0:
            window = [i for i, b in enumerate(blocks) if covers(b, p)]
            # unlimited: covers rem entirely, consumes nothing
            for i in window:
                if blocks[i].kind == "unlimited":
                    parts.append(Part(p.entry_id, blocks[i].block_id, rem, 0, 0))
                    covered, rem = rem, 0
                    break
            # incidents: reuse a block already charged for this incident, else consume one
            if rem > 0 and p.incident_id is not None:
                incident_blocks = [i for i in window if blocks[i].kind == "incidents"]
                earlier = charged_incidents.get(p.incident_id, set())
                reuse = next((i for i in incident_blocks if i in earlier), None)
                if reuse is not None:
                    parts.append(Part(p.entry_id, blocks[reuse].block_id, rem, 0, 0))
                    covered, rem = covered + rem, 0
                else:
                    fresh = next((i for i in incident_blocks if left[i] >= 1), None)
                    if fresh is not None:
                        left[fresh] -= 1
                        charged_incidents.setdefault(p.incident_id, set()).add(fresh)
                        parts.append(Part(p.entry_id, blocks[fresh].block_id, rem, 0, 1))
                        covered, rem = covered + rem, 0
            # hours: each block in turn takes min(rem, minutes left)
            for i in window:
                if rem == 0:
                    break
                if blocks[i].kind == "hours" and left[i] > 0:
                    take = min(rem, left[i])
                    left[i] -= take
                    parts.append(Part(p.entry_id, blocks[i].block_id, take, 0, 0))
                    covered, rem = covered + take, rem - take
            # value: price the rest once; value blocks take money; the rest is overage
            if rem > 0 and p.rate_cents is None:
                unpriced, overage_minutes, overage_cents = True, rem, None
            elif rem > 0:
                cost = cost_cents(rem, p.rate_cents)
                money = cost
                for i in window:
                    if money == 0:
                        break
                    if blocks[i].kind == "value" and left[i] > 0:
                        take = min(money, left[i])
                        left[i] -= take
                        parts.append(Part(p.entry_id, blocks[i].block_id, 0, take, 0))
                        money -= take
                value_taken = cost - money
                overage_cents = money
                overage_minutes = rem if value_taken == 0 else rem - (rem * value_taken) // cost
        out.parts.extend(parts)
        out.results.append(Result(
            p.entry_id, covered, value_taken, overage_minutes, overage_cents, unpriced,
            tuple(part.block_id for part in parts),
        ))
