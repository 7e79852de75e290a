"""A deliberately naive reference implementation of SPEC §3–§5 (the "auditor").

It exists only for the differential test: it shares no code with ``transforms/`` and
favours being obviously right over being fast. Every rule is written straight from the
SPEC text, which is quoted in a comment above it.

Grain of the result (strings exactly as the CSV cells of SPEC §7):
- ``entries``:  one row per time entry given, sorted by entry_id;
- ``balances``: one row per block known as of D, sorted by (customer_id, block_id);
- ``breaches``: one row per pool in breach, sorted by (customer_id, kind, service).

Resolved ambiguities (written down, as the SPEC preamble asks):
- "Exhausted blocks cover nothing more" does not stop an incident reuse: §4 says the reused
  block covers "even when its incidents are used up". Unlimited blocks are never exhausted.
- An entry is *unpriced* when minutes are left after the unlimited, incidents and hours
  blocks and it has no rate: that money would be needed either by a value block or as
  overage. An unpriced entry keeps ``overage_minutes = r`` (no value block took anything).
- For ``requires_authorization = false`` the authorization instant (end time = started_at +
  duration) is used everywhere an ``authorized_at`` is: the charged test, the posting order
  and the expiry-instant test of §4.
- Instants are compared in UTC (Python compares two datetimes sharing one tzinfo by wall
  clock, which is wrong across a DST change).
- The expiry instant and "start of D + 1" are 00:00 local of that day with the first offset
  (fold=0) should midnight fall in a DST gap or overlap, as §2 says for local timestamps.
- A block not known as of D plays no part at all: it covers nothing, is not listed, and
  neither counts in its pool's remaining nor gives the pool its reorder point.
- A block with starts_on > D can still cover work dated on or after its starts_on that was
  authorized by D (§3: "work dated after D but authorized by D, still counts"); its status
  stays ``not_started``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")
KIND_RANK = {"unlimited": 0, "incidents": 1, "hours": 2, "value": 3}
POOL_KINDS = ("hours", "value", "incidents")


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------


def _utc(instant: datetime) -> datetime:
    assert instant.tzinfo is not None, "timestamps must be timezone-aware"
    return instant.astimezone(timezone.utc)


def _start_of_day(day: date, tz: str) -> datetime:
    """00:00 local of ``day`` in the business time zone, as a UTC instant."""
    return _utc(datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz)))


def _round_half_up_money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _fmt_money(amount: Decimal) -> str:
    # SPEC §7: "Formats: money with exactly 2 decimals".
    assert amount == amount.quantize(CENT), f"money with more than 2 decimals: {amount}"
    return str(amount.quantize(CENT))


def _fmt_int(number) -> str:
    number = Decimal(number)
    assert number == number.to_integral_value(), f"not a whole number: {number}"
    return str(int(number))


def _fmt_exact(number: Decimal) -> str:
    """An integer when whole, else a plain decimal with trailing zeros stripped."""
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _fmt_date(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def _hours_to_minutes(hours: Decimal) -> int:
    # SPEC §2: "hours: hours (decimal; × 60 must be whole minutes)".
    minutes = hours * 60
    assert minutes == minutes.to_integral_value(), f"{hours} h is not whole minutes"
    return int(minutes)


# ---------------------------------------------------------------------------------------
# §3 charging
# ---------------------------------------------------------------------------------------


def billable_minutes(duration_seconds: int, customer: dict) -> int:
    # SPEC §3: "take the duration in seconds s, increment i minutes, q = 60·i:
    # up → ⌈s/q⌉·i, down → ⌊s/q⌋·i, nearest → ⌊(s + q/2)/q⌋·i."
    s = duration_seconds
    i = customer["rounding_increment_minutes"]
    q = 60 * i
    mode = customer["rounding_mode"]
    if mode == "up":
        minutes = -((-s) // q) * i
    elif mode == "down":
        minutes = (s // q) * i
    elif mode == "nearest":
        # q/2 = 30·i is a whole number of seconds, so integer arithmetic is exact.
        minutes = ((s + 30 * i) // q) * i
    else:
        raise ValueError(f"unknown rounding_mode {mode!r}")
    # SPEC §3: "Then, if s > 0, at least minimum_entry_minutes (not rounded again)."
    if s > 0:
        minutes = max(minutes, customer["minimum_entry_minutes"])
    return minutes


def effective_authorized_at(entry: dict, customer: dict) -> datetime | None:
    # SPEC §3: "For customers with requires_authorization = false, an entry counts as
    # authorized at its end time, whatever an authorized_at says."
    if not customer["requires_authorization"]:
        return _utc(entry["started_at"]) + timedelta(seconds=entry["duration_seconds"])
    if entry["authorized_at"] is None:
        return None
    return _utc(entry["authorized_at"])


def work_date(entry: dict, tz: str) -> date:
    # SPEC §2: "Work date = local date of started_at."
    return entry["started_at"].astimezone(ZoneInfo(tz)).date()


def entry_status(entry: dict, customer: dict, as_of: date, tz: str) -> str:
    if not entry["billable"]:
        return "not_billable"
    # SPEC §3: "An entry is charged as of date D when it is billable, not quarantined, and
    # authorized before the end of D (authorized_at < start of D + 1 day, business time
    # zone)."
    authorized_at = effective_authorized_at(entry, customer)
    if authorized_at is not None and authorized_at < _start_of_day(as_of + timedelta(days=1), tz):
        return "charged"
    # SPEC §3: "Billable but unauthorized entries are pending".
    return "pending"


def rate_of(entry: dict, day: date, rates: list[dict]) -> Decimal | None:
    # SPEC §2: "The rate of an entry is the matching row (valid on the work date) with the
    # highest specificity 4·[customer given] + 2·[service given] + 1·[user given]; ties go
    # to the latest valid_from (blank is earliest)."
    best = None
    best_key = None
    for rate in rates:
        if rate["customer_id"] is not None and rate["customer_id"] != entry["customer_id"]:
            continue
        if rate["service"] is not None and rate["service"] != entry["service"]:
            continue
        if rate["user"] is not None and rate["user"] != entry["user"]:
            continue
        # "valid_from, valid_to | dates, optional, inclusive"
        if rate["valid_from"] is not None and day < rate["valid_from"]:
            continue
        if rate["valid_to"] is not None and day > rate["valid_to"]:
            continue
        specificity = (
            4 * (rate["customer_id"] is not None)
            + 2 * (rate["service"] is not None)
            + 1 * (rate["user"] is not None)
        )
        valid_from = date.min if rate["valid_from"] is None else rate["valid_from"]
        key = (specificity, valid_from)
        if best_key is None or key > best_key:
            best, best_key = rate, key
    return None if best is None else best["hourly_rate"]


# ---------------------------------------------------------------------------------------
# §4 allocation
# ---------------------------------------------------------------------------------------


def block_precedence(block: dict) -> tuple:
    # SPEC §4: "Covering blocks are tried in this order: kind (unlimited, incidents, hours,
    # value), service-specific before any-service, expires_on ascending (none last),
    # starts_on, purchased_on, block_id."
    return (
        KIND_RANK[block["kind"]],
        0 if block["service"] is not None else 1,
        (0, block["expires_on"]) if block["expires_on"] is not None else (1, date.max),
        block["starts_on"],
        block["purchased_on"],
        block["block_id"],
    )


def in_cover_window(block: dict, entry: dict, day: date, authorized_at: datetime,
                    as_of: date, tz: str) -> bool:
    """Service, dates and expiry instant: the §4 cover test without the exhaustion part."""
    # SPEC §5: "a block not yet known is not listed and covers nothing".
    if block["purchased_on"] > as_of:
        return False
    # SPEC §4: "A block covers an entry when it belongs to the same customer, its service
    # is blank or equal to the entry's service, starts_on ≤ work date, and — if it has
    # expires_on — work date ≤ expires_on and the entry's authorized_at is before the
    # block's expiry instant (start of the day after expires_on)."
    if block["customer_id"] != entry["customer_id"]:
        return False
    if block["service"] is not None and block["service"] != entry["service"]:
        return False
    if not block["starts_on"] <= day:
        return False
    if block["expires_on"] is not None:
        if not day <= block["expires_on"]:
            return False
        expiry_instant = _start_of_day(block["expires_on"] + timedelta(days=1), tz)
        if not authorized_at < expiry_instant:
            return False
    return True


def purchased_amount(block: dict):
    """The block's quantity in its balance unit: minutes, money or incidents."""
    if block["kind"] == "hours":
        return _hours_to_minutes(block["quantity"])
    if block["kind"] == "value":
        return block["quantity"]
    if block["kind"] == "incidents":
        # SPEC §2: "incidents: whole count"
        count = block["quantity"]
        assert count == count.to_integral_value(), f"not a whole count: {count}"
        return int(count)
    return None  # unlimited


