"""The issuing company: `seller.toml` in the inbox (one `[seller]` table).

It is read and checked at the start of a nightly run, before anything is ingested or issued:
a document issued with a wrong IBAN or VAT id cannot be taken back, so a broken file stops
the run (exit 2, one line naming the key) instead of being quarantined like a data row.
Without the file, runs work as before: documents carry no seller block and no e-invoice.
The values used are stored with each document (documents.seller), so a document reprints
the same after the file changes.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from transforms.ingest.ingest import InboxError

SELLER_FILE = "seller.toml"
REQUIRED = ("name", "street", "city", "postal_code", "country", "vat_id", "endpoint", "iban")
OPTIONAL = ("company_id", "email", "phone", "bic", "payment_terms_days", "note")
DEFAULT_PAYMENT_TERMS_DAYS = 30

#: VAT id: the country prefix (EL for Greece, XI for Northern Ireland) and 2-14 characters (Swiss: CHE123456789MWST)
VAT_ID = re.compile(r"^[A-Z]{2}[0-9A-Z+*.]{2,14}$")
#: Peppol participant id: ISO 6523 ICD / EAS scheme (4 digits), then the id within it
ENDPOINT = re.compile(r"^([0-9]{4}):([^\s:]{1,50})$")
BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SellerError(InboxError):
    """seller.toml breaks a rule: the run cannot issue documents (exit 2)."""


def iban_ok(iban: str) -> bool:
    """ISO 13616 check digits (mod 97 = 1)."""
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return False
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def compact(text: str) -> str:
    """An IBAN or VAT id as printed with spaces ('BE68 5390 0754 7034') in its compact form."""
    return re.sub(r"[\s.\-]", "", text).upper()


def load(inbox: Path) -> dict | None:
    """The seller of `inbox/seller.toml`, checked; None when there is no such file."""
    path = Path(inbox) / SELLER_FILE
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SellerError(f"{SELLER_FILE}: cannot be read: {exc}") from exc
    return parse(data)


def parse(data: dict) -> dict:
    """Check a parsed seller.toml; returns the seller as a dict of strings (and the terms)."""
    table = data.get("seller")
    if not isinstance(table, dict):
        raise SellerError(f"{SELLER_FILE}: needs a [seller] table")
    for key in sorted(set(data) - {"seller"}):
        raise SellerError(f"{SELLER_FILE}: unknown table or key '{key}' (everything goes under [seller])")
    for key in sorted(table):
        if key not in REQUIRED and key not in OPTIONAL:
            raise SellerError(f"{SELLER_FILE}: unknown key seller.{key}")
    seller: dict = {}
    for key in REQUIRED + OPTIONAL:
        value = table.get(key)
        if key == "payment_terms_days":
            continue
        if value is None:
            if key in REQUIRED:
                raise SellerError(f"{SELLER_FILE}: seller.{key} is required")
            continue
        if not isinstance(value, str) or not value.strip():
            raise SellerError(f"{SELLER_FILE}: seller.{key} must be non-empty text")
        seller[key] = value.strip()
    _check(seller, "country", lambda v: v in _countries(), "an ISO 3166-1 alpha-2 code such as BE")
    seller["vat_id"] = compact(seller["vat_id"])
    _check(seller, "vat_id", VAT_ID.match, "a VAT id with its country prefix such as BE0123456749")
    _check(seller, "endpoint", ENDPOINT.match, "a Peppol id SCHEME:ID such as 0208:0123456749")
    seller["iban"] = compact(seller["iban"])
    _check(seller, "iban", iban_ok, "a valid IBAN (its check digits do not match)")
    if "bic" in seller:
        seller["bic"] = compact(seller["bic"])
        _check(seller, "bic", BIC.match, "a BIC of 8 or 11 characters")
    if "email" in seller:
        _check(seller, "email", EMAIL.match, "an email address")
    terms = table.get("payment_terms_days", DEFAULT_PAYMENT_TERMS_DAYS)
    if not isinstance(terms, int) or isinstance(terms, bool) or terms < 0 or terms > 3650:
        raise SellerError(f"{SELLER_FILE}: seller.payment_terms_days must be a whole number of days ≥ 0")
    seller["payment_terms_days"] = terms
    return seller


def _check(seller: dict, key: str, ok, expected: str) -> None:
    if key in seller and not ok(seller[key]):
        raise SellerError(f"{SELLER_FILE}: seller.{key} {seller[key]!r} is not {expected}")


def _countries() -> frozenset[str]:
    from transforms.documents.i18n import country_codes
    return country_codes()
