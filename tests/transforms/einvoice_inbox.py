"""A generated inbox for the e-invoice tests: a Belgian seller, customers in five countries
with every VAT category, hostile text in names and addresses, and a second night that
corrects the first in each way a credit note can (SPEC §6, §10)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_inbox

SELLER = """\
[seller]
name = "Clearwater Support BV <b>& \\"Co\\"</b>"
street = "Rue de la Loi 16"
city = "Bruxelles"
postal_code = "1000"
country = "BE"
vat_id = "BE0123456749"
company_id = "0123456749"
endpoint = "0208:0123456749"
email = "billing@clearwater.example"
phone = "+32 2 123 45 67"
iban = "BE68 5390 0754 7034"
bic = "GKCCBEBB"
payment_terms_days = 30
note = "Registered office Bruxelles · RPM Bruxelles 0123.456.749"
"""

CUSTOMERS = (
    "customer_id,name,currency,invoice_cadence,tax_rate_percent,street,city,postal_code,country,vat_id,"
    "company_id,email,endpoint,buyer_reference,language,tax_category,tax_exemption_reason\n"
    # S, Belgium, Dutch; hostile name
    'be1,"<script>alert(1)</script> & Zonen ""NV""",EUR,nightly,21,Kerkstraat 1 & 2,Gent,9000,BE,BE0987654321,'
    "0987654321,ap@zonen.example,0208:0987654321,=cmd|' /C calc'!A0,nl,,\n"
    # S, Germany, German; non-Latin text
    'de1,Ölwerk Müller GmbH — 株式会社,EUR,nightly,19,"Straße ""Ost"" 5",Köln,50667,DE,DE811907980,,,'
    "9930:DE811907980,,de,,\n"
    # AE, Netherlands, reverse charge
    "nl1,Van Dijk Bouw B.V.,EUR,nightly,0,Keizersgracht 100,Amsterdam,1015 CS,NL,NL859048725B01,34567890,,"
    "0106:34567890,,nl,AE,\n"
    # E, France, exempt, French
    "fr1,Clinique Saint-Éloi SAS,EUR,monthly,0,12 rue de l'Église,Lyon,69002,FR,FR40303265045,,,"
    "0009:30326504500015,,fr,E,Exonération de TVA : article 261-4-1° du CGI\n"
    # O, United States (outside the scope of EU VAT)
    'us1,"Harbor & Finch, LLP",USD,nightly,0,350 Fifth Avenue,New York,10118,US,,,,0060:123456789,,en,O,\n'
    # Z, Belgium, zero rated
    "be2,Zero Export NV,EUR,nightly,0,Havenlaan 3,Antwerpen,2000,BE,BE0403019261,,,0208:0403019261,,en,Z,\n"
    # no e-invoice details: HTML and PDF only, and a warning naming the missing fields
    "xx1,Studio Lumen,EUR,nightly,19,,,,,,,,,,en,,\n"
)

PURCHASES = (
    "block_id,customer_id,kind,service,quantity,amount_paid,purchased_on,reorder_point,auto_invoice\n"
    "v1,de1,value,,50.00,50.00,2026-01-01,,\n"                 # covers part of an entry: line allowance
    "h1,be2,hours,support,2,200.00,2026-01-01,1,yes\n"          # in breach after 90 min: a top-up
)
LATE_PURCHASE = "h2,be1,hours,,1,100.00,2026-01-02,,\n"        # backdated: credits be1's e1

RATES = "customer_id,service,user,hourly_rate\n,,,60.00\nde1,,,95.00\nfr1,,,80.00\n"
RATES_LATER = RATES + "nl1,,,50.00\n"                         # nl1's rate changes: credit

TL = "entry_id,customer_id,user,service,started_at,duration_minutes,authorized_at,description,billable\n"
NIGHT1 = TL + (
    "e1,be1,ann,support,2026-01-05T09:00,90,2026-01-05T12:00,<img src=x onerror=alert(1)> & fix,\n"
    "e2,de1,bob,consulting,2026-01-05T09:00,75,2026-01-05T12:00,Firewall-Migration «Ost»,\n"
    "e3,nl1,cas,support,2026-01-05T09:00,60,2026-01-05T12:00,Server patching,\n"
    "e4,fr1,dan,support,2026-01-06T09:00,45,2026-01-06T12:00,Mise à jour \"urgente\",\n"
    "e5,us1,eve,support,2026-01-06T09:00,30,2026-01-06T12:00,=HYPERLINK(\"http://x\"),\n"
    "e6,be2,fay,support,2026-01-06T09:00,90,2026-01-06T12:00,Δοκιμή,\n"
    "e7,xx1,gus,support,2026-01-06T09:00,20,2026-01-06T12:00,Logo,\n"
    "e8,be1,ann,support,2026-01-07T09:00,120,2026-01-07T12:00,Migration,\n"
    "e9,be1,ann,support,2026-01-08T09:00,30,2026-01-08T12:00,Printer,\n"
)
# night 2: e8 shorter (entry changed), e9 made not billable (superseded), e10 new work
NIGHT2_EDITS = TL + (
    "e8,be1,ann,support,2026-01-07T09:00,60,2026-01-07T12:00,Migration,\n"
    "e9,be1,ann,support,2026-01-08T09:00,30,2026-01-08T12:00,Printer,false\n"
    "e10,de1,bob,consulting,2026-02-02T09:00,30,2026-02-02T12:00,Nachbereitung,\n"
)


def write_night(folder: Path, night: int) -> Path:
    """The inbox as it is on night 1 (as of 2026-01-31) or night 2 (as of 2026-02-03)."""
    timelogs = {"2026-01.csv": NIGHT1}
    purchases, rates = PURCHASES, RATES
    if night == 2:
        timelogs["2026-02-edits.csv"] = NIGHT2_EDITS
        purchases, rates = PURCHASES + LATE_PURCHASE, RATES_LATER
    inbox = write_inbox(folder, customers=CUSTOMERS, purchases=purchases, rates=rates, timelogs=timelogs)
    (inbox / "seller.toml").write_text(SELLER, encoding="utf-8")
    return inbox