def post_entry(entry: dict, day: date, authorized_at: datetime, rate: Decimal | None,
               minutes: int, blocks: list[dict], used: dict, incident_blocks: dict,
               as_of: date, tz: str) -> dict:
    """Allocate one charged entry; mutates ``used`` and ``incident_blocks``."""
    # "Exhausted blocks cover nothing more."
    def left(block):
        return purchased_amount(block) - used[block["block_id"]]

    covering = [b for b in blocks if in_cover_window(b, entry, day, authorized_at, as_of, tz)]
    covering.sort(key=block_precedence)

    rem = minutes
    covered_minutes = 0
    block_ids: list[str] = []

    # SPEC §4: "unlimited: covers rem entirely; consumes nothing (its covered minutes are
    # reported)."
    for block in covering:
        if block["kind"] == "unlimited" and rem > 0:
            used[block["block_id"]] += rem
            covered_minutes += rem
            rem = 0
            block_ids.append(block["block_id"])

    # SPEC §4: "incidents (only entries with an incident_id): if an earlier posting already
    # charged this incident to a block whose cover window (service, dates, expiry instant)
    # includes this entry, the first such block covers rem at no cost — even when its
    # incidents are used up. Otherwise the first covering block with ≥ 1 incident left
    # consumes 1 and covers rem."
    if rem > 0 and entry["incident_id"] is not None:
        incident_key = (entry["customer_id"], entry["incident_id"])
        charged_before = incident_blocks.setdefault(incident_key, [])
        incident_covering = [b for b in covering if b["kind"] == "incidents"]
        reused = [b for b in incident_covering if b["block_id"] in charged_before]
        if reused:
            block = reused[0]
            covered_minutes += rem
            rem = 0
            block_ids.append(block["block_id"])
        else:
            with_left = [b for b in incident_covering if left(b) >= 1]
            if with_left:
                block = with_left[0]
                used[block["block_id"]] += 1
                covered_minutes += rem
                rem = 0
                block_ids.append(block["block_id"])
                charged_before.append(block["block_id"])

    # SPEC §4: "hours: each block in turn takes min(rem, minutes left)."
    for block in covering:
        if block["kind"] == "hours" and rem > 0 and left(block) > 0:
            take = min(rem, left(block))
            used[block["block_id"]] += take
            covered_minutes += take
            rem -= take
            block_ids.append(block["block_id"])

    r = rem  # minutes left for value blocks and overage
    cost = Decimal("0.00")
    value_amount = Decimal("0.00")
    overage_amount: Decimal | None = Decimal("0.00")
    unpriced = False
    if r > 0:
        if rate is None:
            # SPEC §4: "If money is needed (a value block covers it, or overage remains)
            # and the entry has no rate, the entry is unpriced: it keeps what non-value
            # blocks covered, takes nothing from value blocks, its overage amount stays
            # blank".
            unpriced = True
            overage_amount = None
        else:
            # SPEC §4: "value: the rest is priced once,
            # cost = round_half_up(rem × rate / 60, 2); each value block in turn takes
            # min(cost left, money left)." "A rate of 0 prices to 0."
            cost = _round_half_up_money(Decimal(r) * rate / Decimal(60))
            cost_left = cost
            # "A cost of 0.00 (rate 0, or a tiny remainder) takes nothing from value
            # blocks."
            for block in covering:
                if block["kind"] == "value" and cost_left > 0 and left(block) > 0:
                    take = min(cost_left, left(block))
                    used[block["block_id"]] += take
                    value_amount += take
                    cost_left -= take
                    block_ids.append(block["block_id"])
            # SPEC §4: "Whatever is left is overage: overage_amount is the money left".
            overage_amount = cost_left
    # SPEC §4: "overage_minutes is r = rem after hours blocks when no value block took
    # anything, else r − ⌊r × value taken / cost⌋."
    if value_amount == 0:
        overage_minutes = r
    else:
        # In cents the floor is plain integer division (exact).
        overage_minutes = r - (r * int(value_amount * 100)) // int(cost * 100)

    return {
        "covered_minutes": str(covered_minutes),
        "value_amount": _fmt_money(value_amount),
        "overage_minutes": str(overage_minutes),
        "overage_amount": "" if overage_amount is None else _fmt_money(overage_amount),
        "unpriced": "true" if unpriced else "false",
        "block_ids": "|".join(block_ids),
    }


