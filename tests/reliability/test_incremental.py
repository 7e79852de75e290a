"""Issue 19: an incremental night gives what a from-scratch night gives on the same inputs.

The same sequence of nights goes into two warehouses, each with its own inbox and OUT folder:
one runs as every night runs (`recompute=False`: it may reuse what earlier runs kept), the
other with `recompute=True` (it ignores all of that). After every night both OUT folders must
hold the same files with the same bytes (run.json: all but its timings and start time), and
the warehouse results must agree. The nights bring new days, backdated entries, superseding
re-exports, late authorizations, backdated and changed purchases, and broken lines.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from tests.reliability.helpers import mart_differences, out_differences
from transforms.generate import KINDS, SERVICES, _write, generate_inbox
from transforms.nightly import run_nightly

ROOT = Path(__file__).resolve().parents[2]
START, DAYS = date(2026, 3, 11), 20
FIRST_NIGHT = START + timedelta(days=DAYS - 1)     # the generated history's last day
USERS = ("ann", "bob")
HOURS = {"hours": ("2", "5", "12.5", "40"), "value": ("100.00", "900.00", "2500.00"), "incidents": ("1", "3", "12")}


# --- the inbox, night by night --------------------------------------------------------------

@dataclass
class Inbox:
    """Every input file as a header and rows of cells (plus raw broken lines after them),
    changed in place by the nights' actions and written with the generator's CSV writer."""

    files: dict[str, tuple[list[str], list[list[str]]]]
    broken: dict[str, list[str]] = field(default_factory=dict)
    entries: dict[str, str] = field(default_factory=dict)   # entry_id -> file of its latest version

    @classmethod
    def generated(cls, folder: Path, customers: int, entries: int, seed: int) -> Inbox:
        generate_inbox(folder, customers=customers, entries=entries, seed=seed, start=START, days=DAYS, files=2)
        files = {}
        for path in sorted(folder.rglob("*.csv")):
            with open(path, newline="", encoding="utf-8") as fh:
                header, *rows = list(csv.reader(fh))
            files[path.relative_to(folder).as_posix()] = (header, rows)
        inbox = cls(files)
        for rel in inbox.timelogs():
            inbox.entries.update({row[0]: rel for row in files[rel][1]})
        return inbox

    def timelogs(self) -> list[str]:
        return sorted(rel for rel in self.files if rel.startswith("timelogs/"))

    def rows(self, rel: str) -> list[dict[str, str]]:
        header, rows = self.files[rel]
        return [dict(zip(header, row)) for row in rows]

    def add(self, rel: str, row: dict[str, str]) -> None:
        header, rows = self.files[rel]
        rows.append([row.get(c, "") for c in header])

    def replace(self, rel: str, key: str, row: dict[str, str]) -> None:
        """Replace the row whose first cell is `key` (a re-export with a changed row)."""
        header, rows = self.files[rel]
        rows[[r[0] for r in rows].index(key)] = [row.get(c, "") for c in header]

    def write(self, folder: Path) -> None:
        """The whole inbox into `folder`, rewriting only the files whose bytes changed."""
        scratch = folder.parent / f".{folder.name}.next"
        shutil.rmtree(scratch, ignore_errors=True)
        for rel, (header, rows) in self.files.items():
            path = scratch / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            _write(path, tuple(header), rows)
            with open(path, "a", encoding="utf-8", newline="") as fh:
                fh.writelines(line + "\n" for line in self.broken.get(rel, []))
        shutil.copy(ROOT / "data" / "demo" / "seller.toml", scratch / "seller.toml")
        for path in sorted(p for p in scratch.rglob("*") if p.is_file()):
            target = folder / path.relative_to(scratch)
            if not target.exists() or target.read_bytes() != path.read_bytes():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        shutil.rmtree(scratch)


# --- what a night may bring ---------------------------------------------------------------
# Each action is a tuple (name, *drawn integers); indices are taken modulo what exists, so any
# drawn action applies to any inbox.

def new_entries(inbox: Inbox, night: int, k: int, as_of: date, entries: tuple) -> None:
    """A new time-log file: entries of today or backdated, pending, authorized on their day or today."""
    rel = f"timelogs/night-{night}-{k}.csv"
    inbox.files[rel] = (list(inbox.files[inbox.timelogs()[0]][0]), [])
    customers = [r["customer_id"] for r in inbox.rows("customers.csv")]
    for i, (customer, days_back, slot, minutes, authorized, incident) in enumerate(entries):
        day = as_of - timedelta(days=days_back)
        entry_id = f"N{night}-{k}-{i:02d}"
        inbox.add(rel, {
            "entry_id": entry_id, "customer_id": customers[customer % len(customers)],
            "user": USERS[slot % 2], "service": SERVICES[slot % len(SERVICES)],
            "started_at": f"{day}T{8 + slot % 9:02d}:{15 * (slot % 4):02d}", "duration_minutes": str(minutes),
            "billable": "true", "incident_id": f"INC-{incident}" if incident else "",
            "authorized_at": ("", f"{day}T19:00", f"{as_of}T12:00")[authorized], "description": "work",
        })
        inbox.entries[entry_id] = rel


def supersede(inbox: Inbox, night: int, k: int, as_of: date, which: int, change: int, value: int,
              in_place: bool) -> None:
    """A new version of an earlier entry: its own file re-exported, or a correction file."""
    entry_id = sorted(inbox.entries)[which % len(inbox.entries)]
    rel = inbox.entries[entry_id]
    row = next(r for r in inbox.rows(rel) if r["entry_id"] == entry_id)
    if change == 0:
        row.update(ended_at="", duration_minutes=str(5 + 15 * value))
    elif change == 1:
        row["service"] = SERVICES[(SERVICES.index(row["service"]) + 1 + value % 3) % len(SERVICES)] \
            if row["service"] in SERVICES else SERVICES[value % len(SERVICES)]
    else:
        customers = [r["customer_id"] for r in inbox.rows("customers.csv")]
        row["customer_id"] = customers[value % len(customers)]
    if in_place:
        inbox.replace(rel, entry_id, row)
    else:
        rel = f"timelogs/night-{night}-{k}-fix.csv"
        inbox.files[rel] = (list(inbox.files[inbox.entries[entry_id]][0]), [])
        inbox.add(rel, row)
        inbox.entries[entry_id] = rel


def authorize(inbox: Inbox, night: int, k: int, as_of: date, which: int, days_back: int) -> None:
    """A late authorization in authorizations.csv, of a pending entry if there is one."""
    authorized = {r["entry_id"] for r in inbox.rows("authorizations.csv")}
    current = {e: next(r for r in inbox.rows(rel) if r["entry_id"] == e) for e, rel in inbox.entries.items()}
    pending = sorted(e for e, r in current.items() if not r["authorized_at"] and e not in authorized)
    choices = pending or sorted(current)
    inbox.add("authorizations.csv", {"entry_id": choices[which % len(choices)],
                                     "authorized_at": f"{as_of - timedelta(days=days_back)}T10:30",
                                     "authorized_by": "m.keller"})


def purchase(inbox: Inbox, night: int, k: int, as_of: date, customer: int, kind: int, days_back: int,
             reorder: bool) -> None:
    """A purchase recorded late: purchased (and starting) in the past."""
    customers = [r["customer_id"] for r in inbox.rows("customers.csv")]
    kind = KINDS[kind % len(KINDS)]
    bought = as_of - timedelta(days=days_back)
    inbox.add("purchases.csv", {
        "block_id": f"PB-N{night}-{k}", "customer_id": customers[customer % len(customers)], "kind": kind,
        "quantity": HOURS.get(kind, ("",))[0], "amount_paid": "900.00", "purchased_on": bought.isoformat(),
        "expires_on": (bought + timedelta(days=89)).isoformat() if kind == "unlimited" else "",
        "reorder_point": HOURS[kind][0] if reorder and kind != "unlimited" else "",
        "auto_invoice": "true" if reorder and kind != "unlimited" else "",
    })


def change_block(inbox: Inbox, night: int, k: int, as_of: date, which: int, change: int, value: int) -> None:
    """A new version of purchases.csv that changes one block."""
    block = inbox.rows("purchases.csv")[which % len(inbox.files["purchases.csv"][1])]
    first_day = date.fromisoformat(block["starts_on"] or block["purchased_on"])
    if change == 0 and block["kind"] != "unlimited":
        block["quantity"] = HOURS[block["kind"]][value % 3 + 1]
    elif change == 1 or block["kind"] == "unlimited":
        block["expires_on"] = (first_day + timedelta(days=(10, 60, 400)[value % 3])).isoformat()
    else:
        block["amount_paid"] = ("0.00", "750.00", "1234.56")[value % 3]
    inbox.replace("purchases.csv", block["block_id"], block)


def broken(inbox: Inbox, night: int, k: int, as_of: date, where: int) -> None:
    """Lines that must be quarantined: wrong field count, invalid values, unknown references."""
    if where == 0:
        rel = f"timelogs/night-{night}-{k}-broken.csv"
        inbox.files[rel] = (list(inbox.files[inbox.timelogs()[0]][0]), [])
        inbox.add(rel, {"entry_id": f"B{night}-{k}", "customer_id": "nobody", "user": "ann", "service": "support",
                        "started_at": f"{as_of}T09:00", "duration_minutes": "30"})
        inbox.add(rel, {"entry_id": f"B{night}-{k}-2", "customer_id": inbox.rows("customers.csv")[0]["customer_id"],
                        "user": "ann", "service": "support", "started_at": f"{as_of}T10:00",
                        "duration_minutes": "abc"})
    else:
        rel = ("purchases.csv", "authorizations.csv")[where % 2]
        inbox.add(rel, {"block_id": f"PB-B{night}-{k}", "customer_id": "nobody", "kind": "weekly",
                        "entry_id": f"unknown-{night}", "authorized_at": "yesterday"})
    inbox.broken.setdefault(rel, []).append(f"broken-{night}-{k},only,three")


ACTIONS = {f.__name__: f for f in (new_entries, supersede, authorize, purchase, change_block, broken)}


def apply(inbox: Inbox, night: int, as_of: date, actions: list[tuple]) -> None:
    for k, (name, *args) in enumerate(actions):
        ACTIONS[name](inbox, night, k, as_of, *args)


# --- the property -------------------------------------------------------------------------

def run_both(tmp: Path, inbox: Inbox, nights: list[list[tuple]]) -> None:
    """Run every night into an incremental and a from-scratch warehouse; they must agree."""
    for n, actions in enumerate(nights, start=1):
        as_of = FIRST_NIGHT + timedelta(days=n - 1)
        apply(inbox, n, as_of, actions)
        for side, recompute in (("incremental", False), ("recompute", True)):
            inbox.write(tmp / side / "inbox")
            run_nightly(tmp / side / "inbox", tmp / side / "w.duckdb", tmp / side / "out", as_of, "UTC",
                        reports_enabled=True, recompute=recompute)
        problems = out_differences(tmp / "incremental" / "out", tmp / "recompute" / "out")
        problems += mart_differences(tmp / "incremental" / "w.duckdb", tmp / "recompute" / "w.duckdb")
        assert not problems, f"night {n} (as of {as_of}), {actions}:\n" + "\n".join(problems)


entry_draws = st.tuples(st.integers(0, 5), st.sampled_from([0, 0, 1, 3, 12]), st.integers(0, 40),
                        st.sampled_from([10, 30, 45, 90, 240]), st.integers(0, 2),
                        st.sampled_from([0, 0, 0, 1, 2]))
action = st.one_of(
    st.tuples(st.just("new_entries"), st.lists(entry_draws, min_size=1, max_size=6).map(tuple)),
    st.tuples(st.just("supersede"), st.integers(0, 999), st.integers(0, 2), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("authorize"), st.integers(0, 999), st.sampled_from([0, 0, 2, 9])),
    st.tuples(st.just("purchase"), st.integers(0, 5), st.integers(0, 3), st.integers(1, 60), st.booleans()),
    st.tuples(st.just("change_block"), st.integers(0, 99), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("broken"), st.integers(0, 2)),
)


@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],   # no shrinking: an example costs seconds
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(customers=st.integers(3, 6), entries=st.integers(10, 40), seed=st.integers(0, 2**16),
       nights=st.lists(st.lists(action, min_size=0, max_size=3), min_size=2, max_size=5))
def test_incremental_night__random_nights__outputs_equal_a_from_scratch_run(tmp_path_factory, customers,
                                                                             entries, seed, nights):
    tmp = tmp_path_factory.mktemp("nights")
    run_both(tmp, Inbox.generated(tmp / "generated", customers, entries, seed), nights)


def test_incremental_night__new_day_backdated_purchase_superseded_entry_late_authorization__equal(tmp_path):
    nights = [
        [],
        [("new_entries", ((0, 0, 3, 45, 2, 0), (1, 0, 5, 30, 0, 0), (2, 4, 7, 90, 1, 0)))],   # a new day
        [("purchase", 3, 0, 30, False)],                    # hours block bought 30 days ago
        [("supersede", 1, 0, 3, False)],                    # an entry's duration corrected in a new file
        [("authorize", 0, 0)],                              # the pending entry of night 2 authorized
    ]
    inbox = Inbox.generated(tmp_path / "generated", customers=4, entries=24, seed=7)
    run_both(tmp_path, inbox, nights)
    out = tmp_path / "recompute" / "out"
    assert (out / "supersessions.csv").read_text().count("\nentry,") == 1
    assert "PB-N3-0" in (out / "balances.csv").read_text()
