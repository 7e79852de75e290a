"""The naive way: the generated inbox through `tests/reference.py` (issue 19, "against the
naive way").

`tests.reference.read_inbox` reads the canonical CSV of the rule matrix. The generated inbox
has two things beyond it, which this module adds without touching the reference:

- about 2% of time entries name their customer by name or alias, as tracker exports do; they
  are resolved here the way the engine does (exact id, else a name or alias compared
  case-insensitively); an unknown or ambiguous reference drops the entry (the engine
  quarantines it);
- `authorizations.csv` adds or overrides an entry's `authorized_at`; the last row of an
  entry wins, as in the engine.

Everything else (rounding, authorization, posting, prices) is the reference's own code.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path


def read(inbox: Path, tz: str) -> tuple[tuple[list, list, list, list], dict]:
    """(customers, blocks, rates, entries) for `reconcile_reference`, and what was adapted."""
    from tests.reference import _instant, read_inbox

    inbox = Path(inbox)
    text = lambda name: (inbox / name).read_text(encoding="utf-8") if (inbox / name).exists() else None
    timelogs = {p.name: p.read_text(encoding="utf-8") for p in sorted((inbox / "timelogs").glob("*.csv"))}
    customers_text = text("customers.csv")
    customers, blocks, rates, entries = read_inbox(tz, customers=customers_text, purchases=text("purchases.csv"),
                                                   rates=text("rates.csv"), timelogs=timelogs)
    ids = {c["customer_id"] for c in customers}
    labels: dict[str, set[str]] = {}
    for row in csv.DictReader(io.StringIO(customers_text or "")):
        names = [row.get("name") or ""] + [a for a in (row.get("aliases") or "").split("|")]
        for name in names:
            if name.strip():
                labels.setdefault(name.strip().casefold(), set()).add(row["customer_id"])
    resolved = dropped = 0
    kept = []
    for entry in entries:
        reference = entry["customer_id"]
        if reference not in ids:
            found = labels.get(reference.casefold(), set())
            if len(found) != 1:
                dropped += 1
                continue
            entry["customer_id"] = next(iter(found))
            resolved += 1
        kept.append(entry)
    authorized = 0
    auth_text = text("authorizations.csv")
    if auth_text:
        last = {row["entry_id"]: row["authorized_at"].strip()
                for row in csv.DictReader(io.StringIO(auth_text)) if (row.get("authorized_at") or "").strip()}
        for entry in kept:
            if entry["entry_id"] in last:
                entry["authorized_at"] = _instant(last[entry["entry_id"]], tz)
                authorized += 1
    adapted = {"entries_read": len(entries), "customer_names_resolved": resolved,
               "entries_dropped_unknown_customer": dropped, "authorizations_applied": authorized}
    return (customers, blocks, rates, kept), adapted


def reconcile_per_customer(customers: list, blocks: list, rates: list, entries: list, as_of: date,
                           tz: str) -> dict:
    """`reconcile_reference` once per customer, with that customer's blocks, entries and the
    rates that can apply to it (its own and those naming no customer); rows merged in the
    reference's order.

    Customers are independent (the allocation posts each customer's entries against its own blocks),
    so the rows are the same as one call over the whole inbox. One call over the whole inbox
    is quadratic: for every charged entry the reference scans every block and every rate of
    every customer (100k entries: 111 s against 2 s at 10k, under the same load), so at 1M it
    would take hours. Called per customer, it is the naive algorithm at its natural grain.
    """
    from tests.reference import reconcile_reference

    by_customer: dict[str, tuple[list, list]] = {c["customer_id"]: ([], []) for c in customers}
    for block in blocks:
        if block["customer_id"] in by_customer:
            by_customer[block["customer_id"]][0].append(block)
    for entry in entries:       # read() kept only entries of known customers
        by_customer[entry["customer_id"]][1].append(entry)
    rates_of: dict[str | None, list] = {}
    for rate in rates:
        rates_of.setdefault(rate["customer_id"], []).append(rate)
    merged: dict[str, list] = {"entries": [], "balances": [], "breaches": []}
    for customer in customers:
        own_blocks, own_entries = by_customer[customer["customer_id"]]
        own_rates = rates_of.get(None, []) + rates_of.get(customer["customer_id"], [])
        result = reconcile_reference([customer], own_blocks, own_rates, own_entries, as_of, tz)
        for name in merged:
            merged[name].extend(result[name])
    merged["entries"].sort(key=lambda row: row["entry_id"])
    merged["balances"].sort(key=lambda row: (row["customer_id"], row["block_id"]))
    merged["breaches"].sort(key=lambda row: (row["customer_id"], row["kind"], row["service"]))
    return merged


def agreement(result: dict, out: Path) -> dict:
    """How many of the reference's entries and balances rows equal the engine's OUT CSVs,
    on the columns both have (keyed by entry_id / block_id). Not timed."""
    report = {}
    for name, key in (("entries", "entry_id"), ("balances", "block_id")):
        path = Path(out) / f"{name}.csv"
        if not path.exists() or name not in result:
            continue
        with open(path, newline="", encoding="utf-8") as fh:
            engine = {row[key]: row for row in csv.DictReader(fh)}
        rows = result[name]
        columns = sorted(set(rows[0]) & set(next(iter(engine.values())))) if rows and engine else []
        same = sum(1 for row in rows if row[key] in engine
                   and all(row[c] == engine[row[key]][c] for c in columns))
        report[name] = {"reference_rows": len(rows), "engine_rows": len(engine), "equal_rows": same,
                        "columns_compared": columns}
    return report
