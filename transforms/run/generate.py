"""Synthetic inbox generator: a valid inbox (SPEC §2) of any size, for load tests and demos.

`generate_inbox` is deterministic for a given seed (same arguments → byte-identical files):
every random choice comes from one `random.Random(seed)`, nothing reads the clock. Time
entries are streamed to disk one day at a time, so memory stays flat however many entries
are asked for. Money and durations are built from integers (cents, quarter hours, seconds)
and written as exact decimal strings; no float ever reaches a file.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from operator import itemgetter
from pathlib import Path

from transforms.units import cents_text, hours_text

CUSTOMER_COLUMNS = (
    "customer_id", "name", "aliases", "currency", "rounding_increment_minutes", "rounding_mode",
    "minimum_entry_minutes", "requires_authorization", "invoice_cadence", "tax_rate_percent",
)
PURCHASE_COLUMNS = (
    "block_id", "customer_id", "kind", "service", "quantity", "amount_paid", "purchased_on",
    "starts_on", "expires_on", "reorder_point", "auto_invoice", "invoice_number", "remarks",
)
RATE_COLUMNS = ("customer_id", "service", "user", "hourly_rate", "valid_from", "valid_to")
TIMELOG_COLUMNS = (
    "entry_id", "customer_id", "user", "service", "started_at", "ended_at", "duration_minutes",
    "billable", "incident_id", "authorized_at", "project", "task", "description",
)
AUTHORIZATION_COLUMNS = ("entry_id", "authorized_at", "authorized_by")

KINDS = ("hours", "value", "unlimited", "incidents")
SERVICES = ("support", "consulting", "development", "training")
BLOCKS_PER_CUSTOMER = 3
MAX_BATCH = 50_000  # time entries held in memory at once (one day, or a slice of a very busy day)

_FIRST_NAMES = (
    "anna", "ben", "carla", "david", "elif", "felix", "greta", "hannah", "ivan", "julia",
    "karim", "lena", "marco", "nina", "oskar", "paula", "quentin", "rosa", "sven", "tara",
    "umut", "vera", "wim", "xenia", "yusuf", "zoe",
)
_APPROVERS = ("m.keller", "s.brandt", "finance-desk")
_PREFIXES = (
    "Nordwind", "Blue Harbor", "Kestrel", "Silverline", "Alpenglow", "Brightwater", "Cobalt",
    "Meridian", "Polaris", "Greenleaf", "Atlas", "Lindenhof", "Seabright", "Falkenstein",
    "Redwood", "Ironbridge", "Westmark", "Sonnenberg", "Oakridge", "Harbor & Finch", "Lumen",
    "Granite Peak", "Elbtal", "Northgate", "Rheinblick", "Copperfield", "Starling", "Vantage",
    "Riverside", "Bergmann", "Clearwater", "Highland", "Morgenrot", "Tidewater", "Ashford",
    "Weidenau", "Summit", "Havelland", "Foxglove", "Eastbrook",
)
_NOUNS = (
    "Logistics", "Dental", "Architects", "Analytics", "Foods", "Consulting", "Health Partners",
    "Freight", "Accounting", "Robotics", "Media", "Bakery", "Legal", "Engineering", "Retail",
    "Property", "Energy", "Design Studio", "Pharma", "Insurance", "Software", "Textiles",
    "Hotels", "Printing", "Automotive", "Labs", "Capital", "Builders", "Clinic", "Education",
)
_SUFFIXES = {
    "EUR": ("GmbH", "AG", "B.V.", "SE", "KG", "S.A.", "Oy", "GmbH & Co. KG"),
    "USD": ("Inc.", "LLC", "LLP", "Corp."),
    "GBP": ("Ltd", "LLP", "plc"),
}
_PEOPLE = ("j.doe", "m.schmidt", "a.nguyen", "t.berger", "l.rossi", "k.oconnor")
_DESCRIPTIONS = {
    "support": (
        "Reset VPN token for {p}", "Printer on 2nd floor offline",
        "Outlook profile rebuilt for {p}",
        "New laptop setup for {p}", "Password reset and MFA re-enrolment for {p}",
        "Backup job failed overnight, rerun and checked", "Wi-Fi drops in meeting room",
        "Mailbox quota raised for {p}", "Antivirus alert investigated",
        "Onboarding accounts for {p}",
        "Offboarding: disabled accounts of {p}", "Shared drive permissions fixed",
        "Firewall firmware update", "Teams calls dropping, network checked",
    ),
    "consulting": (
        "Quarterly review call", "Licence audit, Microsoft 365", "Backup strategy workshop",
        "Security assessment follow-up", "Budget planning IT 2026", "Vendor call re. ERP upgrade",
        "Cloud migration roadmap", "Data protection review with {p}",
    ),
    "development": (
        "Fix CSV export in customer portal", "Invoice template changes", "Order import script",
        "API integration webshop, tests", "Report for sales dashboard",
        "Bug: login redirect loop", "Database index tuning", "Code review with {p}",
    ),
    "training": (
        "Phishing awareness training", "Teams and SharePoint basics", "Excel training for {p}",
        "Onboarding session new staff", "Password manager introduction",
    ),
}
_PROJECTS = ("", "", "", "Managed services", "M365 migration", "Office move", "Website relaunch")
_REMARKS = (
    "Annual support contract", "Top-up", "Framework agreement", "Paid by bank transfer",
    "Discounted bundle", "Renewal",
)


def generate_inbox(
    out_dir: Path,
    customers: int,
    entries: int,
    seed: int,
    *,
    start: date = date(2025, 1, 1),
    days: int = 365,
    files: int = 12,
) -> dict[str, int]:
    """Write a valid synthetic inbox into out_dir and return the row counts written."""
    if customers < 1 or entries < 0 or days < 1 or files < 1:
        raise ValueError("need customers >= 1, entries >= 0, days >= 1 and files >= 1")
    out_dir = Path(out_dir)
    timelog_dir = out_dir / "timelogs"
    timelog_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)

    custs = _make_customers(rng, customers)
    _write(out_dir / "customers.csv", CUSTOMER_COLUMNS, (c["row"] for c in custs))
    blocks = _write(
        out_dir / "purchases.csv", PURCHASE_COLUMNS, _purchase_rows(rng, custs, start, days)
    )
    rates = _write(out_dir / "rates.csv", RATE_COLUMNS, _rate_rows(rng, custs, start, days))

    width = max(2, len(str(files)))
    names = [f"part-{i + 1:0{width}d}.csv" for i in range(files)]
    for stale in timelog_dir.glob("part-*.csv"):  # a previous run with more files
        if stale.name not in names:
            stale.unlink()
    written, authorizations = _write_timelogs(
        rng, custs, entries, start, days, [timelog_dir / n for n in names],
        out_dir / "authorizations.csv",
    )
    return {"customers": len(custs), "blocks": blocks, "rates": rates, "entries": written,
            "authorizations": authorizations}


def _write(path: Path, header: tuple[str, ...], rows) -> int:
    """Write header + rows; the number of rows written."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _make_customers(rng: random.Random, count: int) -> list[dict]:
    """Customer rows plus the per-customer choices the entry loop needs (precomputed once)."""
    width = max(6, len(str(count)))
    seen: dict[str, int] = {}
    users = [f"{n}.{chr(97 + i)}" if i else n for i in range(26) for n in _FIRST_NAMES]
    team_pool = users[: max(6, min(len(users), count // 4 + 6))]
    out = []
    for i in range(count):
        customer_id = f"C-{i + 1:0{width}d}"
        currency = "EUR" if rng.random() < 0.8 else rng.choice(("USD", "GBP"))
        base = f"{rng.choice(_PREFIXES)} {rng.choice(_NOUNS)}"
        n = seen.get(base.lower(), 0) + 1
        seen[base.lower()] = n
        short = base if n == 1 else f"{base} {n}"
        name = f"{short} {rng.choice(_SUFFIXES[currency])}"
        has_alias = rng.random() < 0.3
        increment = rng.choice((1, 6, 15, 15))
        mode = rng.choice(("up", "up", "nearest", "down"))
        minimum = 15 if increment != 15 and rng.random() < 0.2 else 0
        requires_auth = rng.random() >= 0.05
        cadence = "nightly" if rng.random() < 0.25 else "monthly"
        tax = {"GBP": "20", "USD": "0"}.get(currency) or ("19" if rng.random() < 0.7 else "0")
        services = tuple(rng.sample(SERVICES, rng.choice((1, 2, 2, 3))))
        if "support" not in services and rng.random() < 0.6:
            services = ("support",) + services[:-1] if len(services) > 1 else ("support",)
        team = tuple(rng.sample(team_pool, rng.choice((1, 2, 2, 3))))
        row = (
            customer_id, name, short if has_alias else "", currency, str(increment), mode,
            str(minimum), "true" if requires_auth else "false", cadence, tax,
        )
        refs = (name, short) if has_alias else (name,)
        out.append({
            "id": customer_id, "row": row, "refs": refs, "services": services, "team": team,
            "project": rng.choice(_PROJECTS), "currency": currency,
        })
    return out


def _purchase_rows(rng: random.Random, custs: list[dict], start: date, days: int):
    """BLOCKS_PER_CUSTOMER prepaid blocks per customer; the first four blocks cover all kinds."""
    k = 0
    for c in custs:
        for j in range(BLOCKS_PER_CUSTOMER):
            kind = KINDS[k] if k < len(KINDS) else rng.choices(KINDS, (55, 15, 12, 18))[0]
            k += 1
            purchased = start + timedelta(days=rng.randrange(-120, max(days - 30, 1)))
            roll = rng.random()
            starts = None
            if roll < 0.10:
                starts = purchased + timedelta(days=rng.randrange(0, 15))
            elif roll < 0.15:
                starts = purchased + timedelta(days=rng.randrange(30, 91))
            first_day = starts or purchased
            expires = None
            if kind == "unlimited" or rng.random() < 0.6:
                expires = first_day + timedelta(days=rng.choice((90, 180, 365)) - 1)
            service = rng.choice(c["services"]) if kind == "unlimited" or rng.random() < 0.5 else ""
            quantity = reorder = ""
            if kind == "hours":
                quarters = rng.choice((20, 40, 40, 80, 80, 160, 30, 49))
                quantity = hours_text(quarters * 15)
                amount = quarters * rng.choice((8000, 9000, 9500, 11000)) // 4
                if rng.random() < 0.35:
                    reorder = hours_text(max(1, quarters // 5) * 15)
            elif kind == "value":
                cents = rng.choice((100000, 250000, 500000, 1000000))
                quantity = cents_text(cents)
                amount = cents * rng.choice((100, 95, 90)) // 100
                if rng.random() < 0.35:
                    reorder = cents_text(cents // 5)
            elif kind == "incidents":
                count = rng.choice((5, 10, 20))
                quantity = str(count)
                amount = count * rng.choice((12000, 15000, 18000))
                if rng.random() < 0.35:
                    reorder = str(max(1, count // 5))
            else:
                amount = rng.choice((150000, 300000, 450000))
            auto = "true" if reorder and rng.random() < 0.4 else ""
            yield (
                f"PB-{c['id'][2:]}-{j + 1}", c["id"], kind, service, quantity, cents_text(amount),
                purchased.isoformat(), starts.isoformat() if starts else "",
                expires.isoformat() if expires else "", reorder, auto, "",
                rng.choice(_REMARKS) if rng.random() < 0.1 else "",
            )


def _rate_rows(rng: random.Random, custs: list[dict], start: date, days: int):
    """Global default, per-service rates with one rate change, and customer-specific rates."""
    change = start + timedelta(days=days // 2)
    yield ("", "", "", "95.00", "", "")
    yield ("", "support", "", "85.00", "", "")
    yield ("", "consulting", "", "130.00", "", (change - timedelta(days=1)).isoformat())
    yield ("", "consulting", "", "140.00", change.isoformat(), "")
    yield ("", "development", "", "120.00", "", "")
    yield ("", "training", "", "110.00", "", "")
    for c in custs:
        roll = rng.random()
        if c["currency"] != "EUR" or roll < 0.1:
            yield (c["id"], "", "", cents_text(rng.choice((9000, 11000, 12500, 15000))), "", "")
        if roll < 0.2:
            rate = cents_text(rng.choice((7500, 7900, 9900)))
            yield (c["id"], rng.choice(c["services"]), "", rate, "", "")
        if roll < 0.05:
            rate = cents_text(rng.choice((14000, 16500)))
            yield (c["id"], c["services"][0], c["team"][0], rate, "", "")


def _write_timelogs(
    rng: random.Random,
    custs: list[dict],
    entries: int,
    start: date,
    days: int,
    paths: list[Path],
    auth_path: Path,
) -> tuple[int, int]:
    """Stream `entries` time entries over `days` days into paths: split by date, ids in order.

    Day d holds `entries·(d+1)//days − entries·d//days` entries (exactly `entries` in all) and
    goes to file `d·files//days`. Returns (entries written, authorization rows written).
    """
    make_entries = _entry_maker(rng, custs, start, days)
    files = len(paths)
    width = max(6, len(str(entries)))
    seq = authorized = 0
    with open(auth_path, "w", encoding="utf-8", newline="") as auth_file:
        auth_writer = csv.writer(auth_file, lineterminator="\n")
        auth_writer.writerow(AUTHORIZATION_COLUMNS)
        for index, path in enumerate(paths):
            first_day, end_day = -(-index * days // files), -(-(index + 1) * days // files)
            with open(path, "w", encoding="utf-8", newline="", buffering=1 << 20) as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(TIMELOG_COLUMNS)
                for d in range(first_day, end_day):
                    todo = entries * (d + 1) // days - entries * d // days
                    while todo > 0:
                        batch = min(todo, MAX_BATCH)
                        todo -= batch
                        rows = []
                        for row, authorization in make_entries(d, batch):
                            seq += 1
                            entry_id = f"T-{seq:0{width}d}"
                            rows.append((entry_id,) + row)
                            if authorization is not None:
                                authorized += 1
                                auth_writer.writerow((entry_id,) + authorization)
                        writer.writerows(rows)
    return seq, authorized


def _entry_maker(rng: random.Random, custs: list[dict], start: date, days: int):
    """A function (day index, count) → that day's entries sorted by start time.

    Each entry is (row without entry_id, authorization row without entry_id or None). Every
    lookup (day and time-of-day strings, per-customer teams, services, descriptions) is
    precomputed here so the per-entry work is a few random draws and one tuple.
    """
    r = rng.random
    day_s = [(start + timedelta(days=d)).isoformat() for d in range(days + 4)]
    tod = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
    def filled(texts: tuple[str, ...]) -> tuple[str, ...]:
        """Every template with every person: a fixed tuple to pick from."""
        return tuple(t.replace("{p}", p) for t in texts for p in (_PEOPLE if "{p}" in t else ("",)))

    desc = {service: filled(texts) for service, texts in _DESCRIPTIONS.items()}
    prepared = [
        (c["id"], c["refs"], c["team"], c["services"], tuple(desc[s] for s in c["services"]),
         c["project"], i)
        for i, c in enumerate(custs)
    ]
    n = len(prepared)
    by_start = itemgetter(0)

    def make(d: int, count: int) -> list[tuple[tuple[str, ...], tuple[str, str] | None]]:
        day = day_s[d]
        week_base = 1000 + (d // 7) * n  # one ticket per customer and week: shared by its entries
        drafts = []
        for _ in range(count):
            cid, refs, team, services, descs, project, ci = prepared[int(r() * n)]
            if r() < 0.02:  # referenced by name or alias, as tracker exports do
                cid = refs[int(r() * len(refs))]
            si = int(r() * len(services))
            started = 25200 + int(r() * 144) * 300  # 07:00 .. 18:55 on a 5-minute grid
            minutes = 5 + int(min(r(), r()) * 236)  # 5 .. 240, mostly short
            form = r()
            if form < 0.85:  # ended_at, a third of them with seconds as a timer records them
                ended = started + minutes * 60 + (int(r() * 60) if form < 0.3 else 0)
                ended_at, duration = f"{day}T{tod[ended]}", ""
            elif form < 0.95:  # duration only, sometimes a half minute
                ended_at, duration = "", f"{minutes}{('', '.5')[int(r() * 2)]}"
            else:  # both, agreeing exactly
                ended_at, duration = f"{day}T{tod[started + minutes * 60]}", str(minutes)
            flags = r()
            auth = r()
            authorized_at = ""
            authorization = None
            if auth < 0.88:  # authorized in the log 1–3 days later
                authorized_at = f"{day_s[d + 1 + int(r() * 3)]}T{tod[28800 + int(r() * 10800)]}"
            elif auth < 0.90:  # pending in the log, authorized in authorizations.csv
                authorization = (f"{day_s[d + 2]}T{tod[57600 + int(r() * 3600)]}",
                                 _APPROVERS[int(r() * len(_APPROVERS))])
            drafts.append((
                started,
                (
                    cid,
                    team[int(r() * len(team))],
                    services[si],
                    f"{day}T{tod[started]}",
                    ended_at,
                    duration,
                    "false" if flags < 0.03 else "true",
                    f"INC-{week_base + ci}" if flags > 0.9 else "",
                    authorized_at,
                    project,
                    "",
                    descs[si][int(r() * len(descs[si]))],
                ),
                authorization,
            ))
        drafts.sort(key=by_start)
        return [(row, authorization) for _, row, authorization in drafts]

    return make
