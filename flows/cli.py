"""The `prepaid` command line."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

DEMO_INBOX = Path("data/demo")
DEMO_AS_OF = date(2026, 3, 31)
DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}")


def _default_inbox() -> Path:
    inbox = Path("data/inbox")
    return inbox if inbox.is_dir() else DEMO_INBOX


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prepaid", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, out=True):
        p.add_argument("--inbox", type=Path, default=None, help="input folder (default data/inbox, else the demo inbox)")
        p.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file (default %(default)s)")
        p.add_argument("--tz", default="UTC", help="business time zone, IANA name (default %(default)s)")
        if out:
            p.add_argument("--out", type=Path, default=None, help="output folder (default data/out/<as-of>)")

    p = sub.add_parser("ingest", help="ingest and validate the inbox into the warehouse")
    common(p, out=False)

    p = sub.add_parser("nightly", help="ingest, reconcile as of a date, issue documents, write outputs")
    common(p)
    p.add_argument("--as-of", type=_date, default=None, help="run date YYYY-MM-DD (default today)")
    p.add_argument("--no-reports", action="store_true", help="skip the per-customer XLSX prepaid logs")

    p = sub.add_parser("demo", help="run the nightly job on the embedded demo inbox")
    p.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE)
    p.add_argument("--out", type=Path, default=Path("data/out/demo"))

    p = sub.add_parser("generate", help="write a valid synthetic inbox of any size")
    p.add_argument("--customers", type=int, required=True)
    p.add_argument("--entries", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("prepaid: interrupted; nothing was committed", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line, no traceback, for what cannot run at all
        from transforms.ingest import InboxError
        from transforms.warehouse import WarehouseBusy
        if isinstance(exc, (InboxError, WarehouseBusy, FileNotFoundError)):
            print(f"prepaid: {exc}", file=sys.stderr)
            return 2
        raise


def cmd_ingest(args) -> int:
    from transforms.nightly import run_ingest
    inbox = args.inbox or _default_inbox()
    summary, counts = run_ingest(inbox, args.warehouse, args.tz)
    print(f"ingested {len(summary.files_ingested)} new file(s) of {summary.files_seen} in {inbox} "
          f"({len(summary.files_unchanged)} unchanged)")
    for kind, n in sorted(summary.rows_added.items()):
        print(f"  {kind}: {n} new row(s)")
    print(f"accepted: {counts['customers']} customers, {counts['blocks']} blocks, "
          f"{counts['rates']} rates, {counts['entries']} entries")
    _print_quarantine(counts["quarantine_by_reason"])
    return 0


def _print_quarantine(by_reason: dict) -> None:
    total = sum(by_reason.values())
    print(f"quarantined: {total} row(s)" + (":" if total else ""))
    for reason, n in by_reason.items():
        print(f"  {reason}: {n}")


def cmd_nightly(args) -> int:
    from transforms.nightly import run_nightly
    as_of = args.as_of or date.today()
    inbox = args.inbox or _default_inbox()
    out = args.out or Path("data/out") / as_of.isoformat()
    report = run_nightly(inbox, args.warehouse, out, as_of, args.tz, reports_enabled=not args.no_reports)
    print_report(report)
    return 0


def cmd_demo(args) -> int:
    from transforms.nightly import run_nightly
    report = run_nightly(DEMO_INBOX, args.warehouse, args.out, DEMO_AS_OF, "UTC")
    print_report(report)
    return 0


def print_report(report) -> None:
    c = report.counts
    s = report.ingest
    print(f"run {report.run_id} as of {report.as_of}: outputs in {report.out}")
    print(f"  files: {len(s.files_ingested)} ingested, {len(s.files_unchanged)} unchanged")
    print(f"  customers: {c['customers']}; blocks: {c['blocks']} "
          f"({', '.join(f'{k} {v}' for k, v in c['blocks_by_status'].items())})")
    print(f"  entries: {c['entries']} ({', '.join(f'{k} {v}' for k, v in c['entries_by_status'].items())})")
    print(f"  minutes charged {c['minutes_charged']}, covered {c['minutes_covered']}, "
          f"overage {c['minutes_overage']}; unpriced entries {c['entries_unpriced']}")
    print(f"  pools in breach: {c['pools_in_breach']}; documents issued: {c['documents_issued']}")
    _print_quarantine(c["quarantine_by_reason"])
    for warning in report.warnings:
        print(f"  warning: {warning}")


def cmd_generate(args) -> int:
    from transforms.generate import generate_inbox
    counts = generate_inbox(args.out, args.customers, args.entries, args.seed)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


COMMANDS = {"ingest": cmd_ingest, "nightly": cmd_nightly, "demo": cmd_demo, "generate": cmd_generate}

if __name__ == "__main__":
    sys.exit(main())
