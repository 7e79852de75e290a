"""The document view: everything an issued document shows, formatted for its language.

`invoice_context(doc, lines)` turns a `documents` row and its `document_lines` rows (as the
warehouse keeps them, with the seller and buyer stored at issue time) into attributes that
the HTML template and the PDF renderer read as they are: no arithmetic and no formatting
happens in a renderer, so the two always show the same figures.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from transforms.documents import i18n

TITLE_KEYS = {"overage": "title_overage", "topup": "title_topup", "credit_note": "title_credit_note"}
#: VAT categories whose documents must say why no VAT is charged (Directive 2006/112/EC art. 226)
EXEMPT_DEFAULT_REASON = {"AE": "Reverse charge", "O": "Not subject to VAT"}


def loads(text: str | None) -> dict:
    return json.loads(text) if text else {}


def address_lines(party: dict, language: str) -> list[str]:
    """Street; postal code and city; country (in the document's language)."""
    place = " ".join(p for p in (party.get("postal_code"), party.get("city")) if p)
    return [line for line in (party.get("street"), place, i18n.country_name(party.get("country"), language)) if line]


def group_iban(iban: str) -> str:
    """'BE68539007547034' as 'BE68 5390 0754 7034' (how people read and type it)."""
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def tax_category(doc: dict) -> str:
    return doc.get("tax_category") or ("S" if Decimal(doc["tax_rate_percent"]) > 0 else "Z")


def exemption_reason(category: str, buyer: dict) -> str:
    """The exemption reason text of the e-invoice (BT-120), '' where the category has none."""
    if category in ("Z", "S"):
        return ""
    return buyer.get("tax_exemption_reason") or EXEMPT_DEFAULT_REASON.get(category, "")


def percent(rate: Decimal, language: str) -> str:
    return f"{i18n.number(Decimal(rate).normalize(), language)} %" if language in ("de", "fr") \
        else f"{i18n.number(Decimal(rate).normalize(), language)}%"


def invoice_context(doc: dict, lines: list[dict]) -> SimpleNamespace:
    """The view of one document (see the module docstring); `doc` may carry
    `corrects_issued_on` (the corrected invoice's date) and `customer_name`."""
    language = doc.get("language") or i18n.DEFAULT_LANGUAGE
    currency = doc["currency"]
    seller = loads(doc.get("seller")) or None
    buyer = loads(doc.get("buyer")) or {"name": doc.get("customer_name") or doc["customer_id"]}
    labels = i18n.labels(language)
    money = lambda cents: i18n.money(cents, currency, language)
    t = lambda key, **kw: i18n.text(key, language, **kw)
    kind = doc["kind"]
    category = tax_category(doc)
    issued_on = i18n.day(doc["issued_on"], language)
    due_on = i18n.day(doc.get("due_on"), language) if kind != "credit_note" else ""
    corrects_issued_on = i18n.day(_date(doc.get("corrects_issued_on")), language)

    view_lines = [_line(l, currency, language, doc["issued_on"]) for l in lines]
    intro = ""
    if kind == "credit_note":
        intro = t("intro_credit_note", number=doc["corrects"], issued_on=corrects_issued_on)
    elif kind == "topup":
        intro = t("intro_topup")

    payment = None
    if seller and kind != "credit_note":
        days = seller.get("payment_terms_days", 30)
        payment = SimpleNamespace(
            iban=group_iban(seller["iban"]), bic=seller.get("bic", ""), reference=doc["number"],
            due_on=due_on, terms=t("terms", days=days) if days else t("terms_now"),
            instruction=t("pay_by", total=money(doc["total_cents"]), iban=group_iban(seller["iban"]),
                          due_on=due_on, reference=doc["number"]))
    reason = exemption_reason(category, buyer)
    exemption_note = {"AE": t("exempt_AE"), "E": t("exempt_E", reason=reason),
                      "O": t("exempt_O", reason=reason), "Z": ""}.get(category, "")
    return SimpleNamespace(
        language=language,
        labels=labels,
        title=labels[TITLE_KEYS[kind]],
        number=doc["number"],
        kind=kind,
        issued_on=issued_on,
        due_on=due_on,
        period=_period(doc, lines, language),
        currency=currency,
        corrects=doc.get("corrects") or "",
        corrects_issued_on=corrects_issued_on if doc.get("corrects") else "",
        seller=None if not seller else SimpleNamespace(
            name=seller["name"], address_lines=address_lines(seller, language), vat_id=seller.get("vat_id", ""),
            company_id=seller.get("company_id", ""), email=seller.get("email", ""), phone=seller.get("phone", "")),
        buyer=SimpleNamespace(
            name=buyer.get("name") or doc["customer_id"], customer_id=doc["customer_id"],
            address_lines=address_lines(buyer, language), vat_id=buyer.get("vat_id", ""),
            company_id=buyer.get("company_id", ""), buyer_reference=buyer.get("buyer_reference") or doc["customer_id"]),
        intro=intro,
        lines=view_lines,
        tax_breakdown=[SimpleNamespace(
            category=category, label=t(f"category_{category}"), rate=percent(doc["tax_rate_percent"], language),
            net=money(doc["net_cents"]), tax=money(doc["tax_cents"]))],
        exemption_note=exemption_note,
        net=money(doc["net_cents"]),
        tax=money(doc["tax_cents"]),
        total=money(doc["total_cents"]),
        payment=payment,
        footer_note=(seller or {}).get("note", ""),
    )


def _date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _period(doc: dict, lines: list[dict], language: str) -> str:
    """The service dates: first and last work date of the lines (the posting month of a
    monthly invoice may hold work of the month before), else the month billed."""
    first, last = service_dates(lines)
    if first is None:
        return i18n.month(doc["period"], language) if doc.get("period") else ""
    first_text, last_text = i18n.day(first, language), i18n.day(last, language)
    return first_text if first == last else f"{first_text} – {last_text}"


def service_dates(lines: list[dict]) -> tuple[date | None, date | None]:
    days = sorted(l["work_date"] for l in lines if l.get("work_date"))
    return (days[0], days[-1]) if days else (None, None)


def _line(l: dict, currency: str, language: str, issued_on: date) -> SimpleNamespace:
    detail = loads(l.get("detail"))
    money = lambda cents: i18n.money(cents, currency, language)
    t = lambda key, **kw: i18n.text(key, language, **kw)
    description = detail.get("text", l.get("description") or "")
    note = ""
    quantity = i18n.duration(l["minutes"]) if l.get("minutes") else ""
    work_date = l.get("work_date")
    rate = t("per_hour", rate=money(l["rate_cents"])) if l.get("rate_cents") is not None else ""
    if "kind" in detail:             # a top-up: the block bought, sold on the issue date
        description = topup_description(detail, currency, language)
        work_date = issued_on
        quantity, rate = topup_quantity(detail, l["amount_cents"], currency, language)
    elif "reason" in detail:         # a credit note line: why, and what was billed first
        note = t("credit_line", reason=t(f"reason_{detail['reason']}"), entry=l.get("entry_id") or "",
                 amount=money(detail.get("billed_cents") or 0), number=l.get("corrects") or "",
                 issued_on=i18n.day(_date(detail.get("billed_on")), language))
        quantity = i18n.duration(abs(l["minutes"])) if l.get("minutes") else ""
    elif detail.get("adjustment"):
        note = t("adjustment", entry=l.get("entry_id") or "")
    elif detail.get("value_cents"):
        note = t("value_used", amount=money(detail["value_cents"]))
        quantity = i18n.duration(detail.get("minutes", l.get("minutes")))
    return SimpleNamespace(
        line_no=str(l["line_no"]),
        work_date=i18n.day(work_date, language),
        user=l.get("user") or "",
        service=l.get("service") or "",
        description=description,
        quantity=quantity,
        rate=rate,
        amount=money(l["amount_cents"]),
        note=note[:1].upper() + note[1:],
    )


def topup_quantity(detail: dict, amount_cents: int, currency: str, language: str) -> tuple[str, str]:
    """(quantity, unit price) of a top-up line: '40 h' at '79,00 €/h' when the price divides
    into whole cents per hour or incident, else one block at its price."""
    units = detail.get("quantity_units") or 0
    t = lambda key, **kw: i18n.text(key, language, **kw)
    if detail["kind"] == "hours" and units and (amount_cents * 60) % units == 0:
        return i18n.duration(units), t("per_hour", rate=i18n.money(amount_cents * 60 // units, currency, language))
    if detail["kind"] == "incidents" and units and amount_cents % units == 0:
        return i18n.number(units, language), i18n.money(amount_cents // units, currency, language)
    return "1", i18n.money(amount_cents, currency, language)


def topup_description(detail: dict, currency: str, language: str) -> str:
    """'Prepaid hours block: 20 h of support, valid 365 days from the start date (like block b1)'."""
    t = lambda key, **kw: i18n.text(key, language, **kw)
    scope = detail.get("service") or t("any_service")
    units = detail.get("quantity_units")
    kind = detail["kind"]
    if kind == "hours":
        text = t("topup_hours", quantity=i18n.duration(units), scope=scope)
    elif kind == "value":
        text = t("topup_value", quantity=i18n.money(units or 0, currency, language), scope=scope)
    elif kind == "incidents":
        text = t("topup_incidents", quantity=i18n.number(units or 0, language), scope=scope)
    else:
        text = t("topup_unlimited", scope=scope)
    days = detail.get("valid_days")
    validity = t("validity_days", days=days) if days else t("validity_none")
    return f"{text}, {validity} ({t('as_block', block=detail.get('block_id') or '')})"
