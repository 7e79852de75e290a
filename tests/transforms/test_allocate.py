"""The allocation fold of SPEC §4 on its own: tiny ledgers in plain values, no database.

Days are days since 1970-01-01 and instants epoch seconds; day 20458 is 2026-01-05.
"""

from __future__ import annotations

import pytest

from transforms.reconcile.allocate import Block, OrderViolation, Part, Posting, Result, allocate

DAY = 20458
NOON = DAY * 86400 + 12 * 3600


def block(block_id: str, kind: str, quantity: int | None, service: str | None = None,
          expires_day: int | None = None, starts_day: int = DAY - 30, purchased_day: int = DAY - 30) -> Block:
    expiry_at = None if expires_day is None else (expires_day + 1) * 86400
    return Block("c1", block_id, kind, service, starts_day, expires_day, expiry_at, quantity, purchased_day)


def posting(entry_id: str, minutes: int, rate_cents: int | None = 6000, incident_id: str | None = None,
            service: str = "support", at: int = NOON) -> Posting:
    return Posting("c1", entry_id, service, DAY, at, minutes, incident_id, rate_cents, at - 3600)


def fold(postings: list[Posting], blocks: list[Block]) -> tuple[list[Part], list[Result]]:
    out = allocate(postings, blocks)
    return out.parts, out.results


def test_unlimited__covers_everything__consumes_nothing():
    parts, results = fold([posting("e1", 90)], [block("u1", "unlimited", None), block("h1", "hours", 60)])
    assert parts == [Part("e1", "u1", 90, 0, 0)]
    assert results == [Result("e1", 90, 0, 0, 0, False, ("u1",))]


def test_hours__entry_spans_two_blocks__earliest_expiry_first__rest_is_overage():
    blocks = [block("h1", "hours", 30, expires_day=DAY + 10), block("h2", "hours", 20, expires_day=DAY + 20)]
    parts, results = fold([posting("e1", 60)], blocks)
    assert parts == [Part("e1", "h1", 30, 0, 0), Part("e1", "h2", 20, 0, 0)]
    assert results == [Result("e1", 50, 0, 10, 1000, False, ("h1", "h2"))]


def test_value__partial_cover__priced_once__overage_minutes_follow_the_money():
    # 90 min at 60.00/h cost 90.00; the block has 50.00: 40.00 overage, 90 - floor(90*50/90) = 40 min
    parts, results = fold([posting("e1", 90)], [block("v1", "value", 5000)])
    assert parts == [Part("e1", "v1", 0, 5000, 0)]
    assert results == [Result("e1", 0, 5000, 40, 4000, False, ("v1",))]


def test_value__no_rate__unpriced__takes_nothing_keeps_hours_cover():
    parts, results = fold([posting("e1", 90, rate_cents=None)], [block("h1", "hours", 30), block("v1", "value", 5000)])
    assert parts == [Part("e1", "h1", 30, 0, 0)]
    assert results == [Result("e1", 30, 0, 60, None, True, ("h1",))]


def test_incidents__second_entry_of_the_same_incident__covered_at_no_cost_even_when_used_up():
    postings = [posting("e1", 30, incident_id="INC-1", at=NOON), posting("e2", 45, incident_id="INC-1", at=NOON + 60)]
    parts, results = fold(postings, [block("i1", "incidents", 1)])
    assert parts == [Part("e1", "i1", 30, 0, 1), Part("e2", "i1", 45, 0, 0)]
    assert [r.covered_minutes for r in results] == [30, 45]


def test_incidents__entry_without_incident_id__falls_through_to_hours():
    parts, _ = fold([posting("e1", 30)], [block("i1", "incidents", 5), block("h1", "hours", 60)])
    assert parts == [Part("e1", "h1", 30, 0, 0)]


def test_service_specific_block_before_any_service_block():
    blocks = [block("h2", "hours", 60, service="support"), block("h1", "hours", 60)]
    parts, _ = fold([posting("e1", 30)], blocks)
    assert parts == [Part("e1", "h2", 30, 0, 0)]


def test_block_expired_at_the_authorization_instant__covers_nothing():
    late = (DAY + 1) * 86400   # authorized at the expiry instant of a block ending on DAY
    parts, results = fold([posting("e1", 30, at=late)], [block("h1", "hours", 60, expires_day=DAY)])
    assert parts == [] and results == [Result("e1", 0, 0, 30, 3000, False, ())]


def test_zero_minutes__takes_nothing_lists_no_block():
    parts, results = fold([posting("e1", 0)], [block("u1", "unlimited", None)])
    assert parts == [] and results == [Result("e1", 0, 0, 0, 0, False, ())]


def test_postings_out_of_posting_order__refused():
    with pytest.raises(OrderViolation):
        fold([posting("e2", 30, at=NOON + 60), posting("e1", 30, at=NOON)], [])


def test_blocks_out_of_precedence_order__refused():
    with pytest.raises(OrderViolation):
        fold([posting("e1", 30)], [block("h1", "hours", 60), block("u1", "unlimited", None)])


def test_value__entry_priced_at_nothing__takes_no_part_and_is_overage():
    parts, results = fold([posting("e1", 30, rate_cents=0)], [block("v1", "value", 5000)])
    assert parts == [] and results == [Result("e1", 0, 0, 30, 0, False, ())]


def test_cover_window__changes_from_one_day_to_the_next__each_posting_gets_its_own():
    # h1 covers up to DAY, h2 from DAY + 1; a posting on DAY authorized after h1's expiry is left
    # to overage; the same service, day after day, must not reuse an earlier posting's window
    blocks = [block("h1", "hours", 60, expires_day=DAY), block("h2", "hours", 60, starts_day=DAY + 1)]
    late = (DAY + 1) * 86400 + 3600
    postings = [posting("e1", 10, at=NOON), Posting("c1", "e2", "support", DAY, late, 20, None, 6000, NOON),
                Posting("c1", "e3", "support", DAY + 1, late + 60, 30, None, 6000, late),
                posting("e4", 40, service="consulting", at=late + 120)]
    parts, results = fold(postings, blocks)
    assert parts == [Part("e1", "h1", 10, 0, 0), Part("e3", "h2", 30, 0, 0)]
    assert [(r.entry_id, r.covered_minutes, r.overage_minutes) for r in results] == [
        ("e1", 10, 0), ("e2", 0, 20), ("e3", 30, 0), ("e4", 0, 40)]
