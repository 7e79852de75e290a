"""Documents (SPEC §6): overage invoices, top-up invoices and credit notes.

Issued documents are immutable rows in `documents`/`document_lines`. Each run computes, per
charged entry, the overage amount it should have billed by now (its *target*) and compares
it with what its document lines add up to; a positive difference goes on the next invoice,
a negative one on a credit note naming the invoice it corrects (latest billing first).
Numbers are allocated here, inside the run's transaction, so they are gap-free.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
from transforms.documents import archive, docview, ubl
from transforms.units import cents_text, grouped_text, hours_text, period_end, round_half_up
from transforms.warehouse import append_frame, sql

#: first characters that make spreadsheet programs evaluate a cell (= + - @, TAB, CR)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
KIND_RANK = {"credit_note": 0, "overage": 1, "topup": 2}
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF ", "JPY": "¥"}
INVOICE_COLUMNS = ["number", "kind", "customer_id", "issued_on", "currency", "net", "tax", "total", "corrects"]
LINE_COLUMNS = ["number", "line_no", "entry_id", "description", "minutes", "rate", "amount",
                "work_date", "user", "service", "block_id", "corrects"]


@dataclass
class Line:
    amount_cents: int
    description: str
    entry_id: str | None = None
    block_id: str | None = None
    work_date: date | None = None
    user: str | None = None
    service: str | None = None
    minutes: int | None = None
    rate_cents: int | None = None
    corrects: str | None = None
    detail: dict | None = None     # what the document says about the line (JSON in the warehouse)


@dataclass
class Draft:
    """A document before it has a number."""

    kind: str
    customer_id: str
    currency: str
    tax_rate_percent: Decimal
    lines: list[Line] = field(default_factory=list)
    corrects: str | None = None
    period: str | None = None
    pool_kind: str | None = None
    pool_service: str | None = None

    def sort_key(self) -> tuple:
        return (self.customer_id, KIND_RANK[self.kind], self.period or "", self.corrects or "",
                self.pool_kind or "", self.pool_service or "")

    @property
    def net_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    @property
    def tax_cents(self) -> int:
        return tax_of(self.net_cents, self.tax_rate_percent)


def tax_of(net_cents: int, rate_percent: Decimal) -> int:
    """round_half_up(net × rate / 100, 2) in cents (half away from zero for credits)."""
    return round_half_up(Decimal(net_cents) * rate_percent / 100)


# --- planning (pure) ----------------------------------------------------------------------

def plan_overage(rows: list[dict], prior_lines: dict[str, list[dict]], customers: dict[str, dict],
                 as_of: date) -> list[Draft]:
    """Invoices for positive differences and credit notes for negative ones.

    rows: one per entry to consider, with keys entry_id, customer_id, target_cents,
      target_minutes, billed_cents, billed_minutes, period (posting month YYYY-MM), work_date,
      user, service, description, rate_cents.
    prior_lines: entry_id -> its earlier invoice lines and credits, newest first, each
      {number, amount_cents} net of credits already applied to that invoice.
    """
    invoices: dict[tuple, Draft] = {}
    credits: dict[tuple, Draft] = {}
    for row in rows:
        diff = row["target_cents"] - row["billed_cents"]
        if diff == 0:
            continue
        customer = customers[row["customer_id"]]
        adjusting = row["billed_cents"] != 0
        text = row["description"] or ""
        minutes = row["target_minutes"] - row["billed_minutes"]
        if diff > 0:
            if customer["invoice_cadence"] == "monthly":
                if period_end(row["period"]) > as_of:
                    continue
                key = (row["customer_id"], row["period"])
            else:
                key = (row["customer_id"], None)
            draft = invoices.setdefault(key, Draft("overage", row["customer_id"], customer["currency"],
                                                   customer["tax_rate_percent"], period=key[1]))
            draft.lines.append(Line(
                diff, f"Adjustment: {text}" if adjusting else text, row["entry_id"],
                work_date=row["work_date"], user=row["user"], service=row["service"],
                minutes=minutes, rate_cents=row["rate_cents"],
                detail=_overage_detail(row, text, adjusting)))
            continue
        remaining = -diff
        for prior in prior_lines.get(row["entry_id"], []):
            if remaining == 0:
                break
            take = min(remaining, prior["amount_cents"])
            if take <= 0:
                continue
            key = (row["customer_id"], prior["number"])
            draft = credits.setdefault(key, Draft("credit_note", row["customer_id"], customer["currency"],
                                                  customer["tax_rate_percent"], corrects=prior["number"]))
            draft.lines.append(Line(
                -take, f"Correction: {text}", row["entry_id"], work_date=row["work_date"],
                user=row["user"], service=row["service"], minutes=minutes, rate_cents=row["rate_cents"],
                corrects=prior["number"],
                detail={"text": text, "reason": row.get("reason") or "entry_changed",
                        "billed_cents": prior.get("billed_cents", prior["amount_cents"]),
                        "billed_on": _iso(prior.get("issued_on"))}))
            minutes = 0
            remaining -= take
        if remaining:
            raise AssertionError(f"entry {row['entry_id']}: {remaining} cents to credit but nothing billed")
    return list(invoices.values()) + list(credits.values())


def _overage_detail(row: dict, text: str, adjusting: bool) -> dict:
    detail: dict = {"text": text}
    if adjusting:
        detail["adjustment"] = True
    elif row.get("value_cents"):
        # the time priced (after hours blocks) and the prepaid value that paid part of it: the
        # document shows minutes × rate less this value, which is the line amount exactly
        detail["value_cents"] = int(row["value_cents"])
        detail["minutes"] = int(row["priced_minutes"])
    return detail


def _iso(day) -> str | None:
    return day.isoformat() if day is not None else None


def plan_topups(pools: list[dict], open_topups: set[tuple], customers: dict[str, dict]) -> list[Draft]:
    """One top-up invoice per pool in breach whose latest block has auto_invoice, unless an
    earlier top-up of the pool is still unpaid (the same breach episode)."""
    drafts = []
    for pool in pools:
        key = (pool["customer_id"], pool["kind"], pool["service"])
        if key in open_topups:
            continue
        customer = customers[pool["customer_id"]]
        draft = Draft("topup", pool["customer_id"], customer["currency"], customer["tax_rate_percent"],
                      pool_kind=pool["kind"], pool_service=pool["service"])
        draft.lines.append(Line(pool["amount_paid_cents"], topup_text(pool, customer["currency"]),
                                block_id=pool["block_id"], service=pool["service"],
                                detail={"kind": pool["kind"], "quantity_units": pool["quantity_units"],
                                        "service": pool["service"], "block_id": pool["block_id"],
                                        "valid_days": pool.get("valid_days")}))
        drafts.append(draft)
    return drafts


def topup_text(pool: dict, currency: str) -> str:
    units = pool["quantity_units"]
    scope = pool["service"] or "any service"
    if pool["kind"] == "hours":
        quantity = f"{hours_text(units)} hours"
    elif pool["kind"] == "value":
        quantity = f"{format_money(units, currency)} prepaid value"
    else:
        quantity = f"{units} incidents"
    return f"Top-up: {quantity} ({scope}), as block {pool['block_id']}"


# --- issuing ------------------------------------------------------------------------------

def issue_documents(con: duckdb.DuckDBPyConnection, as_of: date, tz: str,
                    billing_starts: date | None = None, seller: dict | None = None,
                    rebuild: bool = False) -> list[str]:
    """Plan, number and store this run's documents; returns their numbers in issue order.

    billing_starts: the cutover; entries worked before it were billed by the previous system and
    are never invoiced here (they still draw on blocks).
    seller: seller.toml, checked; stored with each document, as are the buyer's details.
    rebuild: make `entry_document_numbers` from every document instead of bringing it up to date.

    Customers are planned, numbered and stored in batches of CUSTOMER_BATCH, in customer order:
    a customer's documents depend only on its own entries and pools, and documents are numbered
    in (customer, kind, ...) order, so the numbers are those of planning all at once while
    memory follows one batch, not the size of history."""
    con.execute(sql("documents_schema.sql"))
    run_id = con.execute("select currval('run_id_seq')").fetchone()[0]  # this run's id
    customers = {r["customer_id"]: r for r in _records(con, sql("documents/customers.sql"))}
    for c in customers.values():
        c["tax_rate_percent"] = Decimal(c["tax_rate_percent"])
    # computed once, before this run stores anything: what documents billed so far
    con.execute(f"create or replace temp table doc_billing_rows as {sql('documents/billing_rows.sql')}",
                {"billing_starts": billing_starts, "tz": tz})
    pools: dict[str, list[dict]] = {}
    for pool in _breached_pools(con):
        pools.setdefault(pool["customer_id"], []).append(pool)
    open_topups = _open_topups(con, as_of)
    billed = [c for (c,) in con.execute("select distinct customer_id from doc_billing_rows").fetchall()]
    ids = sorted(set(billed) | set(pools))
    store = _Store(con, as_of, run_id, customers, seller)
    for start in range(0, len(ids), CUSTOMER_BATCH):
        batch = ids[start:start + CUSTOMER_BATCH]
        rows = _records(con, sql("documents/billing_batch.sql"), {"first": batch[0], "last": batch[-1]})
        drafts = _plan_batch(con, rows, customers, as_of)
        del rows
        drafts += plan_topups([p for c in batch for p in pools.get(c, [])], open_topups, customers)
        drafts.sort(key=Draft.sort_key)
        store.add(drafts)
    con.execute("drop table doc_billing_rows")
    store.numbering.save(con)
    keep_entry_documents(con, run_id, as_of, rebuild)
    document_views(con, as_of)
    return store.numbers


#: customers planned and stored together (the 1M bench inbox has 10,000)
CUSTOMER_BATCH = 500


def _plan_batch(con: duckdb.DuckDBPyConnection, rows: list[dict], customers: dict[str, dict],
                as_of: date) -> list[Draft]:
    """The overage invoices and credit notes of one batch's billing rows."""
    credited = [r["entry_id"] for r in rows if r["target_cents"] < r["billed_cents"]]
    reasons = _credit_reasons(con, credited)
    for row in rows:
        row["reason"] = reasons.get(row["entry_id"])
    return plan_overage(rows, _prior_lines(con, credited), customers, as_of)