# ---------------------------------------------------------------------------------------
# the whole reconciliation
# ---------------------------------------------------------------------------------------


def reconcile_reference(customers: list[dict], blocks: list[dict], rates: list[dict],
                        entries: list[dict], as_of: date,
                        tz: str = "UTC") -> dict[str, list[dict[str, str]]]:
    customer_by_id = {c["customer_id"]: c for c in customers}

    # -- §3: status, work date and billable minutes of every entry -----------------------
    rows: dict[str, dict[str, str]] = {}
    charged: list[dict] = []
    for entry in entries:
        customer = customer_by_id[entry["customer_id"]]
        day = work_date(entry, tz)
        minutes = billable_minutes(entry["duration_seconds"], customer)
        status = entry_status(entry, customer, as_of, tz)
        rows[entry["entry_id"]] = {
            "entry_id": entry["entry_id"],
            "customer_id": entry["customer_id"],
            "status": status,
            "work_date": day.isoformat(),
            # SPEC §7: "billable_minutes is filled for every entry"
            "billable_minutes": str(minutes),
            # SPEC §7: "covered_minutes, value_amount, overage_minutes, overage_amount are
            # blank unless the entry is charged"
            "covered_minutes": "",
            "value_amount": "",
            "overage_minutes": "",
            "overage_amount": "",
            "unpriced": "false",
            "block_ids": "",
        }
        if status == "charged":
            charged.append(entry)

    # SPEC §3: "Charged entries are posted one at a time in the order (authorized_at,
    # started_at, entry_id) (ids in plain code-point order)."
    def posting_key(entry):
        customer = customer_by_id[entry["customer_id"]]
        return (effective_authorized_at(entry, customer), _utc(entry["started_at"]),
                entry["entry_id"])

    charged.sort(key=posting_key)

    # -- §4: post one at a time; block state is "what has been used" ---------------------
    # used: minutes for hours and unlimited (covered minutes), money for value, count for
    # incidents.
    used: dict[str, object] = {}
    for block in blocks:
        used[block["block_id"]] = Decimal("0.00") if block["kind"] == "value" else 0
    incident_blocks: dict[tuple[str, str], list[str]] = {}
    for entry in charged:
        customer = customer_by_id[entry["customer_id"]]
        day = work_date(entry, tz)
        authorized_at = effective_authorized_at(entry, customer)
        minutes = billable_minutes(entry["duration_seconds"], customer)
        rate = rate_of(entry, day, rates)
        customer_blocks = [b for b in blocks if b["customer_id"] == entry["customer_id"]]
        rows[entry["entry_id"]].update(
            post_entry(entry, day, authorized_at, rate, minutes, customer_blocks, used,
                       incident_blocks, as_of, tz))

    # -- §5: balances ----------------------------------------------------------------------
    balance_rows: list[dict[str, str]] = []
    state: dict[str, dict] = {}  # block_id -> numbers in the balance unit
    for block in blocks:
        # SPEC §5: "A block is known as of D when purchased_on ≤ D; a block not yet known
        # is not listed".
        if block["purchased_on"] > as_of:
            continue
        # SPEC §5: "As of D, a block is expired if expires_on < D + 1 day (that is,
        # expires_on ≤ D)". "At its expiry instant a block's remaining quantity is
        # expired (forfeited)".
        is_expired = block["expires_on"] is not None and block["expires_on"] <= as_of
        block_used = used[block["block_id"]]
        if block["kind"] == "unlimited":
            purchased = expired = remaining = None
        else:
            purchased = purchased_amount(block)
            left = purchased - block_used
            assert left >= 0
            expired = left if is_expired else 0 * left
            remaining = 0 * left if is_expired else left
            # SPEC §5: "Every block obeys purchased = used + expired + remaining exactly."
            assert purchased == block_used + expired + remaining
        # SPEC §5: "expired if ..., not_started if starts_on > D, exhausted if nothing
        # remains, else active (checked in that order; a block bought with quantity 0 is
        # exhausted)."
        if is_expired:
            status = "expired"
        elif block["starts_on"] > as_of:
            status = "not_started"
        elif remaining is not None and remaining == 0:
            status = "exhausted"
        else:
            status = "active"
        state[block["block_id"]] = {"remaining": remaining, "is_expired": is_expired}

        # SPEC §7: "hours in whole minutes; value in money (2 decimals); incidents as
        # counts; unlimited blocks: purchased, expired and remaining blank, used = covered
        # minutes."
        if block["kind"] == "value":
            fmt = _fmt_money
        else:
            fmt = _fmt_int
        balance_rows.append({
            "customer_id": block["customer_id"],
            "block_id": block["block_id"],
            "kind": block["kind"],
            "service": block["service"] or "",
            "purchased": "" if purchased is None else fmt(purchased),
            "used": fmt(block_used),
            "expired": "" if expired is None else fmt(expired),
            "remaining": "" if remaining is None else fmt(remaining),
            "starts_on": _fmt_date(block["starts_on"]),
            "expires_on": _fmt_date(block["expires_on"]),
            "status": status,
        })
    balance_rows.sort(key=lambda row: (row["customer_id"], row["block_id"]))

    # -- §5: pools and breaches --------------------------------------------------------------
    # SPEC §5: "A pool is (customer, kind, service) for hours, value and incidents blocks."
    pools: dict[tuple[str, str, str | None], list[dict]] = {}
    for block in blocks:
        if block["purchased_on"] > as_of or block["kind"] not in POOL_KINDS:
            continue
        pools.setdefault((block["customer_id"], block["kind"], block["service"]), []).append(block)

    breach_rows: list[dict[str, str]] = []
    for (customer_id, kind, service), pool_blocks in pools.items():
        # "Its remaining is the sum over its blocks that are not expired (not-started
        # blocks count)."
        live = [b for b in pool_blocks if not state[b["block_id"]]["is_expired"]]
        pool_remaining = sum((state[b["block_id"]]["remaining"] for b in live),
                             Decimal("0.00") if kind == "value" else 0)
        # "Its reorder point is that of its latest block (by purchased_on, block_id,
        # expired ones included) that has one."
        with_point = [b for b in pool_blocks if b["reorder_point"] is not None]
        if not with_point:
            continue
        latest = max(with_point, key=lambda b: (b["purchased_on"], b["block_id"]))
        point = latest["reorder_point"]
        if kind == "hours":
            point = point * 60  # in minutes, possibly not whole
        # "A pool is in breach when it has at least one block that is not expired and its
        # remaining is strictly below its reorder point."
        if live and pool_remaining < point:
            breach_rows.append({
                "customer_id": customer_id,
                "kind": kind,
                "service": service or "",
                "remaining": _fmt_money(pool_remaining) if kind == "value" else _fmt_int(pool_remaining),
                # SPEC §7: "a reorder point that is not whole minutes is written as an
                # exact decimal"
                "reorder_point": _fmt_money(point) if kind == "value" else _fmt_exact(point),
            })
    breach_rows.sort(key=lambda row: (row["customer_id"], row["kind"], row["service"]))

    return {
        "entries": [rows[entry_id] for entry_id in sorted(rows)],
        "balances": balance_rows,
        "breaches": breach_rows,
    }


