"""Language of the documents a customer receives (and of its prepaid log): labels, money,
dates and numbers in en, de, fr or nl.

Formats come from Babel (CLDR data), not from hand-written patterns: currency symbols and
their placement ('€ 1.234,50' in Dutch, '1.234,50 €' in German, '¥1,235' for yen) are
CLDR's. Amounts are integer cents everywhere in the project; they become `Decimal` here
(`units.cents_to_decimal`), never floats.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.numbers import format_currency, format_decimal, get_currency_precision

from transforms.units import cents_to_decimal, period_start

LANGUAGES = ("en", "de", "fr", "nl")
DEFAULT_LANGUAGE = "en"
#: the locale of each language: the formats of the countries this product sells to most
LOCALES = {"en": "en_IE", "de": "de_DE", "fr": "fr_FR", "nl": "nl_NL"}


@lru_cache(maxsize=None)
def locale(language: str) -> Locale:
    return Locale.parse(LOCALES.get(language, LOCALES[DEFAULT_LANGUAGE]))


def money(cents: int, currency: str, language: str = DEFAULT_LANGUAGE) -> str:
    """An amount with its currency symbol as the language writes it ('€1,234.50', '1.234,50 €').

    Currencies without minor units (JPY) print without decimals unless the amount has cents:
    inputs allow two decimals for every currency, and a rounded print would misstate them.
    """
    decimals = 0 if cents % 100 == 0 and _precision(currency) == 0 else 2
    shape = _money_shape(currency, language, decimals)
    if shape is None:
        return babel_money(cents, currency, language)
    prefix, suffix, neg_prefix, neg_suffix, group, point = shape
    whole, frac = divmod(abs(cents), 100)
    digits = f"{whole:,}".replace(",", group) + (f"{point}{frac:02d}" if decimals else "")
    return f"{neg_prefix}{digits}{neg_suffix}" if cents < 0 else f"{prefix}{digits}{suffix}"


def babel_money(cents: int, currency: str, language: str = DEFAULT_LANGUAGE) -> str:
    """Babel's own formatting of an amount: what `money` gives, more slowly (the tests hold
    the two equal)."""
    amount = cents_to_decimal(cents)
    if _precision(currency) == 0 and cents % 100 != 0:
        return format_currency(amount, currency, locale=locale(language), currency_digits=False,
                               format="¤#,##0.00")
    return format_currency(amount, currency, locale=locale(language))


@lru_cache(maxsize=None)
def _precision(currency: str) -> int:
    return get_currency_precision(currency)


PROBE_CENTS = 123456789   # 1,234,567.89: shows the symbol's place, the group and decimal marks


@lru_cache(maxsize=None)
def _money_shape(currency: str, language: str, decimals: int):
    """Babel's format of `currency` in `language` taken apart once: (prefix, suffix, negative
    prefix, negative suffix, group mark, decimal mark); None when the probe does not show a
    plain three-digit grouping, and `money` then asks Babel for every amount. A test compares
    both ways over many amounts."""
    probe = PROBE_CENTS if decimals else PROBE_CENTS - PROBE_CENTS % 100
    positive, negative = babel_money(probe, currency, language), babel_money(-probe, currency, language)
    import re
    found = re.search(r"1(?P<g>\D)234(?P=g)567(?:(\D)89)?", positive)
    found_neg = re.search(r"1(?P<g>\D)234(?P=g)567(?:(\D)89)?", negative)
    if not found or not found_neg or bool(found.group(2)) != bool(decimals):
        return None
    return (positive[:found.start()], positive[found.end():], negative[:found_neg.start()],
            negative[found_neg.end():], found.group(1), found.group(2) or "")


def number(value: Decimal | int, language: str = DEFAULT_LANGUAGE) -> str:
    """A plain number ('1,234.5' / '1.234,5')."""
    return format_decimal(value, locale=locale(language), decimal_quantization=False)


@lru_cache(maxsize=65536)
def day(value: date | None, language: str = DEFAULT_LANGUAGE) -> str:
    """A date as the language writes it in documents ('31 Mar 2026', '31.03.2026')."""
    if value is None:
        return ""
    return _babel_date(value, format="medium", locale=locale(language))


def month(period: str, language: str = DEFAULT_LANGUAGE) -> str:
    """'2026-03' as 'March 2026' / 'März 2026'."""
    return _babel_date(period_start(period), format="LLLL y", locale=locale(language))


def duration(minutes: int | None) -> str:
    """Minutes as hours and minutes ('1 h 30 min', '45 min', '2 h'): SI-style symbols read the
    same in all four languages."""
    if minutes is None:
        return ""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    if hours and rest:
        return f"{sign}{hours} h {rest} min"
    if hours:
        return f"{sign}{hours} h"
    return f"{sign}{rest} min"


def country_name(code: str | None, language: str = DEFAULT_LANGUAGE) -> str:
    if not code:
        return ""
    return locale(language).territories.get(code, code)


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes CLDR knows (its territories also hold regions such as '150')."""
    return frozenset(code for code in Locale.parse("en").territories if len(code) == 2 and code.isalpha())