def _records(con: duckdb.DuckDBPyConnection, query: str, params=None) -> list[dict]:
    cur = con.execute(query, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _streamed(con: duckdb.DuckDBPyConnection, query: str, params=None, size: int = 10_000):
    """The rows of `query` as dicts, fetched `size` at a time (a first night has a million
    document lines); run no other query on `con` until they are all read."""
    cur = con.execute(query, params or [])
    names = [d[0] for d in cur.description]
    while rows := cur.fetchmany(size):
        yield from (dict(zip(names, row)) for row in rows)


def _prior_lines(con: duckdb.DuckDBPyConnection, entry_ids: list[str]) -> dict[str, list[dict]]:
    """Per entry of `entry_ids` (those to credit): invoices that billed it, newest first, net
    of credits already applied."""
    if not entry_ids:
        return {}
    out: dict[str, list[dict]] = {}
    for row in _records(con, sql("documents/prior_lines.sql"), {"entry_ids": entry_ids}):
        out.setdefault(row["entry_id"], []).append(row)
    return out


def _credit_reasons(con: duckdb.DuckDBPyConnection, entry_ids: list[str]) -> dict[str, str]:
    """Why each entry to credit is billed less now (SPEC §6, sql/documents/credit_reasons.sql)."""
    if not entry_ids:
        return {}
    columns = {c[0] for c in con.execute("select * from supersessions limit 0").description}
    # entry versions are (entry_id) or (kind = 'entry', id) once blocks are superseded too
    superseded = "s.entry_id" if "entry_id" in columns else "s.id"
    only_entries = "" if "kind" not in columns else "s.kind = 'entry' and"
    query = sql("documents/credit_reasons.sql").format(superseded=superseded, only_entries=only_entries)
    return dict(con.execute(query, {"entry_ids": entry_ids}).fetchall())


def _breached_pools(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return _records(con, sql("documents/breached_pools.sql"))


def _open_topups(con: duckdb.DuckDBPyConnection, as_of: date) -> set[tuple]:
    """Pools whose latest top-up invoice has no purchase naming it and none on/after its date."""
    rows = con.execute(sql("documents/pool_topups.sql"), {"as_of": as_of}).fetchall()
    return {(customer_id, kind, service) for customer_id, kind, service, _ in rows}


class Numbering:
    """Gap-free numbers per series ('INV-2026', 'CN-2026'); counters saved with the documents."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.last = dict(con.execute("select series, last_number from document_counters").fetchall())
        self.used: set[str] = set()

    def next(self, kind: str, issued_on: date) -> str:
        series = f"{'CN' if kind == 'credit_note' else 'INV'}-{issued_on.year}"
        self.last[series] = self.last.get(series, 0) + 1
        self.used.add(series)
        return f"{series}-{self.last[series]:06d}"

    def save(self, con: duckdb.DuckDBPyConnection) -> None:
        for series in sorted(self.used):
            con.execute("insert or replace into document_counters values (?, ?)", [series, self.last[series]])


#: customer columns kept with each document (its buyer block, SPEC §10)
BUYER_COLUMNS = ("street", "city", "postal_code", "country", "vat_id", "company_id", "email", "endpoint",
                 "buyer_reference", "language", "tax_category", "tax_exemption_reason")


#: one encoder for every line's detail: json.dumps with these options builds a new one per call
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def _json(value: dict | None) -> str | None:
    return None if value is None else _ENCODER.encode(value)


class _Store:
    """Numbers drafts in the order given and inserts them, batch after batch, with one
    numbering and one issue sequence for the whole run."""

    def __init__(self, con: duckdb.DuckDBPyConnection, issued_on: date, run_id: int,
                 customers: dict[str, dict] | None = None, seller: dict | None = None):
        self.con, self.issued_on, self.run_id = con, issued_on, run_id
        self.customers = customers or {}
        self.numbering = Numbering(con)
        self.numbers: list[str] = []
        self.seller_json = _json(seller)
        self.due_on = issued_on + timedelta(days=seller["payment_terms_days"]) if seller else None

    def add(self, drafts: list[Draft]) -> None:
        docs, lines = [], []
        for draft in drafts:
            number = self.numbering.next(draft.kind, self.issued_on)
            net, tax = draft.net_cents, draft.tax_cents
            customer = self.customers.get(draft.customer_id, {})
            buyer = {"name": customer.get("name") or draft.customer_id,
                     **{k: customer.get(k) for k in BUYER_COLUMNS if customer.get(k) is not None}}
            docs.append((number, draft.kind, draft.customer_id, self.issued_on, draft.currency, net, tax,
                         net + tax, str(draft.tax_rate_percent), draft.corrects, draft.period, draft.pool_kind,
                         draft.pool_service, self.run_id, len(self.numbers), self.due_on,
                         buyer.get("tax_category") or ("S" if draft.tax_rate_percent > 0 else "Z"),
                         buyer.get("language") or "en", self.seller_json, _json(buyer)))
            self.numbers.append(number)
            lines += [(number, i, l.entry_id, l.block_id, l.work_date, l.user, l.service, l.description,
                       l.minutes, l.rate_cents, l.amount_cents, l.corrects, _json(l.detail))
                      for i, l in enumerate(draft.lines, start=1)]
        _insert(self.con, "documents", docs)
        _insert(self.con, "document_lines", lines)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Append `rows` (tuples in the table's column order) to `table`; through append_frame, so
    that the run's transaction does not keep them alive until its commit."""
    if not rows:
        return
    types = {name: type_ for name, type_, *_ in con.execute(f"describe {table}").fetchall()}
    append_frame(con, table, pd.DataFrame(rows, columns=list(types), dtype="object"), types)


def keep_entry_documents(con: duckdb.DuckDBPyConnection, run_id: int, as_of: date, rebuild: bool = False) -> None:
    """Bring `entry_document_numbers` up to this run's documents: the entries they bill get
    their numbers again, from all their documents. Made whole when asked (`rebuild`), when it
    does not hold every earlier run's documents (a warehouse from before the table), and while
    it holds no run's (a first night: every entry it bills would be replaced, and selecting
    them by id needed more than DuckDB's memory limit on a 10M first night)."""
    if rebuild or not _entry_numbers_hold(con, run_id) or _entry_numbers_empty(con):
        _entry_numbers_whole(con, as_of)
        return
    con.execute("""
        create or replace temp table run_billed_entries as
        select distinct l.entry_id from document_lines l join documents d using (number)
        where d.run_id = $run_id and l.entry_id is not null""", {"run_id": run_id})
    con.execute("delete from entry_document_numbers where entry_id in (select entry_id from run_billed_entries)")
    # as of the run's date, which no document is after: nightly runs move forward only
    query = sql("documents/entry_documents.sql").format(entries="and entry_id in (select entry_id from run_billed_entries)")
    con.execute(f"insert into entry_document_numbers {query}", {"as_of": as_of})
    con.execute("drop table run_billed_entries")
    _entry_numbers_through(con)


def _entry_numbers_hold(con: duckdb.DuckDBPyConnection, before_run: int | None = None) -> bool:
    """Whether `entry_document_numbers` holds the documents of every run before `before_run`
    (of every run when None)."""
    through = con.execute("select max(run_id) from entry_document_numbers_through").fetchone()[0]
    last = con.execute("select max(run_id) from documents where $before is null or run_id < $before",
                       {"before": before_run}).fetchone()[0]
    return through == last


def _entry_numbers_empty(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `entry_document_numbers` was never filled (no run with documents made it)."""
    return con.execute("select count(*) = 0 from entry_document_numbers_through").fetchone()[0]


def _entry_numbers_whole(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """`entry_document_numbers` made from every document (none is dated after `as_of`)."""
    con.execute("delete from entry_document_numbers")
    con.execute(f"insert into entry_document_numbers {sql('documents/entry_documents.sql').format(entries='')}",
                {"as_of": as_of})
    _entry_numbers_through(con)


def _entry_numbers_through(con: duckdb.DuckDBPyConnection) -> None:
    """Record that `entry_document_numbers` holds every document stored so far."""
    con.execute("delete from entry_document_numbers_through")
    con.execute("insert into entry_document_numbers_through select max(run_id) from documents having count(*) > 0")


def document_views(con: duckdb.DuckDBPyConnection, as_of: date, kept: bool = True) -> None:
    """entry_documents (numbers that billed each entry) and pool_topups (open episode invoice),
    from the documents issued up to `as_of` (a close as of a period end that later nights
    followed shows the documents of its own date). `kept`: read from `entry_document_numbers`
    when no document is dated after `as_of`, instead of aggregating every document line."""
    con.execute(sql("documents_schema.sql"))
    later = con.execute("select exists (from documents where issued_on > $as_of)", {"as_of": as_of}).fetchone()[0]
    if kept and not later:
        if not _entry_numbers_hold(con):
            _entry_numbers_whole(con, as_of)
        con.execute("create or replace temp table entry_documents as select * from entry_document_numbers")
    else:
        con.execute("create or replace temp table entry_documents as "
                    f"{sql('documents/entry_documents.sql').format(entries='')}", {"as_of": as_of})
    con.execute(f"create or replace temp table pool_topups as {sql('documents/pool_topups.sql')}",
                {"as_of": as_of})


# --- rendering ----------------------------------------------------------------------------

def format_money(cents: int, currency: str) -> str:
    """Amount in the customer's currency, e.g. '€1,234.50' or '-€5.00'."""
    sign = "-" if cents < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    return f"{sign}{symbol}{grouped_text(abs(cents))}"


def spreadsheet_safe(text: str | None) -> str:
    """Input text for a CSV cell: a leading `'` where a spreadsheet would evaluate it."""
    if not text:
        return ""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_documents(con: duckdb.DuckDBPyConnection, target: Path, run_id: int, copies: Path | None = None) -> None:
    """invoices.csv, invoice_lines.csv and invoices/NUMBER.{html,pdf,xml} for this run's
    documents; the latter also into `copies` when given (archive.write_run_documents)."""
    target.mkdir(parents=True, exist_ok=True)
    issued = 0
    with open(target / "invoices.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(INVOICE_COLUMNS)
        for d in _streamed(con, sql("documents/run_documents.sql"), {"run_id": run_id}):
            issued += 1
            writer.writerow([d["number"], d["kind"], spreadsheet_safe(d["customer_id"]), d["issued_on"].isoformat(),
                             d["currency"], cents_text(d["net_cents"]), cents_text(d["tax_cents"]),
                             cents_text(d["total_cents"]), d["corrects"] or ""])
    with open(target / "invoice_lines.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(LINE_COLUMNS)
        for l in _streamed(con, sql("documents/run_lines.sql"), {"run_id": run_id}):
            writer.writerow([l["number"], l["line_no"], spreadsheet_safe(l["entry_id"]),
                             spreadsheet_safe(l["description"]),
                             "" if l["minutes"] is None else l["minutes"], cents_text(l["rate_cents"]),
                             cents_text(l["amount_cents"]),
                             l["work_date"].isoformat() if l["work_date"] else "",
                             spreadsheet_safe(l["user"]), spreadsheet_safe(l["service"]),
                             spreadsheet_safe(l["block_id"]), l["corrects"] or ""])
    if issued:
        archive.write_run_documents(con, target / "invoices", run_id, copies)


def einvoice_warnings(con: duckdb.DuckDBPyConnection, run_id: int) -> list[str]:
    """One warning per customer of this run's documents whose details make no e-invoice."""
    missing: dict[str, list[str]] = {}
    for customer_id, seller, buyer in con.execute(sql("documents/einvoice_parties.sql"),
                                                  {"run_id": run_id}).fetchall():
        fields = ubl.missing_fields({"seller": seller, "buyer": buyer})
        if fields:
            missing[customer_id] = fields
    return [f"customer {cid} gets no e-invoice (XML): missing {', '.join(fields)}"
            for cid, fields in missing.items()]


def invoice_context(doc: dict, lines: list[dict]) -> SimpleNamespace:
    """The document view that the HTML template and the PDF renderer read (transforms/documents/docview.py)."""
    return docview.invoice_context(doc, lines)
