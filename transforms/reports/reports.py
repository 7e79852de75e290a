"""Per-customer prepaid logs (SPEC §6): reports/<customer>/prepaid-log.xlsx and .csv.

The XLSX is for the customer, in their words: Summary (one row per block, with a chart of
each pool's remaining over time), Log (purchases, work deducted and expired unused value in
order, at local times of the business time zone, with the pool's running remaining),
Invoices (every document issued to the customer: overage invoices, credit notes and top-up
invoices, with totals and, for a top-up, the purchase that paid it), Billed work (each line
of the overage invoices and credit notes), Pending (work not yet charged) and Chart data.
Hours are shown as hours, money in the customer's currency, dates as real dates. Every label
the customer reads is in LABELS, keyed, so that the log can be translated. Text from inputs
is always stored as text, never as a formula. The CSV log is the machine form: UTC instants,
minutes, money with 2 decimals (docs/outputs.md).

A log is rendered again only when something it shows changes: its "Figures as of" date is the
night it was rendered, and a later night whose figures are the same keeps it byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tempfile
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from transforms import progress, workers
from transforms.documents.documents import CURRENCY_SYMBOLS, FORMULA_STARTS, spreadsheet_safe
from transforms.reports import xlsx
from transforms.units import UNIT_OF_KIND, cents_to_number, in_unit, minutes_to_hours, unit_text
from transforms.warehouse import SQL_DIR, beside_workers, create_table, sql, store_frame

PARALLEL_FROM = 200      # customers; below this, process start-up costs more than it saves
CELL_LIMIT = xlsx.CELL_LIMIT
CUT_MARK = " … [cut at the 32,767 characters a spreadsheet cell holds; prepaid-log.csv has the full text]"
#: every text of the XLSX log a customer reads, by key (one table, so that it can be translated);
#: {currency} and {zone} are filled in
LABELS = {
    "sheet.summary": "Summary", "sheet.log": "Log", "sheet.invoices": "Invoices",
    "sheet.billed": "Billed work", "sheet.pending": "Pending", "sheet.chart_data": "Chart data",
    "block": "Block", "kind": "Kind", "service": "Service", "unit": "Unit", "purchased": "Purchased",
    "used": "Used", "expired": "Expired unused", "remaining": "Remaining", "starts_on": "Starts on",
    "expires_on": "Last day of cover", "status": "Status", "amount_paid": "Amount paid ({currency})",
    "expired_value": "Expired unused value ({currency})",
    "kind.hours": "Hours", "kind.value": "Prepaid value", "kind.unlimited": "Unlimited",
    "kind.incidents": "Incidents",
    "unit.hours": "hours", "unit.money": "{currency}", "unit.incidents": "incidents",
    "any_service": "any service", "pool": "{kind}, {service}",
    "status.active": "active", "status.expired": "expired", "status.exhausted": "used up",
    "status.not_started": "not started yet",
    "customer": "Customer", "as_of": "Figures as of", "currency": "Currency", "time_zone": "Time zone",
    "as_of_note": "A new version of this file is made whenever a figure in it changes.",
    "at": "Date and time ({zone})", "event": "Event", "prepaid_pool": "Prepaid pool", "entry": "Time entry",
    "work_date": "Work date", "user": "User", "description": "Description", "change": "Change",
    "pool_remaining": "Remaining in pool",
    "event.purchase": "purchase", "event.deduction": "work deducted", "event.expiry": "expired unused",
    "number": "Number", "document_kind": "Document", "issued_on": "Issued on", "corrects": "Corrects",
    "what": "For", "net": "Net ({currency})", "tax": "Tax ({currency})", "total": "Total ({currency})",
    "paid_by": "Paid by purchase", "not_paid": "not yet paid",
    "doc.overage": "invoice", "doc.credit_note": "credit note", "doc.topup": "top-up invoice",
    "doc.overage_for": "work beyond the prepaid cover",
    "doc.overage_for_period": "work beyond the prepaid cover in {period}",
    "doc.credit_note_for": "correction of {number}",
    "hours_billed": "Hours billed", "rate": "Rate ({currency} per hour)", "amount": "Amount ({currency})",
    "pending_status.pending": "waiting for authorization", "pending_status.unpriced": "no hourly rate yet",
    "billable_hours": "Billable hours",
    "chart.title": "Remaining per prepaid pool", "chart.y": "Remaining (hours, money or incidents)",
    "chart.date": "Date",
    "none.invoices": "No documents issued yet.", "none.billed": "No work billed beyond the prepaid cover yet.",
    "none.pending": "Nothing pending: all billable work is authorized and priced.",
}


#: the log's labels in the other languages of customers.csv `language` (English is LABELS)
TRANSLATIONS = {
    "de": {
        "sheet.summary": "Übersicht", "sheet.log": "Verlauf", "sheet.invoices": "Rechnungen",
        "sheet.billed": "Abgerechnete Arbeit", "sheet.pending": "Offen", "sheet.chart_data": "Diagrammdaten",
        "block": "Kontingent", "kind": "Art", "service": "Leistung", "unit": "Einheit", "purchased": "Gekauft",
        "used": "Verbraucht", "expired": "Ungenutzt verfallen", "remaining": "Verbleibend", "starts_on": "Gültig ab",
        "expires_on": "Letzter gültiger Tag", "status": "Status", "amount_paid": "Bezahlt ({currency})",
        "expired_value": "Ungenutzt verfallener Wert ({currency})",
        "kind.hours": "Stunden", "kind.value": "Guthaben", "kind.unlimited": "Unbegrenzt",
        "kind.incidents": "Vorfälle",
        "unit.hours": "Stunden", "unit.money": "{currency}", "unit.incidents": "Vorfälle",
        "any_service": "jede Leistung", "pool": "{kind}, {service}",
        "status.active": "aktiv", "status.expired": "verfallen", "status.exhausted": "aufgebraucht",
        "status.not_started": "noch nicht gültig",
        "customer": "Kunde", "as_of": "Stand der Zahlen", "currency": "Währung", "time_zone": "Zeitzone",
        "as_of_note": "Eine neue Fassung dieser Datei entsteht, sobald sich eine Zahl darin ändert.",
        "at": "Datum und Uhrzeit ({zone})", "event": "Vorgang", "prepaid_pool": "Vorauszahlung",
        "entry": "Zeiteintrag", "work_date": "Arbeitsdatum", "user": "Mitarbeiter", "description": "Beschreibung",
        "change": "Änderung", "pool_remaining": "Verbleibend im Kontingent",
        "event.purchase": "Kauf", "event.deduction": "Arbeit abgezogen", "event.expiry": "ungenutzt verfallen",
        "number": "Nummer", "document_kind": "Beleg", "issued_on": "Ausgestellt am", "corrects": "Korrigiert",
        "what": "Für", "net": "Netto ({currency})", "tax": "Steuer ({currency})", "total": "Gesamt ({currency})",
        "paid_by": "Bezahlt durch Kauf", "not_paid": "noch nicht bezahlt",
        "doc.overage": "Rechnung", "doc.credit_note": "Gutschrift", "doc.topup": "Aufstockungsrechnung",
        "doc.overage_for": "Arbeit über die Vorauszahlung hinaus",
        "doc.overage_for_period": "Arbeit über die Vorauszahlung hinaus im {period}",
        "doc.credit_note_for": "Korrektur von {number}",
        "hours_billed": "Abgerechnete Stunden", "rate": "Satz ({currency} pro Stunde)",
        "amount": "Betrag ({currency})",
        "pending_status.pending": "wartet auf Freigabe", "pending_status.unpriced": "noch kein Stundensatz",
        "billable_hours": "Abrechenbare Stunden",
        "chart.title": "Verbleibend je Vorauszahlung", "chart.y": "Verbleibend (Stunden, Geld oder Vorfälle)",
        "chart.date": "Datum",
        "none.invoices": "Noch keine Belege ausgestellt.",
        "none.billed": "Noch keine Arbeit über die Vorauszahlung hinaus abgerechnet.",
        "none.pending": "Nichts offen: alle abrechenbare Arbeit ist freigegeben und bepreist.",
    },
    "fr": {
        "sheet.summary": "Synthèse", "sheet.log": "Journal", "sheet.invoices": "Factures",
        "sheet.billed": "Travail facturé", "sheet.pending": "En attente", "sheet.chart_data": "Données du graphique",
        "block": "Forfait", "kind": "Type", "service": "Service", "unit": "Unité", "purchased": "Acheté",
        "used": "Utilisé", "expired": "Expiré non utilisé", "remaining": "Restant", "starts_on": "Début",
        "expires_on": "Dernier jour de couverture", "status": "Statut", "amount_paid": "Montant payé ({currency})",
        "expired_value": "Valeur expirée non utilisée ({currency})",
        "kind.hours": "Heures", "kind.value": "Crédit prépayé", "kind.unlimited": "Illimité",
        "kind.incidents": "Incidents",
        "unit.hours": "heures", "unit.money": "{currency}", "unit.incidents": "incidents",
        "any_service": "tout service", "pool": "{kind}, {service}",
        "status.active": "actif", "status.expired": "expiré", "status.exhausted": "épuisé",
        "status.not_started": "pas encore commencé",
        "customer": "Client", "as_of": "Chiffres au", "currency": "Devise", "time_zone": "Fuseau horaire",
        "as_of_note": "Une nouvelle version de ce fichier est établie dès qu'un chiffre y change.",
        "at": "Date et heure ({zone})", "event": "Événement", "prepaid_pool": "Prépaiement",
        "entry": "Saisie de temps", "work_date": "Date du travail", "user": "Intervenant",
        "description": "Description", "change": "Variation", "pool_remaining": "Restant du prépaiement",
        "event.purchase": "achat", "event.deduction": "travail déduit", "event.expiry": "expiré non utilisé",
        "number": "Numéro", "document_kind": "Document", "issued_on": "Émis le", "corrects": "Corrige",
        "what": "Pour", "net": "HT ({currency})", "tax": "TVA ({currency})", "total": "TTC ({currency})",
        "paid_by": "Payé par l'achat", "not_paid": "pas encore payé",
        "doc.overage": "facture", "doc.credit_note": "avoir", "doc.topup": "facture de réapprovisionnement",
        "doc.overage_for": "travail au-delà du prépaiement",
        "doc.overage_for_period": "travail au-delà du prépaiement en {period}",
        "doc.credit_note_for": "correction de {number}",
        "hours_billed": "Heures facturées", "rate": "Taux ({currency} par heure)", "amount": "Montant ({currency})",
        "pending_status.pending": "en attente d'autorisation", "pending_status.unpriced": "pas encore de taux horaire",
        "billable_hours": "Heures facturables",
        "chart.title": "Restant par prépaiement", "chart.y": "Restant (heures, argent ou incidents)",
        "chart.date": "Date",
        "none.invoices": "Aucun document émis pour l'instant.",
        "none.billed": "Aucun travail facturé au-delà du prépaiement pour l'instant.",
        "none.pending": "Rien en attente : tout le travail facturable est autorisé et chiffré.",
    },
    "nl": {
        "sheet.summary": "Overzicht", "sheet.log": "Logboek", "sheet.invoices": "Facturen",
        "sheet.billed": "Gefactureerd werk", "sheet.pending": "Openstaand", "sheet.chart_data": "Grafiekgegevens",
        "block": "Tegoed", "kind": "Soort", "service": "Dienst", "unit": "Eenheid", "purchased": "Gekocht",
        "used": "Verbruikt", "expired": "Ongebruikt vervallen", "remaining": "Resterend", "starts_on": "Geldig vanaf",
        "expires_on": "Laatste geldige dag", "status": "Status", "amount_paid": "Betaald ({currency})",
        "expired_value": "Ongebruikt vervallen waarde ({currency})",
        "kind.hours": "Uren", "kind.value": "Tegoed in geld", "kind.unlimited": "Onbeperkt",
        "kind.incidents": "Incidenten",
        "unit.hours": "uren", "unit.money": "{currency}", "unit.incidents": "incidenten",
        "any_service": "elke dienst", "pool": "{kind}, {service}",
        "status.active": "actief", "status.expired": "vervallen", "status.exhausted": "opgebruikt",
        "status.not_started": "nog niet geldig",
        "customer": "Klant", "as_of": "Cijfers per", "currency": "Valuta", "time_zone": "Tijdzone",
        "as_of_note": "Zodra een cijfer erin verandert, wordt een nieuwe versie van dit bestand gemaakt.",
        "at": "Datum en tijd ({zone})", "event": "Gebeurtenis", "prepaid_pool": "Vooruitbetaling",
        "entry": "Tijdregistratie", "work_date": "Werkdatum", "user": "Medewerker", "description": "Omschrijving",
        "change": "Mutatie", "pool_remaining": "Resterend in tegoed",
        "event.purchase": "aankoop", "event.deduction": "werk afgeboekt", "event.expiry": "ongebruikt vervallen",
        "number": "Nummer", "document_kind": "Document", "issued_on": "Uitgegeven op", "corrects": "Corrigeert",
        "what": "Voor", "net": "Netto ({currency})", "tax": "Btw ({currency})", "total": "Totaal ({currency})",
        "paid_by": "Betaald met aankoop", "not_paid": "nog niet betaald",
        "doc.overage": "factuur", "doc.credit_note": "creditnota", "doc.topup": "aanvulfactuur",
        "doc.overage_for": "werk boven de vooruitbetaling",
        "doc.overage_for_period": "werk boven de vooruitbetaling in {period}",
        "doc.credit_note_for": "correctie van {number}",
        "hours_billed": "Gefactureerde uren", "rate": "Tarief ({currency} per uur)", "amount": "Bedrag ({currency})",
        "pending_status.pending": "wacht op goedkeuring", "pending_status.unpriced": "nog geen uurtarief",
        "billable_hours": "Factureerbare uren",
        "chart.title": "Resterend per vooruitbetaling", "chart.y": "Resterend (uren, geld of incidenten)",
        "chart.date": "Datum",
        "none.invoices": "Nog geen documenten uitgegeven.",
        "none.billed": "Nog geen werk boven de vooruitbetaling gefactureerd.",
        "none.pending": "Niets openstaand: al het factureerbare werk is goedgekeurd en geprijsd.",
    },
}

#: the language of the log being rendered (customers.csv `language`; set per customer by
#: `_render_log`, so every label below speaks it without being handed it)
_LANGUAGE: ContextVar[str] = ContextVar("prepaid_log_language", default="en")


#: every label in each language (a key a language does not translate: English)
_LABELS_IN = {language: {key: texts.get(key, text) for key, text in LABELS.items()}
              for language, texts in TRANSLATIONS.items()}


def label(key: str, **values: str) -> str:
    """The text of a label in the log's language, with its {placeholders} filled in."""
    text = _LABELS_IN.get(_LANGUAGE.get(), LABELS)[key]
    return text.format(**values) if values else text