# ---------------------------------------------------------------------------------------
# reading a small canonical inbox (the rule matrix's inline CSV texts)
# ---------------------------------------------------------------------------------------
# Deliberately separate from transforms/ingest and transforms/validate: the rule matrix gives only
# valid, canonical CSV, and this reads exactly that, with the defaults of SPEC §2.


def _cells(text: str | None) -> list[dict[str, str]]:
    import csv
    import io

    if not text:
        return []
    rows = list(csv.DictReader(io.StringIO(text.strip("\n"))))
    return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in rows]


def _bool(text: str, default: bool) -> bool:
    return default if text == "" else text.lower() in ("true", "yes", "1")


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _instant(text: str, tz: str) -> datetime | None:
    """SPEC §2: a timestamp without an offset is local time of the business time zone."""
    if not text:
        return None
    instant = datetime.fromisoformat(text.replace(" ", "T"))
    return instant if instant.tzinfo else instant.replace(tzinfo=ZoneInfo(tz))


def read_inbox(tz: str, customers: str | None = None, purchases: str | None = None, rates: str | None = None,
               timelogs: str | dict[str, str] | None = None) -> tuple[list, list, list, list]:
    """(customers, blocks, rates, entries) as `reconcile_reference` takes them."""
    out_customers = [dict(
        customer_id=r["customer_id"], currency=r["currency"],
        rounding_increment_minutes=int(r.get("rounding_increment_minutes") or 1),
        rounding_mode=r.get("rounding_mode") or "nearest",
        minimum_entry_minutes=int(r.get("minimum_entry_minutes") or 0),
        requires_authorization=_bool(r.get("requires_authorization", ""), True),
        invoice_cadence=r.get("invoice_cadence") or "monthly",
        tax_rate_percent=Decimal(r.get("tax_rate_percent") or "0")) for r in _cells(customers)]
    blocks = [dict(
        block_id=r["block_id"], customer_id=r["customer_id"], kind=r["kind"], service=r.get("service") or None,
        quantity=Decimal(r["quantity"]) if r.get("quantity") else None,
        amount_paid=Decimal(r["amount_paid"]), purchased_on=_day(r["purchased_on"]),
        starts_on=_day(r.get("starts_on", "")) or _day(r["purchased_on"]),
        expires_on=_day(r.get("expires_on", "")),
        reorder_point=Decimal(r["reorder_point"]) if r.get("reorder_point") else None,
        auto_invoice=_bool(r.get("auto_invoice", ""), False)) for r in _cells(purchases)]
    out_rates = [dict(
        customer_id=r.get("customer_id") or None, service=r.get("service") or None, user=r.get("user") or None,
        hourly_rate=Decimal(r["hourly_rate"]), valid_from=_day(r.get("valid_from", "")),
        valid_to=_day(r.get("valid_to", ""))) for r in _cells(rates)]
    if isinstance(timelogs, str):
        timelogs = {"t.csv": timelogs}
    entries = []
    for text in (timelogs or {}).values():
        for r in _cells(text):
            started = _instant(r["started_at"], tz)
            if r.get("ended_at"):
                seconds = int((_instant(r["ended_at"], tz) - started).total_seconds())
            else:  # SPEC §2: duration_minutes may be decimal; whole seconds, half up
                seconds = int((Decimal(r["duration_minutes"]) * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            entries.append(dict(
                entry_id=r["entry_id"], customer_id=r["customer_id"], user=r["user"], service=r["service"],
                started_at=started, duration_seconds=seconds, billable=_bool(r.get("billable", ""), True),
                incident_id=r.get("incident_id") or None, authorized_at=_instant(r.get("authorized_at", ""), tz)))
    return out_customers, blocks, out_rates, entries
