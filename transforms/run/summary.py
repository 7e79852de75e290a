"""The figures of a run, and the summary an operator and an accountant read after it.

- `summarize` gives the counts kept with the run (`runs.counts` and run.json's "counts"): a
  machine contract, whose keys are only ever added, never renamed.
- `changes_since_previous` compares this run's results with those of the previous committed
  nightly (still in the warehouse's `last_*` tables until this run replaces them).
- `minute_split` splits the charged minutes into the parts that pay for them, and checks that
  they add up: an invariant, so a run whose parts do not add up fails.
- `render` writes the summary in words (the CLI prints it, the Prefect artifact shows it);
  `final_line` is its one-line verdict (all that `--quiet` prints).

Money is integer cents in the warehouse and exact decimal text ("1234.50") in the counts.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from transforms.units import cents_text, grouped_text, to_cents


class InvariantViolation(AssertionError):
    """Figures that must agree do not: a bug, never bad input. The run fails."""


def money_display(amount: str | int | Decimal) -> str:
    """Decimal text (the counts' '1234.56') or cents for people: thousands grouped ('1,234.56')."""
    return grouped_text(to_cents(amount) if isinstance(amount, (str, Decimal)) else amount)


def minute_split(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The charged minutes and what paid for each of them, each entry's minutes counted once:
    covered by hours, unlimited or incidents blocks; bought with prepaid value; overage billed
    at the hourly rate; unpriced (needed money, had no rate: neither deducted nor billed)."""
    charged, covered, valued, overage, unpriced, negative = con.execute("""
        select coalesce(sum(billable_minutes), 0),
               coalesce(sum(covered_minutes), 0),
               coalesce(sum(valued), 0),
               coalesce(sum(overage_minutes) filter (where not unpriced), 0),
               coalesce(sum(overage_minutes) filter (where unpriced), 0),
               count(*) filter (where covered_minutes < 0 or overage_minutes < 0 or valued < 0)
        from (select *, case when value_cents > 0
                             then billable_minutes - covered_minutes - overage_minutes else 0 end as valued
              from mart_entries where status = 'charged')""").fetchone()
    split = {"charged": int(charged), "covered_by_blocks": int(covered), "valued": int(valued),
             "overage": int(overage), "unpriced": int(unpriced)}
    check_minutes(split, negative_entries=int(negative))
    return split


def check_minutes(split: dict[str, int], negative_entries: int = 0) -> None:
    """covered by blocks + valued + overage + unpriced = charged, and no part negative."""
    parts = split["covered_by_blocks"] + split["valued"] + split["overage"] + split["unpriced"]
    if parts != split["charged"] or negative_entries:
        raise InvariantViolation(
            f"charged minutes do not add up: covered by blocks {split['covered_by_blocks']} + valued "
            f"{split['valued']} + overage {split['overage']} + unpriced {split['unpriced']} = {parts}, "
            f"charged {split['charged']}; entries with a negative part: {negative_entries}")


def summarize(con: duckdb.DuckDBPyConnection, run_id: int | None = None, changes: dict | None = None) -> dict:
    """The counts of a run, over the marts of this run (before they are persisted or after)."""
    q = lambda text, params=None: con.execute(text, params or []).fetchall()
    by_status = dict(q("select status, count(*) from mart_balances group by status order by status"))
    entry_status = dict(q("select status, count(*) from mart_entries group by status order by status"))
    split = minute_split(con)
    unpriced_entries = q("select count(*) from mart_entries where status = 'charged' and unpriced")[0][0]
    quarantine = dict(q("select reason_code, count(*) from quarantine group by 1 order by 1"))
    money = {cur: {"value_used": cents_text(v), "overage": cents_text(o), "breakage": cents_text(b)}
             for cur, v, o, b in q("""
        with used as (select c.currency, sum(e.value_cents) as v, sum(e.overage_cents) as o
                      from mart_entries e join stg_customers c using (customer_id)
                      where e.status = 'charged' group by 1),
             expired as (select c.currency, sum(b.breakage_cents) as b
                         from mart_balances b join stg_customers c using (customer_id)
                         where b.breakage_cents <> 0 group by 1)
        select currency, coalesce(used.v, 0), coalesce(used.o, 0), coalesce(expired.b, 0)
        from used full join expired using (currency) order by currency""")}
    issued = q("""select currency, kind, count(*), sum(net_cents), sum(total_cents) from documents
                  where run_id = ? group by 1, 2 order by 1, 2""", [run_id]) if run_id is not None else []
    documents: dict[str, dict] = {}
    for cur, kind, n, net, total in issued:
        documents.setdefault(cur, {})[kind] = {"count": n, "net": cents_text(net), "total": cents_text(total)}
    breach = q("""select count(*), count(*) filter (where auto_invoice) from mart_pools where in_breach""")[0]
    return {
        "customers": q("select count(*) from stg_customers")[0][0],
        "blocks": sum(by_status.values()),
        "blocks_by_status": by_status,
        "entries": sum(entry_status.values()),
        "entries_by_status": entry_status,
        "minutes_charged": split["charged"],
        "minutes_covered": split["covered_by_blocks"],
        "minutes_overage": split["overage"] + split["unpriced"],
        "entries_unpriced": int(unpriced_entries),
        "minutes": split,
        "money_charged": money,
        "documents_total": {f"{cur} {kind}": {"count": d["count"], "total": d["total"]}
                            for cur, kinds in documents.items() for kind, d in kinds.items()},
        "documents_by_currency": documents,
        "pools_in_breach": breach[0],
        "pools_in_breach_auto_invoice": breach[1],
        "quarantined_rows": sum(quarantine.values()),
        "quarantine_by_reason": quarantine,
        **quarantined_lines(con),
        "changes": changes if changes is not None else {"previous_run_id": None},
    }


def quarantined_lines(con: duckdb.DuckDBPyConnection) -> dict:
    """Input lines in quarantine, in all and by reason: a line with several problems counts
    once, and a file rejected whole counts every line it lost (never "1 row" for a file)."""
    lines = """select source_file, line, reason_code, max(lines) as lines from quarantine
               group by source_file, line, reason_code"""
    total = con.execute(f"""select coalesce(sum(lines), 0) from (
                                select source_file, line, max(lines) as lines from ({lines}) group by 1, 2)"""
                        ).fetchone()[0]
    by_reason = dict(con.execute(f"select reason_code, sum(lines) from ({lines}) group by 1 order by 1").fetchall())
    return {"quarantined_lines": int(total), "quarantine_lines_by_reason": {k: int(v) for k, v in by_reason.items()}}



def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = ?",
                            [name]).fetchone()[0])


#: the time-log columns of an entry: a later version that changes one of them corrects it
ENTRY_CONTENT = ("customer_id", '"user"', "service", "description", "started_epoch", "duration_seconds",
                 "incident_id", "billed_elsewhere")


def changes_since_previous(con: duckdb.DuckDBPyConnection, run_id: int) -> dict:
    """What this run changed against the previous committed nightly (the runs that keep their
    results in the warehouse; a close only freezes its reconciliation): entries new,
    corrected (a later version changed their time-log content) and newly charged; documents
    issued; pools newly below their reorder point or back above it; blocks newly expired.

    Reads this run's marts and the previous run's `last_*` tables, so it must run before
    `persist_marts` replaces them."""
    previous = con.execute("""select run_id, as_of, command from runs
                              where outcome = 'committed' and command = 'nightly' and run_id < ?
                              order by run_id desc limit 1""", [run_id]).fetchone()
    if previous is None or not all(_table_exists(con, t) for t in ("last_entries", "last_pools", "last_balances")):
        return {"previous_run_id": None}
    q = lambda text: con.execute(text).fetchall()
    content = " or ".join(f"e.{c} is distinct from p.{c}" for c in ENTRY_CONTENT)
    new, corrected, newly_charged = q(f"""
        select count(*) filter (where p.entry_id is null),
               count(*) filter (where p.entry_id is not null and ({content})),
               count(*) filter (where e.status = 'charged' and p.status is distinct from 'charged')
        from mart_entries e left join last_entries p using (entry_id)""")[0]
    pool = lambda prefix: (f"{prefix}.customer_id || ' ' || {prefix}.kind || ' ' || "
                           f"coalesce({prefix}.service, 'any service')")
    same_pool = ("n.customer_id = p.customer_id and n.kind = p.kind "
                 "and n.service is not distinct from p.service")
    breached = [r[0] for r in q(f"""select {pool('n')} from mart_pools n left join last_pools p on {same_pool}
                                  where n.in_breach and not coalesce(p.in_breach, false) order by 1""")]
    recovered = [r[0] for r in q(f"""select {pool('p')} from last_pools p left join mart_pools n on {same_pool}
                                   where p.in_breach and not coalesce(n.in_breach, false) order by 1""")]
    expired = [r[0] for r in q("""select n.block_id from mart_balances n left join last_balances p using (block_id)
                                  where n.status = 'expired' and p.status is distinct from 'expired'
                                  order by 1""")]
    documents = con.execute("select count(*) from documents where run_id = ?", [run_id]).fetchone()[0]
    return {"previous_run_id": previous[0], "previous_as_of": previous[1].isoformat(),
            "previous_command": previous[2], "entries_new": new, "entries_corrected": corrected,
            "entries_newly_charged": newly_charged, "documents_new": documents,
            "pools_newly_in_breach": breached, "pools_no_longer_in_breach": recovered,
            "blocks_newly_expired": expired}


# --- in words -----------------------------------------------------------------------------

KIND_WORDS = {"overage": ("overage invoice", "overage invoices"), "topup": ("top-up invoice", "top-up invoices"),
              "credit_note": ("credit note", "credit notes")}
STATUS_WORDS = {"active": "active", "exhausted": "used up", "expired": "expired", "not_started": "not started yet"}


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _listed(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def output_listing(out: Path) -> list[str]:
    """Every output of a run's folder: its files by absolute path, its folders with how many
    files they hold (one prepaid log folder per customer would fill a screen)."""
    out = Path(out).absolute()
    lines = []
    for path in sorted(out.iterdir()):
        if path.is_dir():
            files = sum(1 for p in path.rglob("*") if p.is_file())
            lines.append(f"{path}/ ({_n(files, 'file')})")
        else:
            lines.append(str(path))
    return lines


def render(report) -> list[str]:
    """The summary of a committed run in words, with absolute paths (a RunReport); the CLI
    prints it and `final_line`, the Prefect artifact and flow-run log show the same."""
    c = report.counts
    what = f"close of {report.period}" if report.period else report.command
    lines = [f"{what} run {report.run_id} as of {report.as_of}: committed"]
    if report.ingest is not None:
        s = report.ingest
        lines.append(f"  input files: {len(s.files_ingested)} new or changed, {len(s.files_unchanged)} unchanged")
    statuses = ", ".join(f"{n:,} {STATUS_WORDS.get(k, k)}" for k, n in c["blocks_by_status"].items())
    lines.append(f"  {_n(c['customers'], 'customer')}; {_n(c['blocks'], 'prepaid block')}"
                 + (f" ({statuses})" if statuses else ""))
    entries = c["entries_by_status"]
    lines.append(f"  {_n(c['entries'], 'time entry', 'time entries')}: {entries.get('charged', 0):,} charged, "
                 f"{entries.get('pending', 0):,} pending authorization, {entries.get('not_billable', 0):,} not billable")
    quarantined = c.get("quarantined_lines", c["quarantined_rows"])
    by_reason = c.get("quarantine_lines_by_reason", c["quarantine_by_reason"])
    lines.append(f"  {_n(quarantined, 'input line')} quarantined"
                 + (" (" + ", ".join(f"{k} {n:,}" for k, n in by_reason.items()) + "): see quarantine.csv"
                    if quarantined else ""))

    m = c["minutes"]
    width = max(len(f"{v:,}") for v in m.values())
    lines += ["", "Charged minutes, all work up to the as-of date:"]
    for key, label in (("covered_by_blocks", "covered by hours, unlimited and incident blocks"),
                       ("valued", "paid from prepaid value (money) blocks"),
                       ("overage", "overage, billed at the hourly rate"),
                       ("unpriced", f"unpriced: no hourly rate, not billed ({_n(c['entries_unpriced'], 'entry', 'entries')})")):
        lines.append(f"  {m[key]:>{width},}  {label}")
    lines.append(f"  {m['charged']:>{width},}  charged in total")

    money = c["money_charged"]
    docs = c.get("documents_by_currency", {})
    for cur in sorted(set(money) | set(docs)):
        lines += ["", f"Money in {cur}:"]
        figures = money.get(cur, {})
        rows = [("prepaid value used (value blocks)", figures.get("value_used", "0.00")),
                ("overage at hourly rates, net", figures.get("overage", "0.00")),
                ("expired unused prepaid value (breakage)", figures.get("breakage", "0.00"))]
        width = max(len(money_display(v)) for _, v in rows)
        lines += [f"  {money_display(v):>{width}}  {label}" for label, v in rows]
        issued = docs.get(cur, {})
        if issued:
            lines.append("  issued by this run (totals with tax): " + "; ".join(
                f"{_n(d['count'], *KIND_WORDS.get(kind, (kind, kind)))} {money_display(d['total'])}"
                for kind, d in sorted(issued.items())))
    if not docs:
        lines += ["", "No invoice or credit note issued by this run."]

    lines += ["", "Prepaid pools:"]
    auto = c.get("pools_in_breach_auto_invoice", 0)
    lines.append(f"  {_n(c['pools_in_breach'], 'pool')} below the reorder point"
                 + (f" ({auto:,} invoiced automatically, {c['pools_in_breach'] - auto:,} to reorder by hand): "
                    "see breaches.csv" if c["pools_in_breach"] else ""))

    ch = c.get("changes") or {}
    lines += [""]
    if ch.get("previous_run_id") is None:
        lines.append("Since the previous run: none before this one on this warehouse.")
    else:
        lines.append(f"Since the previous run ({ch['previous_command']} run {ch['previous_run_id']} "
                     f"as of {ch['previous_as_of']}):")
        lines.append(f"  entries: {ch['entries_new']:,} new, {ch['entries_corrected']:,} corrected by a later "
                     f"version, {ch['entries_newly_charged']:,} newly charged")
        lines.append(f"  documents: {ch['documents_new']:,} new")
        for key, label in (("pools_newly_in_breach", "pools newly below the reorder point"),
                           ("pools_no_longer_in_breach", "pools back above the reorder point"),
                           ("blocks_newly_expired", "blocks newly expired")):
            items = ch.get(key) or []
            lines.append(f"  {label}: {len(items):,}" + (f" ({_listed(items)})" if items else ""))

    if report.close is not None:
        k = report.close
        money = lambda d: ", ".join(f"{cur} {money_display(v)}" for cur, v in sorted(d.items()) if cur) or "0.00"
        lines += ["", f"Close of {k.period}:",
                  f"  reconciled pools: {k.pools:,}; late adjustments: {k.late_adjustments:,}",
                  f"  deferred revenue (prepaid value not yet used): {money(k.deferred_revenue_cents)}",
                  f"  breakage of the period (expired unused value): {money(k.breakage_cents)}",
                  f"  period {k.period} is closed"
                  + (f" (forced over {len(k.pending)} pending entries)" if k.forced and k.pending else "")]
    if report.out is not None and Path(report.out).is_dir():
        lines += ["", f"Outputs in {Path(report.out).absolute()}:"]
        lines += [f"  {line}" for line in output_listing(report.out)]
    if report.warnings:
        lines += ["", f"Warnings ({len(report.warnings)}):"] + [f"  {w}" for w in report.warnings]
    return lines


def final_line(report) -> str:
    """One line: what ran, what it issued and rejected, where the outputs are."""
    c = report.counts
    what = f"close of {report.period}" if report.period else report.command
    where = f"; outputs in {Path(report.out).absolute()}" if report.out is not None else ""
    return (f"{what} run {report.run_id} as of {report.as_of} committed: "
            f"{_n(c.get('documents_issued', 0), 'document')} issued, "
            f"{_n(c.get('quarantined_lines', c.get('quarantined_rows', 0)), 'input line')} quarantined{where}")


# --- phase lines and warnings of a run -----------------------------------------------------

def _entries(n: int) -> str:
    return _n(n, "entry", "entries")


def ingest_detail(summary) -> str:
    """The ingest phase's line: files seen, new or changed, unchanged; rows added."""
    rows = sum(summary.rows_added.values())
    return (f"{_n(summary.files_seen, 'file')} in the inbox, {len(summary.files_ingested):,} new or changed, "
            f"{len(summary.files_unchanged):,} unchanged; {_n(rows, 'row')} added")


def validate_detail(inputs) -> str:
    """The validate phase's line: what was accepted and how many rows were quarantined."""
    return (f"{_n(len(inputs.customers), 'customer')}, {_n(len(inputs.blocks), 'block')}, "
            f"{_n(len(inputs.rates), 'rate')}, {_entries(inputs.entry_count)} accepted; "
            f"{_n(len(inputs.quarantine), 'row')} quarantined")


def likely_typos(inputs) -> list[str]:
    """Services of time entries that no rate row and no block names, where rates or blocks do
    name services: most likely misspelt (such an entry is priced by a rate for any service, or
    not at all, and no block of its service covers it). One warning per service, with its
    number of entries and the closest named service. A firm that names no service anywhere
    gets no warning."""
    import difflib

    named = sorted(set(inputs.rates["service"].dropna()) | set(inputs.blocks["service"].dropna()))
    if not named:
        return []
    counts = inputs.entry_services
    warnings = []
    for service, n in sorted(counts.items()):
        if service in named:
            continue
        close = difflib.get_close_matches(service, named, n=1, cutoff=0.6)
        warnings.append(f"service {service!r} of {_entries(int(n))} is named by no rate and no block: a typo"
                        + (f" of {close[0]!r}?" if close else "?") + " (fix the time log, or name it in rates.csv)")
    return warnings