@lru_cache(maxsize=None)
def date_format(language: str) -> str:
    """The spreadsheet number format of a date in `language`: CLDR's short date pattern
    (Babel) with a four-digit year, e.g. dd.mm.yyyy in German, dd/mm/yyyy in French."""
    from transforms.documents.i18n import locale

    pattern = locale(language).date_formats["short"].pattern
    pattern = re.sub(r"y+", "yyyy", pattern)
    return re.sub(r"M+", lambda m: "m" * len(m.group()), pattern)


LOG_CSV_COLUMNS = ["at", "event", "block_id", "pool", "entry_id", "work_date", "user", "service",
                   "description", "unit", "change", "pool_remaining"]


def safe_name(customer_id: str) -> str:
    """A file-system-safe folder name for a customer id that can never leave its parent.

    Ids made only of letters, digits, '-', '_' and '.' (and not dots alone) are kept; any other
    id gets its unsafe characters replaced and a short hash appended, so distinct ids never
    share a folder.
    """
    if re.fullmatch(r"[A-Za-z0-9_.-]+", customer_id) and customer_id.strip(".") and len(customer_id) <= 100:
        return customer_id
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", customer_id)[:60].strip("_") or "customer"
    return f"{cleaned}-{hashlib.sha256(customer_id.encode('utf-8')).hexdigest()[:10]}"