def labels(language: str) -> dict[str, str]:
    """Every label a document shows, in `language` (English for an unknown one)."""
    table = LABELS.get(language, LABELS[DEFAULT_LANGUAGE])
    return dict(table)


def text(key: str, language: str, **values) -> str:
    """A sentence of TEXTS in `language` with its values filled in."""
    table = TEXTS.get(language, TEXTS[DEFAULT_LANGUAGE])
    return table[key].format(**values)


LABEL_KEYS = ("title_overage", "title_topup", "title_credit_note", "number", "issued_on", "due_on",
              "period", "corrects", "currency", "seller", "bill_to", "vat_id", "company_id", "customer",
              "buyer_reference", "date", "user", "service", "description", "quantity", "rate", "amount",
              "net", "tax", "total", "payment", "iban", "bic", "reference", "page", "of", "reason",
              "continued", "email", "phone", "terms", "tax_category", "tax_rate")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title_overage": "Invoice", "title_topup": "Invoice (prepaid top-up)", "title_credit_note": "Credit note",
        "number": "Number", "issued_on": "Issue date", "due_on": "Due date", "period": "Period",
        "corrects": "Corrects invoice", "currency": "Currency", "seller": "From", "bill_to": "Bill to",
        "vat_id": "VAT ID", "company_id": "Company reg. no.", "customer": "Customer no.",
        "buyer_reference": "Your reference", "date": "Date", "user": "By", "service": "Service",
        "description": "Description", "quantity": "Time", "rate": "Rate", "amount": "Amount",
        "net": "Net", "tax": "VAT", "total": "Total", "payment": "Payment", "iban": "IBAN", "bic": "BIC",
        "reference": "Payment reference", "page": "Page", "of": "of", "reason": "Reason",
        "continued": "continued", "email": "Email", "phone": "Phone", "terms": "Terms",
        "tax_category": "VAT category", "tax_rate": "Rate",
    },
    "de": {
        "title_overage": "Rechnung", "title_topup": "Rechnung (Guthabenaufladung)", "title_credit_note": "Gutschrift",
        "number": "Nummer", "issued_on": "Datum", "due_on": "Fällig am", "period": "Leistungszeitraum",
        "corrects": "Korrigiert Rechnung", "currency": "Währung", "seller": "Von", "bill_to": "Rechnung an",
        "vat_id": "USt-IdNr.", "company_id": "Handelsregister-Nr.", "customer": "Kundennummer",
        "buyer_reference": "Ihre Referenz", "date": "Datum", "user": "Von", "service": "Leistung",
        "description": "Beschreibung", "quantity": "Zeit", "rate": "Satz", "amount": "Betrag",
        "net": "Netto", "tax": "USt.", "total": "Gesamt", "payment": "Zahlung", "iban": "IBAN", "bic": "BIC",
        "reference": "Verwendungszweck", "page": "Seite", "of": "von", "reason": "Grund",
        "continued": "Fortsetzung", "email": "E-Mail", "phone": "Telefon", "terms": "Zahlungsziel",
        "tax_category": "USt.-Kategorie", "tax_rate": "Satz",
    },
    "fr": {
        "title_overage": "Facture", "title_topup": "Facture (recharge prépayée)", "title_credit_note": "Avoir",
        "number": "Numéro", "issued_on": "Date d'émission", "due_on": "Échéance", "period": "Période",
        "corrects": "Corrige la facture", "currency": "Devise", "seller": "De", "bill_to": "Facturé à",
        "vat_id": "N° TVA", "company_id": "N° d'immatriculation", "customer": "N° client",
        "buyer_reference": "Votre référence", "date": "Date", "user": "Par", "service": "Service",
        "description": "Description", "quantity": "Durée", "rate": "Taux", "amount": "Montant",
        "net": "Total HT", "tax": "TVA", "total": "Total TTC", "payment": "Paiement", "iban": "IBAN",
        "bic": "BIC", "reference": "Référence de paiement", "page": "Page", "of": "sur", "reason": "Motif",
        "continued": "suite", "email": "E-mail", "phone": "Téléphone", "terms": "Conditions",
        "tax_category": "Catégorie TVA", "tax_rate": "Taux",
    },
    "nl": {
        "title_overage": "Factuur", "title_topup": "Factuur (prepaid aanvulling)", "title_credit_note": "Creditnota",
        "number": "Nummer", "issued_on": "Datum", "due_on": "Vervaldatum", "period": "Periode",
        "corrects": "Corrigeert factuur", "currency": "Valuta", "seller": "Van", "bill_to": "Factuur aan",
        "vat_id": "Btw-nummer", "company_id": "Handelsregisternr.", "customer": "Klantnummer",
        "buyer_reference": "Uw referentie", "date": "Datum", "user": "Door", "service": "Dienst",
        "description": "Omschrijving", "quantity": "Tijd", "rate": "Tarief", "amount": "Bedrag",
        "net": "Netto", "tax": "Btw", "total": "Totaal", "payment": "Betaling", "iban": "IBAN", "bic": "BIC",
        "reference": "Betalingskenmerk", "page": "Pagina", "of": "van", "reason": "Reden",
        "continued": "vervolg", "email": "E-mail", "phone": "Telefoon", "terms": "Betalingstermijn",
        "tax_category": "Btw-categorie", "tax_rate": "Tarief",
    },
}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "per_hour": "{rate}/h",
        "intro_credit_note": "This credit note corrects invoice {number} of {issued_on}. The amounts below are credited to you.",
        "intro_topup": "Your prepaid balance has fallen below its reorder point. This invoice renews it with the block below.",
        "terms": "Payable within {days} days of the issue date.",
        "terms_now": "Payable on receipt.",
        "pay_by": "Please transfer {total} to IBAN {iban} by {due_on}, quoting {reference}.",
        "value_used": "less prepaid value used: {amount}",
        "credit_line": "{reason}: entry {entry} first billed {amount} on invoice {number} of {issued_on}",
        "reason_entry_changed": "entry changed",
        "reason_entry_superseded": "entry superseded",
        "reason_block_covers": "block purchased later covers it",
        "reason_rate_changed": "rate changed",
        "adjustment": "adjustment of entry {entry}, billed before",
        "topup_hours": "Prepaid hours block: {quantity} of {scope}",
        "topup_value": "Prepaid value block: {quantity} for {scope}",
        "topup_incidents": "Prepaid incident pack: {quantity} incidents of {scope}",
        "topup_unlimited": "Unlimited support block for {scope}",
        "any_service": "any service",
        "validity_days": "valid {days} days from the start date",
        "validity_none": "no expiry",
        "as_block": "like block {block}",
        "exempt_AE": "Reverse charge: VAT is due by the recipient (Art. 196 Directive 2006/112/EC).",
        "exempt_E": "Exempt from VAT: {reason}",
        "exempt_O": "Not subject to VAT: {reason}",
        "exempt_Z": "Zero-rated supply.",
        "category_S": "Standard rate", "category_Z": "Zero rated", "category_E": "Exempt",
        "category_AE": "Reverse charge", "category_O": "Outside the scope of VAT",
        "no_seller": "",
    },
    "de": {
        "per_hour": "{rate}/Std.",
        "intro_credit_note": "Diese Gutschrift korrigiert die Rechnung {number} vom {issued_on}. Die folgenden Beträge werden Ihnen gutgeschrieben.",
        "intro_topup": "Ihr Guthaben hat den Mindestbestand unterschritten. Diese Rechnung erneuert es mit dem folgenden Kontingent.",
        "terms": "Zahlbar innerhalb von {days} Tagen ab Rechnungsdatum.",
        "terms_now": "Zahlbar sofort nach Erhalt.",
        "pay_by": "Bitte überweisen Sie {total} bis {due_on} auf IBAN {iban}, Verwendungszweck {reference}.",
        "value_used": "abzüglich verrechnetes Guthaben: {amount}",
        "credit_line": "{reason}: Eintrag {entry}, zuerst berechnet {amount} mit Rechnung {number} vom {issued_on}",
        "reason_entry_changed": "Eintrag geändert",
        "reason_entry_superseded": "Eintrag ersetzt",
        "reason_block_covers": "später gekauftes Kontingent deckt ihn",
        "reason_rate_changed": "Stundensatz geändert",
        "adjustment": "Nachberechnung zu Eintrag {entry}, zuvor berechnet",
        "topup_hours": "Stundenkontingent: {quantity} für {scope}",
        "topup_value": "Wertguthaben: {quantity} für {scope}",
        "topup_incidents": "Ticketkontingent: {quantity} Vorfälle für {scope}",
        "topup_unlimited": "Pauschalkontingent für {scope}",
        "any_service": "alle Leistungen",
        "validity_days": "gültig {days} Tage ab Beginn",
        "validity_none": "unbefristet",
        "as_block": "wie Kontingent {block}",
        "exempt_AE": "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge, Art. 196 Richtlinie 2006/112/EG).",
        "exempt_E": "Steuerbefreit: {reason}",
        "exempt_O": "Nicht steuerbar: {reason}",
        "exempt_Z": "Nullsatz.",
        "category_S": "Normalsatz", "category_Z": "Nullsatz", "category_E": "Steuerbefreit",
        "category_AE": "Reverse Charge", "category_O": "Nicht steuerbar",
        "no_seller": "",
    },
    "fr": {
        "per_hour": "{rate}/h",
        "intro_credit_note": "Cet avoir corrige la facture {number} du {issued_on}. Les montants ci-dessous vous sont crédités.",
        "intro_topup": "Votre solde prépayé est passé sous son seuil de réapprovisionnement. Cette facture le renouvelle avec le bloc ci-dessous.",
        "terms": "Payable sous {days} jours à compter de la date d'émission.",
        "terms_now": "Payable à réception.",
        "pay_by": "Merci de virer {total} sur l'IBAN {iban} avant le {due_on}, référence {reference}.",
        "value_used": "moins crédit prépayé utilisé : {amount}",
        "credit_line": "{reason} : saisie {entry} facturée {amount} sur la facture {number} du {issued_on}",
        "reason_entry_changed": "saisie modifiée",
        "reason_entry_superseded": "saisie remplacée",
        "reason_block_covers": "couverte par un bloc acheté depuis",
        "reason_rate_changed": "taux modifié",
        "adjustment": "complément pour la saisie {entry}, déjà facturée",
        "topup_hours": "Bloc d'heures prépayées : {quantity} pour {scope}",
        "topup_value": "Crédit prépayé : {quantity} pour {scope}",
        "topup_incidents": "Pack d'incidents : {quantity} incidents pour {scope}",
        "topup_unlimited": "Forfait illimité pour {scope}",
        "any_service": "tous services",
        "validity_days": "valable {days} jours à compter du début",
        "validity_none": "sans expiration",
        "as_block": "comme le bloc {block}",
        "exempt_AE": "Autoliquidation : TVA due par le preneur (art. 196 de la directive 2006/112/CE).",
        "exempt_E": "Exonération de TVA : {reason}",
        "exempt_O": "Hors champ de la TVA : {reason}",
        "exempt_Z": "Taux zéro.",
        "category_S": "Taux normal", "category_Z": "Taux zéro", "category_E": "Exonéré",
        "category_AE": "Autoliquidation", "category_O": "Hors champ",
        "no_seller": "",
    },
    "nl": {
        "per_hour": "{rate}/u",
        "intro_credit_note": "Deze creditnota corrigeert factuur {number} van {issued_on}. De onderstaande bedragen worden u gecrediteerd.",
        "intro_topup": "Uw prepaid saldo is onder het bestelpunt gezakt. Deze factuur vult het aan met het onderstaande blok.",
        "terms": "Te betalen binnen {days} dagen na factuurdatum.",
        "terms_now": "Te betalen bij ontvangst.",
        "pay_by": "Gelieve {total} vóór {due_on} over te maken op IBAN {iban}, met kenmerk {reference}.",
        "value_used": "min gebruikt prepaid tegoed: {amount}",
        "credit_line": "{reason}: boeking {entry} eerder gefactureerd {amount} op factuur {number} van {issued_on}",
        "reason_entry_changed": "boeking gewijzigd",
        "reason_entry_superseded": "boeking vervangen",
        "reason_block_covers": "later gekocht blok dekt haar",
        "reason_rate_changed": "tarief gewijzigd",
        "adjustment": "aanvulling op boeking {entry}, eerder gefactureerd",
        "topup_hours": "Prepaid urenblok: {quantity} voor {scope}",
        "topup_value": "Prepaid tegoed: {quantity} voor {scope}",
        "topup_incidents": "Incidentenbundel: {quantity} incidenten voor {scope}",
        "topup_unlimited": "Onbeperkt blok voor {scope}",
        "any_service": "alle diensten",
        "validity_days": "geldig {days} dagen vanaf de startdatum",
        "validity_none": "zonder vervaldatum",
        "as_block": "zoals blok {block}",
        "exempt_AE": "Btw verlegd: btw verschuldigd door de afnemer (art. 196 Richtlijn 2006/112/EG).",
        "exempt_E": "Vrijgesteld van btw: {reason}",
        "exempt_O": "Buiten de werkingssfeer van de btw: {reason}",
        "exempt_Z": "Nultarief.",
        "category_S": "Standaardtarief", "category_Z": "Nultarief", "category_E": "Vrijgesteld",
        "category_AE": "Btw verlegd", "category_O": "Buiten werkingssfeer",
        "no_seller": "",
    },
}
