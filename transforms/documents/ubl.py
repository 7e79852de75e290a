"""UBL 2.1 e-invoices (Peppol BIS Billing 3.0, EN 16931) of issued documents (SPEC §10).

Overage and top-up invoices are `Invoice` (type 380); credit notes are `CreditNote` (381)
with a `BillingReference` to the corrected invoice. Every text from inputs is escaped
(`_Element`). Elements follow the order of the UBL 2.1 schemas.

Signs: the warehouse keeps credit-note amounts negative (so sums over all documents net
out); a UBL CreditNote states them positive (its type says they are credited), so its
totals are the absolute values of invoices.csv.

Line arithmetic (EN 16931 / PEPPOL-EN16931-R120: quantity × price / base quantity + charges
− allowances = line amount): a time line states its minutes (unit MIN) at the hourly rate
per 60 minutes. Where the line amount is not exactly minutes × rate — prepaid value paid
part of the entry, or a correction of an amount billed at another rate — the difference is
an explicit line allowance (or charge) with its reason, so the line adds up to the cent.
Lines without time (top-ups) are one unit at the line amount. See docs/decisions.md.

The XML is written by `_Element`, a tree of only what an e-invoice uses (prefixed elements,
attributes, text), laid out as `ElementTree.indent(space=" ")` lays it out: ElementTree's
general serializer (namespace maps, every node kind) was most of a document's XML time.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from xml.sax.saxutils import escape

from transforms.documents.docview import exemption_reason, loads, service_dates, tax_category
from transforms.units import cents_text, round_half_up

NS = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
SEPA_CREDIT_TRANSFER = "58"
#: VATEX codes of the categories whose exemption has a code of its own
VATEX = {"AE": "VATEX-EU-AE", "O": "VATEX-EU-O"}
#: customer fields an e-invoice cannot do without (Peppol: buyer endpoint BT-49, country BT-55)
REQUIRED_BUYER = ("country", "endpoint")


def missing_fields(doc: dict) -> list[str]:
    """What keeps a document from being a valid e-invoice ([] when nothing does).
    Without a seller nothing can be; the run says so once, not per customer."""
    seller = loads(doc.get("seller"))
    if not seller:
        return ["seller.toml"]
    buyer = loads(doc.get("buyer"))
    missing = [f for f in REQUIRED_BUYER if not buyer.get(f)]
    if seller.get("country") == "DE" and buyer.get("country") == "DE":
        # German B2B rules (DE-R-002..009): seller contact, and both postal codes and cities
        missing += [f"seller.{f}" for f in ("phone", "email") if not seller.get(f)]
        missing += [f for f in ("city", "postal_code") if not buyer.get(f)]
    return missing


def to_xml(doc: dict, lines: list[dict], view: SimpleNamespace) -> bytes:
    """The e-invoice of one document; `view` is its document view (texts in its language)."""
    credit = doc["kind"] == "credit_note"
    root_name = "CreditNote" if credit else "Invoice"
    sign = -1 if credit else 1
    seller, buyer = loads(doc.get("seller")), loads(doc.get("buyer"))
    currency = doc["currency"]
    category = tax_category(doc)
    rate = Decimal(doc["tax_rate_percent"])
    root = _Element(root_name, {"xmlns": NS[root_name], "xmlns:cac": NS["cac"], "xmlns:cbc": NS["cbc"]})
    b = _Builder(currency)
    b.cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    b.cbc(root, "ProfileID", PROFILE_ID)
    b.cbc(root, "ID", doc["number"])
    b.cbc(root, "IssueDate", _iso(doc["issued_on"]))
    if not credit and doc.get("due_on"):
        b.cbc(root, "DueDate", _iso(doc["due_on"]))
    b.cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", "381" if credit else "380")
    if view.intro:
        b.cbc(root, "Note", view.intro)
    b.cbc(root, "DocumentCurrencyCode", currency)
    b.cbc(root, "BuyerReference", buyer.get("buyer_reference") or doc["customer_id"])
    first, last = service_dates(lines)   # the period the document shows (BG-14)
    if first is not None:
        period = b.cac(root, "InvoicePeriod")
        b.cbc(period, "StartDate", _iso(first))
        b.cbc(period, "EndDate", _iso(last))
    if credit:
        ref = b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference")
        b.cbc(ref, "ID", doc["corrects"])
        if doc.get("corrects_issued_on"):
            b.cbc(ref, "IssueDate", _iso(doc["corrects_issued_on"]))
    _party(b, b.cac(root, "AccountingSupplierParty"), seller, category, supplier=True)
    _party(b, b.cac(root, "AccountingCustomerParty"), buyer, category, supplier=False)
    means = b.cac(root, "PaymentMeans")
    b.cbc(means, "PaymentMeansCode", SEPA_CREDIT_TRANSFER)
    b.cbc(means, "PaymentID", doc["number"])
    account = b.cac(means, "PayeeFinancialAccount")
    b.cbc(account, "ID", seller["iban"])
    b.cbc(account, "Name", seller["name"])
    if seller.get("bic"):
        b.cbc(b.cac(account, "FinancialInstitutionBranch"), "ID", seller["bic"])
    if view.payment is not None:
        b.cbc(b.cac(root, "PaymentTerms"), "Note", view.payment.terms)
    net, tax, total = (sign * doc[k] for k in ("net_cents", "tax_cents", "total_cents"))
    tax_total = b.cac(root, "TaxTotal")
    b.amount(tax_total, "TaxAmount", tax)
    subtotal = b.cac(tax_total, "TaxSubtotal")
    b.amount(subtotal, "TaxableAmount", net)
    b.amount(subtotal, "TaxAmount", tax)
    _tax_category(b, subtotal, "TaxCategory", category, rate, exemption_reason(category, buyer))
    totals = b.cac(root, "LegalMonetaryTotal")
    line_sum = 0
    for kind in ("LineExtensionAmount", "TaxExclusiveAmount"):
        b.amount(totals, kind, net)
    b.amount(totals, "TaxInclusiveAmount", total)
    b.amount(totals, "PayableAmount", total)
    for line, shown in zip(lines, view.lines):
        line_sum += _line(b, root, line, shown, sign, credit, category, rate)
    if line_sum != net:   # an invariant: the lines are the document
        raise AssertionError(f"{doc['number']}: lines add up to {line_sum} cents, net is {net}")
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    root.write(out, "\n")
    out.append("\n")
    return "".join(out).encode("utf-8")


#: attribute values are in double quotes; line breaks and tabs are written as references, so
#: that a reader's attribute-value normalization cannot turn them into spaces
ATTRIBUTE_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}


class _Element:
    """An element of the e-invoice: its prefixed name, attributes, text and children."""
    __slots__ = ("name", "attrs", "text", "children")

    def __init__(self, name: str, attrs: dict[str, str], text: str | None = None):
        self.name, self.attrs, self.text, self.children = name, attrs, text, []

    def add(self, name: str, attrs: dict[str, str], text: str | None = None) -> "_Element":
        child = _Element(name, attrs, text)
        self.children.append(child)
        return child

    def write(self, out: list[str], indent: str) -> None:
        """Append the element's XML to `out`; `indent` (a line break, then a space per level)
        starts the lines of its children, as `ElementTree.indent(space=" ")` lays them out."""
        name = self.name
        head = name
        for key, value in self.attrs.items():
            head += f' {key}="{escape(value, ATTRIBUTE_ENTITIES)}"'
        if self.children:
            out.append(f"<{head}>")
            inner = indent + " "
            for child in self.children:
                out.append(inner)
                child.write(out, inner)
            out.append(f"{indent}</{name}>")
        elif self.text:
            out.append(f"<{head}>{escape(self.text)}</{name}>")
        else:
            out.append(f"<{head} />")


class _Builder:
    """Adds UBL's elements: `cac:` aggregates, `cbc:` values, amounts in the document's currency."""

    def __init__(self, currency: str):
        self.currency = currency

    def cbc(self, parent: _Element, name: str, text: str, **attrs) -> _Element:
        return parent.add(f"cbc:{name}", attrs, text)

    def cac(self, parent: _Element, name: str) -> _Element:
        return parent.add(f"cac:{name}", {})

    def amount(self, parent: _Element, name: str, cents: int) -> _Element:
        return self.cbc(parent, name, cents_text(cents), currencyID=self.currency)


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _percent(rate: Decimal) -> str:
    text = format(rate.normalize(), "f")
    return text


def _party(b: _Builder, holder: _Element, party: dict, category: str, supplier: bool) -> None:
    el = b.cac(holder, "Party")
    scheme, _, endpoint = party["endpoint"].partition(":")
    b.cbc(el, "EndpointID", endpoint, schemeID=scheme)
    vat_shown = bool(party.get("vat_id")) and category != "O"   # BR-O-02: no VAT ids outside scope
    if supplier and not vat_shown and not party.get("company_id"):
        # BR-CO-26: a seller needs an identifier; the Peppol id is one
        b.cbc(b.cac(el, "PartyIdentification"), "ID", endpoint, schemeID=scheme)
    b.cbc(b.cac(el, "PartyName"), "Name", party["name"])
    address = b.cac(el, "PostalAddress")
    for key, name in (("street", "StreetName"), ("city", "CityName"), ("postal_code", "PostalZone")):
        if party.get(key):
            b.cbc(address, name, party[key])
    b.cbc(b.cac(address, "Country"), "IdentificationCode", party["country"])
    if vat_shown:
        scheme_el = b.cac(el, "PartyTaxScheme")
        b.cbc(scheme_el, "CompanyID", party["vat_id"])
        b.cbc(b.cac(scheme_el, "TaxScheme"), "ID", "VAT")
    legal = b.cac(el, "PartyLegalEntity")
    b.cbc(legal, "RegistrationName", party["name"])
    if party.get("company_id"):
        b.cbc(legal, "CompanyID", party["company_id"])
    contact = {k: party.get(k) for k in ("phone", "email") if party.get(k)}
    if contact:
        c = b.cac(el, "Contact")
        if supplier:
            b.cbc(c, "Name", party["name"])
        if contact.get("phone"):
            b.cbc(c, "Telephone", contact["phone"])
        if contact.get("email"):
            b.cbc(c, "ElectronicMail", contact["email"])


def _tax_category(b: _Builder, parent: _Element, name: str, category: str, rate: Decimal, reason: str) -> None:
    el = b.cac(parent, name)
    b.cbc(el, "ID", category)
    if category != "O":           # BR-O-05: no rate outside the scope of VAT
        b.cbc(el, "Percent", _percent(rate))
    if name == "TaxCategory" and category in ("AE", "E", "O"):
        if category in VATEX:
            b.cbc(el, "TaxExemptionReasonCode", VATEX[category])
        b.cbc(el, "TaxExemptionReason", reason)
    b.cbc(b.cac(el, "TaxScheme"), "ID", "VAT")


def _line(b: _Builder, root: _Element, line: dict, shown: SimpleNamespace, sign: int, credit: bool,
          category: str, rate: Decimal) -> int:
    """One InvoiceLine / CreditNoteLine; returns its amount in cents."""
    detail = loads(line.get("detail"))
    amount = sign * line["amount_cents"]
    el = b.cac(root, "CreditNoteLine" if credit else "InvoiceLine")
    b.cbc(el, "ID", str(line["line_no"]))
    if shown.note:
        b.cbc(el, "Note", shown.note)
    # a line of time; a correction of amount only (0 minutes, e.g. a rate change) is one unit
    timed = line.get("rate_cents") is not None and bool(line.get("minutes")) and "kind" not in detail
    if timed:
        # minutes priced; where prepaid value paid part, all of them (the value is the allowance)
        quantity, unit = abs(detail.get("minutes", line["minutes"])), "MIN"
        price = line["rate_cents"]
        gross = round_half_up(Decimal(quantity) * price / 60)
        base = 60
    else:
        quantity, unit = (1 if amount >= 0 else -1), "C62"
        price, gross, base = abs(amount), amount, None
    b.cbc(el, "CreditedQuantity" if credit else "InvoicedQuantity", str(quantity), unitCode=unit)
    b.amount(el, "LineExtensionAmount", amount)
    if line.get("work_date"):
        period = b.cac(el, "InvoicePeriod")
        b.cbc(period, "StartDate", _iso(line["work_date"]))
        b.cbc(period, "EndDate", _iso(line["work_date"]))
    difference = gross - amount
    if difference:
        ac = b.cac(el, "AllowanceCharge")
        b.cbc(ac, "ChargeIndicator", "false" if difference > 0 else "true")
        reason = "Prepaid value used" if detail.get("value_cents") else "Correction of an amount billed before"
        b.cbc(ac, "AllowanceChargeReason", reason)
        b.amount(ac, "Amount", abs(difference))
        b.amount(ac, "BaseAmount", gross) if gross > 0 else None
    item = b.cac(el, "Item")
    description = shown.description
    if description:
        b.cbc(item, "Description", description)
    name = shown.service or (description[:100] if description else "") or "Service"
    b.cbc(item, "Name", name)
    if line.get("entry_id"):
        b.cbc(b.cac(item, "SellersItemIdentification"), "ID", line["entry_id"])
    _tax_category(b, item, "ClassifiedTaxCategory", category, rate, "")
    price_el = b.cac(el, "Price")
    b.amount(price_el, "PriceAmount", price)
    if base is not None:
        b.cbc(price_el, "BaseQuantity", str(base), unitCode=unit)
    return amount