def customer_dir(target: Path, customer_id: str, reports_folder: Path | None = None) -> Path:
    """The folder of a customer's prepaid log, always directly inside `target`/reports
    (`reports_folder`: that folder resolved, when the caller has already resolved it)."""
    base = reports_folder or (target / "reports").resolve()
    name = safe_name(customer_id)
    folder = base / name
    if folder.name != name or not name.strip(".") or folder.parent != base:
        raise ValueError(f"customer id {customer_id!r} would leave the reports folder")
    return folder


@dataclass(frozen=True)
class Formats:
    money: str
    hours: str = "#,##0.00"
    count: str = "0"
    date: str = "yyyy-mm-dd"
    instant: str = "yyyy-mm-dd hh:mm"


def money_format(currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ").strip()
    return f'"{symbol}" #,##0.00;-"{symbol}" #,##0.00'


#: a customer's log files, in reports/<customer>/
LOG_FILES = ("prepaid-log.xlsx", "prepaid-log.csv")


def write_reports(con: duckdb.DuckDBPyConnection, target: Path, as_of: date, tz: str,
                  customer_ids: list[str] | None = None, use_cache: bool = True,
                  previous: Path | None = None) -> tuple[int, int, list[str]]:
    """Write every customer's prepaid log (or only `customer_ids`) into `target`; returns how
    many, how many of them were rendered (the others are unchanged), and the unchanged logs
    to carry over from `previous`.

    A log is rendered only when something it shows changed since it was last rendered
    (`_fingerprint_logs`: decided in the warehouse, so only the rows of changed logs are read),
    and then carries `as_of` as the date of its figures; its sheets whose rows did not change
    are kept from its file in `previous` when that file is as it was placed (`_earlier`), and
    only the rows of the others are read. With `use_cache`, every other log is
    the one an earlier night rendered, byte for byte, with that night's date (its figures are
    the same). When `previous`, the output folder this run replaces, holds those bytes in the
    customer's folder (`_keep`), nothing is written: the folder is returned (as
    `reports/<folder>`) for the caller to move into `target` once the run has committed
    (`outputs.swap`), one rename instead of a folder and two files made now and deleted
    with `previous`. Else the log is written from the warehouse table `prepaid_log_cache`.
    New renders are stored there in the caller's transaction. The rows of the logs to render
    wait in the warehouse's temp tables (`_stage_log_rows`); customers go in batches of
    BATCH_CUSTOMERS, so only one batch's rows are in this process's memory; the next batch is
    read while the workers render the current one. The running phase counts the logs written.
    """
    where = "" if customer_ids is None else ASKED
    params = {} if customer_ids is None else {"customer_ids": customer_ids}
    customers = con.execute(f"select * from ({sql('reports/log_customers.sql')}) {where} order by customer_id",
                            params).fetchall()
    if not con.execute(sql("reports/document_tables.sql")).fetchall()[0][0]:
        # a warehouse that never issued documents (it only ever ingested): its logs list none
        con.execute(sql("documents_schema.sql").replace("create table", "create temp table"))
    _fingerprint_logs(con, as_of, tz, [cid for cid, *_ in customers], every=customer_ids is None)
    folder = (target / "reports").resolve()
    before = (previous / "reports").resolve() if previous is not None and use_cache else None
    if before is not None and not before.is_dir():
        before = None
    # per customer: its fingerprint; when the cached log is still its log, the SHA-256 of its
    # files and how they were placed; else, when the cached log's files are still in `before`
    # as they were placed, their folder and the log models whose sheets they have as they are now
    plan = {cid: (fingerprint, (xlsx_sha256, csv_sha256, placed) if unchanged else None,
                  None if unchanged else _earlier(before, cid, parts, cached, placed, xlsx_sha256, csv_sha256))
            for cid, fingerprint, parts, unchanged, xlsx_sha256, csv_sha256, placed, cached in con.execute(
                sql("reports/log_plan.sql"), {"as_of": as_of, "use_cache": use_cache}).fetchall()}
    to_render = [cid for cid, *_ in customers if plan[cid][1] is None]
    if to_render:
        kept = {cid: plan[cid][2][1] if plan[cid][2] else () for cid in to_render}
        rows_of = {name: [cid for cid in to_render if name not in kept[cid]] for name, _ in LOG_MODELS}
        _stage_log_rows(con, as_of, rows_of, len(customers) if customer_ids is None else None)
    progress.update(total=len(customers))
    # worker processes only render files; they never touch the warehouse connection. DuckDB
    # gives them memory while they run; the queries over the whole history (the fingerprints,
    # the staged rows) ran above with the run's limit: the fingerprints ran out of the lower one
    # on a 10M first night
    carried: list[str] = []
    with beside_workers(con), workers.Pool(len(to_render), PARALLEL_FROM) as pool:
        rendering = iter(())
        for start in range(0, len(customers), BATCH_CUSTOMERS):
            batch = customers[start:start + BATCH_CUSTOMERS]
            jobs = _jobs(con, folder, as_of, tz, [c for c in batch if plan[c[0]][1] is None], plan)
            carried += _keep(con, folder, before,
                             [(cid, plan[cid][1]) for cid, *_ in batch if plan[cid][1] is not None])
            # the batch goes to the workers before the last one's results are awaited, so that
            # they go on from one batch to the next without waiting for this process
            rendered, rendering = rendering, pool.map(_render_log, jobs)
            _finish(con, rendered, use_cache)
        _finish(con, rendering, use_cache)
    for name, _ in LOG_MODELS:
        con.execute(f"drop table if exists log_rows_{name}")
    return len(customers), len(to_render), [f"reports/{name}" for name in carried]


BATCH_CUSTOMERS = 1000

#: the filter of a log query to the customers asked for, `$customer_ids`
ASKED = "where customer_id in (select unnest($customer_ids::varchar[]))"

#: the models of the rows a prepaid log shows (transforms/sql/reports/), run in this order, each
#: with the order of its rows within a customer: `_stage_log_rows` keeps them for the logs to
#: render, and `_fingerprint_logs` hashes exactly the same rows for every log. Everything a
#: log shows that depends on the night's as-of date is in these rows (statuses, used, expired
#: and remaining as of the night, expiries, pending work, documents issued by then), so an
#: unchanged fingerprint means a log whose every figure is unchanged.
LOG_MODELS = (
    ("log_blocks", "block_id"),
    ("log_events", "at_epoch, case event when 'purchase' then 0 when 'deduction' then 1 else 2 end, "
                   "entry_id nulls first, block_id"),
    ("log_pending", "entry_id"),
    ("log_documents", "issued_on, number"),
    ("log_billed", "issued_on, number, line_no"),
)
#: (query, order within a customer) of each of LOG_MODELS
LOG_QUERIES = tuple((sql(f"reports/{name}.sql"), order) for name, order in LOG_MODELS)


def _fingerprint_logs(con: duckdb.DuckDBPyConnection, as_of: date, tz: str, customer_ids: list[str],
                      every: bool = True) -> None:
    """Temp table `log_fingerprints` (sql/reports/log_fingerprints.sql): per customer of
    `customer_ids` (ids of stg_customers; `every`: all of them), the SHA-256 of everything its
    log shows except the date of its figures, and of RENDERER_VERSION, and the SHA-256 of each
    log model's part of it. One query a log model for all customers, then one to join them:
    each keeps a few numbers a customer, not the rows of their logs."""
    where = "" if every else ASKED
    digests = [f"log_model_rows_{i}" for i in range(len(LOG_QUERIES))]
    for i, ((model, _), table) in enumerate(zip(LOG_QUERIES, digests)):
        digest = sql("reports/log_model_rows.sql").format(table=table, model=model, name=f"t{i}", customers=where)
        con.execute(digest, _used(digest, as_of=as_of, customer_ids=customer_ids))
    joins = " ".join(f"left join {table} using (customer_id)" for table in digests)
    parts = ", ".join(f"sha256(concat_ws(chr(29), context, coalesce(t{i}, '')))" for i in range(len(LOG_QUERIES)))
    query = sql("reports/log_fingerprints.sql").format(parts=parts, customers=where, joins=joins)
    create_table(con, "log_fingerprints", {"customer_id": "varchar", "fingerprint": "varchar", "parts": "varchar[]"})
    con.execute(query, _used(query, renderer=RENDERER_VERSION, tz=tz, as_of=as_of, customer_ids=customer_ids))
    for table in digests:
        con.execute(f"drop table {table}")


def _stage_log_rows(con: duckdb.DuckDBPyConnection, as_of: date, customer_ids: dict[str, list[str]],
                    every: int | None = None) -> None:
    """Temp tables `log_rows_<model>` (sql/reports/log_rows.sql): the rows of each log model for
    the customers in `customer_ids[model]` (`every`: when that many, all of them), in the log's
    order. Each model runs once, not once per batch of logs: a model reads the whole history
    whichever customers it gives. Its rows are made first and sorted in a query of their own: a
    model that joins history-sized tables keeps the join's table pinned while a sort in the same
    query needs memory, and on a 10M first night the two ran out of DuckDB's 1 GB."""
    for (name, _), (query, order) in zip(LOG_MODELS, LOG_QUERIES):
        ids = customer_ids[name]
        made = f"log_made_{name}"
        model = f"create or replace temp table {made} as select * from ({query}) " \
                + ("" if len(ids) == every else ASKED)
        con.execute(model, _used(model, as_of=as_of, customer_ids=ids))
        con.execute(sql("reports/log_rows.sql").format(table=f"log_rows_{name}", rows=made, order=order))
        con.execute(f"drop table {made}")


def _earlier(before: Path | None, customer_id: str, parts: list[str], cached: list[str] | None,
             placed: str | None, *digests: str) -> tuple[str, frozenset[str], tuple[str, str]] | None:
    """For a log to render, whose cached log has the parts `cached`, its files placed as
    `placed` with the SHA-256 `digests`: the folder of those files in `before` (the reports of
    the output folder the run replaces), the log models whose part of the fingerprint is the
    same (of the sheets after the Summary, which is always rendered), and the digests; when
    the files are still as they were placed and some sheet can be kept from them."""
    if before is None or placed is None or cached is None or len(cached) != len(parts):
        return None
    same = frozenset(name for (name, _), now, then in zip(LOG_MODELS, parts, cached)
                     if now == then and name != "log_blocks")
    source = customer_dir(before, customer_id, before)
    return (str(source), same, digests) if same and _placed(source) == placed else None


def _used(query: str, **values) -> dict:
    """The named parameters a query uses, of `values` (DuckDB refuses one it does not use)."""
    return {name: value for name, value in values.items() if f"${name}" in query}


def _jobs(con: duckdb.DuckDBPyConnection, folder: Path, as_of: date, tz: str, customers: list[tuple],
          plan: dict[str, tuple]) -> list[tuple]:
    """One job per customer of a batch whose log is to be rendered: its folder and its rows
    (read from the tables of `_stage_log_rows`)."""
    if not customers:
        return []
    batch = sql("reports/log_model_batch.sql")
    first, last = customers[0][0], customers[-1][0]
    rows = [_grouped(con, batch.format(table=f"log_rows_{name}", order=order), {"first": first, "last": last})
            for name, order in LOG_MODELS]
    return [(customer_dir(folder, cid, folder), as_of, plan[cid][0],
             (cid, name, currency, language, tz, *(group.get(cid, ([], [])) for group in rows)), plan[cid][2])
            for cid, name, currency, language in customers]


def _keep(con: duckdb.DuckDBPyConnection, folder: Path, before: Path | None,
          kept: list[tuple[str, tuple[str, str, str | None]]]) -> list[str]:
    """The unchanged logs of a batch (customer; SHA-256 of its files and how they were placed):
    returns the names of the folders in `before` (the reports of the output folder this run
    replaces) that hold the bytes rendered, to carry over; writes the others into `folder`
    from the cache. A folder whose files are as they were placed holds them: its files are not
    read. How the files of the others are placed now is recorded in the cache."""
    if not kept:
        return []
    carried, missing, placed_now = [], [], []
    for cid, (xlsx_sha256, csv_sha256, placed) in kept:
        source = None if before is None else customer_dir(before, cid, before)
        now = None if source is None else _placed(source)
        if now is not None and (now == placed or _holds(source, (xlsx_sha256, csv_sha256))):
            carried.append(source.name)
            if now != placed:
                placed_now.append((cid, now))
        else:
            missing.append(cid)
    if missing:
        folder.mkdir(parents=True, exist_ok=True)
        for cid, book, log_csv in con.execute(sql("reports/cached_logs.sql"), {"customer_ids": missing}).fetchall():
            into = customer_dir(folder, cid, folder)
            into.mkdir(parents=True, exist_ok=True)
            _write_file(into / LOG_FILES[0], bytes(book))
            _write_file(into / LOG_FILES[1], bytes(log_csv))
            placed_now.append((cid, _placed(into)))
    if placed_now:
        store_frame(con, "_placed", pd.DataFrame(placed_now, columns=["customer_id", "placed"]),
                    {"customer_id": "varchar", "placed": "varchar"})
        con.execute(sql("reports/record_placed.sql"))
        con.execute("drop table _placed")
    progress.advance(len(kept))
    return carried


def _placed(folder: Path) -> str | None:
    """How a customer's log files are placed in `folder`: `<inode>:<size>:<mtime ns>` of each,
    `|`-joined; None when one is missing. Moving a folder keeps it; writing a file changes it."""
    try:
        stats = [os.stat(os.path.join(folder, name)) for name in LOG_FILES]
    except OSError:
        return None
    return "|".join(f"{s.st_ino}:{s.st_size}:{s.st_mtime_ns}" for s in stats)


def _holds(source: Path, digests: tuple[str, str]) -> bool:
    """Whether a customer's folder holds both log files with the bytes of `digests` (SHA-256):
    False when a file is missing, unreadable or was edited since it was published."""
    source = str(source)
    try:
        for name, digest in zip(LOG_FILES, digests):
            with open(os.path.join(source, name), "rb") as fh:
                if hashlib.sha256(fh.read()).hexdigest() != digest:
                    return False
    except OSError:
        return False
    return True


def _finish(con: duckdb.DuckDBPyConnection, rendering, use_cache: bool) -> None:
    """Wait for a batch's logs to be rendered and written, counting each; keep them for later runs."""
    rendered = []
    for result in rendering:
        rendered.append(result)
        progress.advance()
    if use_cache:
        _store_cache(con, rendered)


#: what a prepaid log's bytes depend on besides its rows: this module, the CSV cell rule, the
#: XLSX writer and the log's SQL models. A change to any of them renders every log afresh.
RENDERER_VERSION = hashlib.sha256(b"".join(
    [(Path(__file__).parents[1] / name).read_bytes()
     for name in ("reports/reports.py", "documents/documents.py", "reports/xlsx.py")]
    + [path.read_bytes() for path in sorted((SQL_DIR / "reports").glob("*.sql"))])).hexdigest()


RENDERED_TYPES = {"customer_id": "varchar", "fingerprint": "varchar", "as_of": "date", "xlsx": "blob",
                  "csv": "blob", "xlsx_sha256": "varchar", "csv_sha256": "varchar", "placed": "varchar"}


def _store_cache(con: duckdb.DuckDBPyConnection, rendered: list[tuple]) -> None:
    """Keep freshly rendered logs for later runs, in the run's transaction."""
    if not rendered:
        return
    frame = pd.DataFrame(rendered, columns=list(RENDERED_TYPES))
    store_frame(con, "_rendered", frame, RENDERED_TYPES)   # the frame (every rendered log's bytes) can go
    del frame
    con.execute(sql("reports/keep_rendered.sql"))
    con.execute("drop table _rendered")


def _render_log(job: tuple) -> tuple:
    """Render one customer's prepaid log as of the night (XLSX and CSV) and write it; returned
    for the cache as (customer_id, fingerprint, as_of, xlsx, csv, SHA-256 of each, placed).
    A job may name the folder of the customer's earlier log and the log models whose sheets it
    has as they are now: those sheets are kept, and their models' rows are not in the job."""
    folder, as_of, fingerprint, content, cached = job
    customer_id, name, currency, language, tz, *grouped = content
    blocks, events, pending, documents, billed = (_rows(group) for group in grouped)
    earlier, log_csv, kept = None, None, frozenset()
    if cached is not None:
        source, kept, (xlsx_sha256, csv_sha256) = cached
        earlier = xlsx.Earlier(_cached_file(Path(source, LOG_FILES[0]), xlsx_sha256))
        if "log_events" in kept:            # the CSV log shows the events only
            log_csv = _cached_file(Path(source, LOG_FILES[1]), csv_sha256)
    speaking = _LANGUAGE.set(language)
    try:
        log = _log_rows(events, tz)
        book = _render_xlsx(customer_id, name, currency, as_of, blocks, log, pending, tz, documents, billed,
                            language, earlier, kept)
        if "log_events" not in kept:
            log_csv = _log_csv(log)
    finally:
        _LANGUAGE.reset(speaking)
    folder.mkdir(parents=True, exist_ok=True)
    _write_file(folder / LOG_FILES[0], book)
    _write_file(folder / LOG_FILES[1], log_csv)
    return (customer_id, fingerprint, as_of, book, log_csv, hashlib.sha256(book).hexdigest(),
            hashlib.sha256(log_csv).hexdigest(), _placed(folder))


def _cached_file(path: Path, digest: str) -> bytes:
    """The bytes of a file of the cached log, which the run found where and as it was placed:
    a file changed since (edited during the run) fails the run rather than go into a log."""
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise RuntimeError(f"{path} changed while the run read it (files in OUT are read-only); run again")
    return data


def _write_file(path: Path, data: bytes) -> None:
    """A log file, written straight under its name: logs are written into a folder that is
    published whole (a run's staged OUT; `report_customer`'s temporary folder), so a file
    needs no temporary name of its own (a rename costs as much as writing the file)."""
    with open(path, "wb") as fh:
        fh.write(data)


def _grouped(con: duckdb.DuckDBPyConnection, query: str, params) -> dict[str, tuple[list[str], list[tuple]]]:
    """Per customer, the column names and its rows as tuples: the worker that renders the log
    makes them dicts (`_rows`), so the main process neither builds nor pickles a dict per row."""
    cur = con.execute(query, params)
    names = [d[0] for d in cur.description]
    at = names.index("customer_id")
    return {k: (names, list(g)) for k, g in groupby(cur.fetchall(), key=itemgetter(at))}


def _rows(grouped: tuple[list[str], list[tuple]]) -> list[dict]:
    names, rows = grouped
    return [dict(zip(names, row)) for row in rows]


def pool_label(kind: str, service: str | None) -> str:
    """A pool as the customer reads it: "Hours, any service", "Prepaid value, support"."""
    return label("pool", kind=label(f"kind.{kind}"), service=service or label("any_service"))


def _log_rows(events: list[dict], tz: str = "UTC") -> list[dict]:
    """Ledger events with the pool's running remaining after each (unlimited: covered so far),
    their instant `at` in UTC and `local` in the business time zone `tz` (both naive)."""
    zone = None if tz == "UTC" else ZoneInfo(tz)
    running: dict[tuple, int] = {}
    labels: dict[tuple, str] = {}       # pool labels, by (kind, service): the same on many rows
    rows = []
    for ev in events:
        kind, service = ev["kind"], ev["pool_service"]
        pool = (kind, service) if kind != "unlimited" else ("unlimited", ev["block_id"])
        change = ev["change_units"]
        if kind == "unlimited" and change is not None:
            change = -change   # covered minutes, shown positive
        running[pool] = remaining = running.get(pool, 0) + (change or 0)
        pool_text = labels.get((kind, service))
        if pool_text is None:
            pool_text = labels[kind, service] = pool_label(kind, service)
        at = datetime.fromtimestamp(ev["at_epoch"], timezone.utc).replace(tzinfo=None)
        rows.append({**ev, "pool": pool_text, "at": at,
                     "local": at if zone is None else datetime.fromtimestamp(ev["at_epoch"], zone).replace(tzinfo=None),
                     "change": change, "pool_remaining": remaining})
    return rows


def _fit(value: str) -> str:
    """Input text as a cell holds it: text longer than CELL_LIMIT UTF-16 code units is cut,
    visibly (the CSV log keeps all of it)."""
    if not xlsx.fits_in_cell(value):
        keep = CELL_LIMIT - len(CUT_MARK)
        value = value.encode("utf-16-le")[:2 * keep].decode("utf-16-le", "ignore") + CUT_MARK
    return value


def _sheet(book: xlsx.Workbook, title_key: str, keys: tuple[str, ...], widths: list[int],
           **values: str) -> xlsx.Sheet:
    """A sheet with the labels of `keys` as its header; each column at least as wide as its
    header (bold header text needs about a character more than its length)."""
    return book.sheet(*_header(_LANGUAGE.get(), title_key, keys, tuple(widths), tuple(values.items())))


@lru_cache(maxsize=None)
def _header(language: str, title_key: str, keys: tuple[str, ...], widths: tuple[int, ...],
            values: tuple[tuple[str, str], ...]) -> tuple[str, tuple[str, ...], tuple[int, ...]]:
    """`_sheet`'s title, headers and widths, once per language (the log's, of `label`) and values
    (tuples: every sheet of that language shares them)."""
    headers = tuple(label(k, **dict(values)) for k in keys)
    return label(title_key), headers, tuple(max(w, len(h) + 2) for h, w in zip(headers, widths))


#: the labels a column of the log may show, by what they name
STATUS_KEYS = ("status.active", "status.expired", "status.exhausted", "status.not_started")
EVENT_KEYS = ("event.purchase", "event.deduction", "event.expiry")
DOCUMENT_KEYS = ("doc.overage", "doc.credit_note", "doc.topup")


def _widest(*keys: str, bold: bool = False, **values: str) -> int:
    """The width of a column that shows any of the labels `keys` in the log's language: the
    longest and a character to spare, so that it never runs into the next cell's text (bold
    text needs about a character more)."""
    return _widest_in(_LANGUAGE.get(), keys, bold, tuple(values.items()))


@lru_cache(maxsize=None)
def _widest_in(language: str, keys: tuple[str, ...], bold: bool, values: tuple[tuple[str, str], ...]) -> int:
    """`_widest`, once per language (the log's, of `label`) and values."""
    return max(len(label(k, **dict(values))) for k in keys) + (2 if bold else 1)


def _none(ws: xlsx.Sheet, rows, key: str) -> None:
    """A sentence on a sheet that has no rows, so that an empty sheet does not look broken."""
    if not rows:
        ws.row()
        ws.string(0, label(key))


#: text of up to this many characters always fits in a cell (`xlsx.fits_in_cell`)
_ALWAYS_FITS = CELL_LIMIT // 2


def text_cell(ws: xlsx.Sheet, col: int, value: str | None) -> None:
    """Input text as a string cell that spreadsheet programs never evaluate: one that starts
    like a formula gets the quote prefix (shown as typed, never computed); blank: no cell."""
    cell = _text(value)
    if isinstance(cell, tuple):
        ws.string(col, *cell)
    elif cell is not None:
        ws.string(col, cell)


def _text(value: str | None) -> str | tuple[str, int] | None:
    """Input text as a cell of `Sheet.add_row`, as `text_cell` writes it: None (no cell) when
    blank, a quote-prefixed (value, QUOTED) when it starts like a formula."""
    if not value:
        return None
    if len(value) > _ALWAYS_FITS:
        value = _fit(value)
    return (value, xlsx.QUOTED) if value.startswith(FORMULA_STARTS) else value


@lru_cache(maxsize=None)
def _names(prefix: str, language: str) -> dict[str, str]:
    """The labels of the values of one column (`prefix`: "event.", "status.", …) in `language`,
    by value: looked up once per log and language, not once per cell."""
    texts = _LABELS_IN.get(language, LABELS)
    return {key[len(prefix):]: texts[key] for key in LABELS if key.startswith(prefix)}


@lru_cache(maxsize=None)
def _formats(currency: str, language: str) -> "Formats":
    """The number formats of a log's cells in `currency` and `language`, each padded."""
    # English keeps ISO dates; the other languages read dates as their customers write them
    day_format = Formats.date if language == "en" else date_format(language)
    fmt = Formats(money=money_format(currency), date=day_format, instant=f"{day_format} hh:mm")
    # a digit's width free right of every number, date and instant: right-aligned, they would
    # otherwise touch the left-aligned text of the next cell ("31.12.2026aktiv")
    return Formats(**{name: xlsx.padded(value) for name, value in vars(fmt).items()})


#: cells' numbers from integer minutes, cents and block units, by value: the same values recur
#: on many rows and many logs, and each is a Decimal division
_in_unit = lru_cache(maxsize=16384, typed=True)(in_unit)
_money = lru_cache(maxsize=16384, typed=True)(cents_to_number)
_hours = lru_cache(maxsize=16384, typed=True)(minutes_to_hours)


def _render_xlsx(customer_id: str, name: str, currency: str, as_of: date,
                 blocks: list[dict], log: list[dict], pending: list[dict], tz: str = "UTC",
                 documents: list[dict] = (), billed: list[dict] = (), language: str = "en",
                 earlier: xlsx.Earlier | None = None, kept: frozenset[str] = frozenset()) -> bytes:
    """The XLSX log. `earlier`: the customer's log as last rendered, in the same language,
    currency and time zone; its sheets that show the rows of the log models in `kept`, rows
    unchanged since, are kept as they are instead of written again: each sheet after the
    Summary shows the rows of one model, and of the customer only what `earlier` had the same."""
    fmt = _formats(currency, language)
    book = xlsx.Workbook(as_of, [fmt.hours, fmt.date, fmt.money, fmt.instant, fmt.count])
    look = _Look(book, fmt, currency, tz)
    summary, info = _summary_sheet(book, look, customer_id, name, as_of, blocks)
    for key, model, write, rows in (("sheet.log", "log_events", _log_sheet, log),
                                    ("sheet.invoices", "log_documents", _invoices_sheet, documents),
                                    ("sheet.billed", "log_billed", _billed_sheet, billed),
                                    ("sheet.pending", "log_pending", _pending_sheet, pending)):
        if model in kept:
            book.keep_sheet(label(key), earlier)
        else:
            write(book, look, rows)
    at_row = info + 5           # from 0: three rows below "Time zone"
    if "log_events" in kept:
        book.keep_sheet(label("sheet.chart_data"), earlier)
        book.keep_chart(summary, at_row, 1, CHART_SIZE, earlier)
    else:
        _chart(book, summary, at_row, log, look.unit_style, look.day)
    return book.bytes()


CHART_SIZE = (832, 340)         # pixels: 22 × 9 cm


class _Look:
    """The styles and names the cells of a log use, in its language and currency, and its
    business time zone."""

    def __init__(self, book: xlsx.Workbook, fmt: "Formats", currency: str, tz: str):
        self.currency, self.tz = currency, tz
        self.hours, self.day, self.money, self.instant = (book.style(f) for f in (fmt.hours, fmt.date, fmt.money,
                                                                                 fmt.instant))
        self.unit_style = {"hours": self.hours, "unlimited": self.hours, "value": self.money,
                           "incidents": book.style(fmt.count)}
        self.cur = {"currency": currency}
        self.unit_of = {kind: label(f"unit.{unit}", **self.cur) for kind, unit in UNIT_OF_KIND.items()}
        self.unit_keys = sorted({f"unit.{u}" for u in UNIT_OF_KIND.values()})
        speaking = _LANGUAGE.get()        # the labels' language (the log's `language` gives the formats)
        self.kinds, self.statuses = _names("kind.", speaking), _names("status.", speaking)
        self.events, self.doc_kinds = _names("event.", speaking), _names("doc.", speaking)
        self.pending_statuses = _names("pending_status.", speaking)


def _summary_sheet(book: xlsx.Workbook, look: _Look, customer_id: str, name: str, as_of: date,
                   blocks: list[dict]) -> tuple[xlsx.Sheet, int]:
    """The Summary: a row per block, then the customer's details from the returned row (Excel's)."""
    kind_keys, cur, day = [f"kind.{k}" for k in UNIT_OF_KIND], look.cur, look.day
    ws = _sheet(book, "sheet.summary", (
        "block", "kind", "service", "unit", "purchased", "used", "expired", "remaining", "starts_on", "expires_on",
        "status", "amount_paid", "expired_value"),
        [max(16, _widest("customer", "as_of", "currency", "time_zone", bold=True)), max(14, _widest(*kind_keys)), 16,
         max(10, _widest(*look.unit_keys, **cur)), 12, 12, 15, 12, 12, 17, max(15, _widest(*STATUS_KEYS)), 19, 27],
        **cur)
    for b in blocks:
        units = look.unit_style[b["kind"]]
        ws.row()
        text_cell(ws, 0, b["block_id"])
        ws.string(1, look.kinds[b["kind"]])
        text_cell(ws, 2, b["service"] or label("any_service"))
        ws.string(3, look.unit_of[b["kind"]])
        for col, key in ((4, "purchased_units"), (5, "used_units"), (6, "expired_units"), (7, "remaining_units")):
            ws.number(col, _in_unit(b["kind"], b[key]), units)
        ws.number(8, b["starts_on"], day)
        ws.number(9, b["expires_on"], day)
        ws.string(10, look.statuses[b["status"]])
        ws.number(11, _money(b["amount_paid_cents"]), look.money)
        ws.number(12, _money(b["breakage_cents"]), look.money)
    info = len(blocks) + 3          # Excel's row of "Customer", after a blank row
    ws.row(at=info)
    ws.string(0, label("customer"), xlsx.BOLD)
    text_cell(ws, 1, f"{name} ({customer_id})")
    ws.row()
    # the night this log was rendered: a later night whose figures are the same keeps this log
    ws.string(0, label("as_of"), xlsx.BOLD)
    ws.number(1, as_of, day)
    ws.string(3, label("as_of_note"))     # a column apart from the date, which is right-aligned
    ws.row()
    ws.string(0, label("currency"), xlsx.BOLD)
    ws.string(1, look.currency)
    ws.row()
    ws.string(0, label("time_zone"), xlsx.BOLD)
    ws.string(1, look.tz)
    return ws, info


def _log_sheet(book: xlsx.Workbook, look: _Look, log: list[dict]) -> None:
    ws = _sheet(book, "sheet.log", (
        "at", "event", "block", "prepaid_pool", "entry", "work_date", "user", "service", "description", "unit",
        "change", "pool_remaining"),
        [24, max(15, _widest(*EVENT_KEYS)), 14, 24, 13, 12, 12, 14, 40, max(10, _widest(*look.unit_keys, **look.cur)),
         12, 18],
        zone=look.tz)
    events, unit_of, unit_style, instant, day = look.events, look.unit_of, look.unit_style, look.instant, look.day
    for row in log:
        kind = row["kind"]
        units = unit_style[kind]
        ws.add_row([(row["local"], instant), events[row["event"]], _text(row["block_id"]), _text(row["pool"]),
                    _text(row["entry_id"]), (row["work_date"], day), _text(row["user"]), _text(row["service"]),
                    _text(row["description"]), unit_of[kind], (_in_unit(kind, row["change"]), units),
                    (_in_unit(kind, row["pool_remaining"]), units)])


def _invoices_sheet(book: xlsx.Workbook, look: _Look, documents: list[dict]) -> None:
    ws = _sheet(book, "sheet.invoices", (
        "number", "document_kind", "issued_on", "what", "corrects", "net", "tax", "total", "paid_by"),
        [17, max(15, _widest(*DOCUMENT_KEYS)), 12, 44, 17, 14, 14, 14, max(18, _widest("not_paid"))], **look.cur)
    for d in documents:
        ws.row()
        ws.string(0, d["number"])
        ws.string(1, look.doc_kinds[d["kind"]])
        ws.number(2, d["issued_on"], look.day)
        if d["kind"] == "topup":
            text_cell(ws, 3, d["topup_text"])
        elif d["kind"] == "credit_note":
            ws.string(3, label("doc.credit_note_for", number=d["corrects"] or ""))
        else:
            ws.string(3, label("doc.overage_for_period", period=d["period"]) if d["period"] else
                      label("doc.overage_for"))
        if d["corrects"]:
            ws.string(4, d["corrects"])
        for col, key in ((5, "net_cents"), (6, "tax_cents"), (7, "total_cents")):
            ws.number(col, _money(d[key]), look.money)
        if d["kind"] == "topup":
            if d["paid_by"]:
                text_cell(ws, 8, d["paid_by"])
            else:
                ws.string(8, label("not_paid"))
    _none(ws, documents, "none.invoices")


def _billed_sheet(book: xlsx.Workbook, look: _Look, billed: list[dict]) -> None:
    ws = _sheet(book, "sheet.billed", (
        "number", "document_kind", "issued_on", "entry", "work_date", "user", "service", "description",
        "hours_billed", "rate", "amount"),
        [17, max(12, _widest("doc.overage", "doc.credit_note")), 12, 13, 12, 12, 14, 40, 13, 20, 15], **look.cur)
    doc_kinds, day, hours, money = look.doc_kinds, look.day, look.hours, look.money
    for line in billed:
        ws.add_row([line["number"], doc_kinds[line["kind"]], (line["issued_on"], day), _text(line["entry_id"]),
                    (line["work_date"], day), _text(line["user"]), _text(line["service"]),
                    _text(line["description"]),
                    (None if line["minutes"] is None else _hours(line["minutes"]), hours),
                    (None if line["rate_cents"] is None else _money(line["rate_cents"]), money),
                    (_money(line["amount_cents"]), money)])
    _none(ws, billed, "none.billed")


def _pending_sheet(book: xlsx.Workbook, look: _Look, pending: list[dict]) -> None:
    ws = _sheet(book, "sheet.pending", (
        "entry", "status", "work_date", "user", "service", "description", "billable_hours"),
        [13, max(26, _widest("pending_status.pending", "pending_status.unpriced")), 12, 12, 14, 40, 14])
    statuses, day, hours = look.pending_statuses, look.day, look.hours
    for p in pending:
        ws.add_row([_text(p["entry_id"]), statuses["unpriced" if p["unpriced"] else p["status"]],
                    (p["work_date"], day), _text(p["user"]), _text(p["service"]), _text(p["description"]),
                    (_hours(p["billable_minutes"]), hours)])
    _none(ws, pending, "none.pending")


def _chart(book: xlsx.Workbook, summary: xlsx.Sheet, at_row: int, log: list[dict], unit_style: dict,
           day: int) -> None:
    """Chart data (remaining per pool at the end of each day) and, on the Summary below the
    customer's details, a line chart of it (row `at_row` counted from 0)."""
    pools = sorted({(row["pool"], row["kind"]) for row in log if row["kind"] != "unlimited"})
    ws = book.sheet(label("sheet.chart_data"), [label("chart.date")] + [_fit(p) for p, _ in pools],
                    [12] + [22] * len(pools))
    if not pools:
        return
    column = {p: i for i, (p, _) in enumerate(pools, start=1)}
    kind_of = dict(pools)
    by_day: dict[date, list] = {}
    cells: list = [None] * (len(pools) + 1)     # each pool's remaining so far (not bought yet: no cell)
    for row in log:
        if row["kind"] == "unlimited":
            continue
        kind = kind_of[row["pool"]]
        cells[column[row["pool"]]] = (_in_unit(kind, row["pool_remaining"]), unit_style[kind])
        by_day[row["local"].date()] = cells.copy()
    for day_, values in sorted(by_day.items()):
        values[0] = (day_, day)
        ws.add_row(values)
    book.line_chart(summary, at_row, 1, ws, list(column.values()), len(by_day), title=label("chart.title"),
                    y_title=label("chart.y"), x_format="yyyy-mm-dd", size=CHART_SIZE)


#: the CSV log's unit of each block kind (hours are counted in minutes there)
CSV_UNIT = {kind: "minutes" if unit == "hours" else unit for kind, unit in UNIT_OF_KIND.items()}
_unit_text = lru_cache(maxsize=16384, typed=True)(unit_text)


def _utc_text(at: datetime) -> str:
    """A naive UTC instant as the CSV log writes it, 2025-01-31T09:30:00Z (isoformat: the same
    text as strftime for years from 1000 on, at a fraction of its cost)."""
    if at.year >= 1000:
        return at.isoformat(timespec="seconds") + "Z"
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _log_csv(log: list[dict]) -> bytes:
    with io.StringIO(newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(LOG_CSV_COLUMNS)
        safe = spreadsheet_safe
        writer.writerows([
            _utc_text(row["at"]), row["event"], safe(row["block_id"]), safe(row["pool"]), safe(row["entry_id"]),
            row["work_date"].isoformat() if row["work_date"] else "", safe(row["user"]), safe(row["service"]),
            safe(row["description"]), CSV_UNIT[row["kind"]], _unit_text(row["kind"], row["change"]),
            _unit_text(row["kind"], row["pool_remaining"]),
        ] for row in log)
        return fh.getvalue().encode("utf-8")


def report_customer(warehouse: Path, customer_id: str, out: Path, as_of: date | None = None,
                    tz: str | None = None) -> Path:
    """Regenerate one customer's prepaid log on demand, as of a date (default: the last run's).

    Opens the warehouse read-only and recomputes from the stored raw input; nothing is written
    to the warehouse. Returns the folder written.
    """
    from transforms.reconcile.reconcile import reconcile
    from transforms.validate.validate import validate
    from transforms.warehouse import RAW_KINDS, connect, current_raw

    con = connect(warehouse, read_only=True)
    try:
        last = con.execute(sql("reports/last_run.sql")).fetchall()
        if as_of is None and not last:
            raise ValueError("no nightly run yet: give --as-of")
        as_of = as_of or last[0][0]
        tz = tz or (last[0][1] if last else "UTC")
        inputs = validate({kind: current_raw(con, kind) for kind in RAW_KINDS}, tz)
        if customer_id not in set(inputs.customers["customer_id"]):
            raise ValueError(f"no customer {customer_id!r} in the warehouse")
        reconcile(con, inputs, as_of, tz)
        folder = customer_dir(out, customer_id)
        folder.mkdir(parents=True, exist_ok=True)
        # written beside, then renamed into place: a file in `out` is whole, old or new
        with tempfile.TemporaryDirectory(dir=out, prefix=".report-") as staged:
            write_reports(con, Path(staged), as_of, tz, customer_ids=[customer_id], use_cache=False)
            for name in LOG_FILES:
                os.replace(customer_dir(Path(staged), customer_id) / name, folder / name)
        return folder
    finally:
        con.close()
