"""The `prepaid` command line.

`nightly`, `close` and `reopen` run through the Prefect flows: against the server in
PREFECT_API_URL when one is configured, else against a temporary local server that Prefect
starts for the run (about 10-15 s). `--no-prefect` runs the very same steps without Prefect.
`demo` uses Prefect only when a server is configured (it must stay fast on a fresh machine).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date
from pathlib import Path

from flows.defaults import (DEFAULT_CLOSE_OUT, DEFAULT_OUT, DEFAULT_WAREHOUSE, DEMO_AS_OF, DEMO_INBOX,
                            close_out, default_inbox)

EXIT_CANNOT_RUN = 2

log = logging.getLogger(f"prepaid.{__name__}")   # transforms.progress.logger, without importing it here


def _date(text: str) -> date:
    try:
        if len(text) != 10:      # fromisoformat also reads 20260331 and 2026-W13-2
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD (e.g. 2026-03-31), got {text!r}")


def _period(text: str) -> str:
    from transforms.units import parse_period
    try:
        return parse_period(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month as YYYY-MM (e.g. 2026-03), got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prepaid", description="Nightly reconciler for prepaid time blocks.")
    sub = parser.add_subparsers(dest="command", required=True)

    def verbosity(p):
        loud = p.add_mutually_exclusive_group()
        loud.add_argument("-q", "--quiet", action="store_true",
                          help="print only errors and the final line (no progress, no phase lines)")
        loud.add_argument("-v", "--verbose", action="store_true",
                          help="also debug lines, and Prefect's own log lines")

    def common(p, inbox=True, tz=True):
        if inbox:
            p.add_argument("--inbox", type=Path, default=None, help="input folder (default data/inbox, else the demo inbox)")
        p.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file (default %(default)s)")
        if tz:
            p.add_argument("--tz", default=None,
                           help="business time zone, IANA name: fixed by the warehouse's first run (default UTC); "
                                "later runs use it, and another zone is refused (see `prepaid settings`)")

    def orchestration(p):
        p.add_argument("--no-prefect", action="store_true", help="run the same steps without Prefect (fast path)")

    p = sub.add_parser("ingest", help="ingest and validate the inbox into the warehouse")
    verbosity(p)
    common(p)

    p = sub.add_parser("nightly", help="ingest, reconcile as of a date, issue documents, write outputs")
    verbosity(p)
    common(p)
    p.add_argument("--out", default=DEFAULT_OUT, help="output folder; {as_of} becomes the run date (default %(default)s)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--as-of", type=_date, default=None,
                      help="run date YYYY-MM-DD (default: yesterday, the last complete day in the business time zone)")
    when.add_argument("--from", dest="from_date", type=_date, default=None,
                      help="backfill: first night YYYY-MM-DD; every night up to --to runs in order")
    p.add_argument("--to", dest="to_date", type=_date, default=None,
                   help="backfill: last night (default: yesterday in the business time zone)")
    p.add_argument("--no-reports", action="store_true", help="skip the per-customer XLSX prepaid logs")
    p.add_argument("--billing-starts", type=_date, default=None,
                   help="cutover YYYY-MM-DD, fixed by the warehouse's first run: work dated before it was billed "
                        "by the previous system (deducted from blocks, never invoiced)")
    p.add_argument("--recompute", action="store_true",
                   help="compute everything from scratch, ignoring what earlier runs kept (typed rows, folds, "
                        "the numbers of the documents that billed each entry)")
    p.add_argument("--shards", type=int, default=1, help="split customers into N shards computed on a Dask cluster")
    p.add_argument("--dask-address", default=None, help="scheduler tcp://HOST:PORT (default: a LocalCluster)")
    p.add_argument("--shard-dir", type=Path, default=None,
                   help="shard Parquet folder, shared with the workers (default <warehouse>.shards)")
    p.add_argument("--archive", type=Path, default=None,
                   help="document archive, written once per document (default <warehouse name>-documents beside it)")
    orchestration(p)

    p = sub.add_parser("close", help="close a month: reconcile, freeze and lock it")
    verbosity(p)
    common(p)
    p.add_argument("--period", type=_period, required=True, help="the month, YYYY-MM")
    p.add_argument("--force", action="store_true", help="close despite pending entries dated in the period")
    p.add_argument("--out", default=None, help=f"output folder (default {DEFAULT_CLOSE_OUT})")
    p.add_argument("--no-reports", action="store_true", help="skip the per-customer XLSX prepaid logs")
    orchestration(p)

    p = sub.add_parser("reopen", help="reopen the last closed month (recorded)")
    verbosity(p)
    common(p, inbox=False, tz=False)
    p.add_argument("--period", type=_period, required=True, help="the month, YYYY-MM")
    p.add_argument("--reason", default=None, help="why, kept with the reopen record")
    orchestration(p)

    p = sub.add_parser("settings", help="show or change the warehouse's settings (time zone, billing cutover)")
    verbosity(p)
    common(p, inbox=False, tz=False)
    p.add_argument("--tz", default=None, help="new business time zone (IANA name)")
    p.add_argument("--billing-starts", type=_date, default=None, help="new billing cutover date YYYY-MM-DD")
    p.add_argument("--reason", default=None, help="why the setting changes (required to change one)")

    p = sub.add_parser("serve", help="run the nightly and month-end schedules (Prefect deployments)")
    verbosity(p)
    common(p)
    p.add_argument("--out", default=DEFAULT_OUT, help="nightly output folder pattern (default %(default)s)")
    p.add_argument("--close-out", default=DEFAULT_CLOSE_OUT, help="close output folder pattern (default %(default)s)")
    p.add_argument("--nightly-cron", default="0 2 * * *", help="nightly schedule in --tz (default %(default)r)")
    p.add_argument("--close-cron", default="0 6 1 * *", help="month-end close schedule in --tz (default %(default)r)")

    p = sub.add_parser("demo", help="run the nightly job on the embedded demo inbox")
    verbosity(p)
    p.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE)
    p.add_argument("--out", type=Path, default=Path("data/out/demo"))
    p.add_argument("--prefect", dest="use_prefect", action="store_true", default=None,
                   help="run through the Prefect flow (default: only when PREFECT_API_URL is set)")
    p.add_argument("--no-prefect", dest="use_prefect", action="store_false")

    p = sub.add_parser("generate", help="write a valid synthetic inbox of any size")
    verbosity(p)
    p.add_argument("--customers", type=int, required=True)
    p.add_argument("--entries", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)

    p = sub.add_parser("document", help="write an issued document's files (HTML, PDF, XML) again, byte-identical")
    p.add_argument("number", help="document number, e.g. INV-2026-000001 or CN-2026-000001")
    p.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file (default %(default)s)")
    p.add_argument("--archive", type=Path, default=None, help="document archive (default <warehouse name>-documents beside it)")
    p.add_argument("--out", type=Path, default=Path("data/out/documents"), help="folder (default %(default)s)")

    p = sub.add_parser("report", help="regenerate one customer's prepaid log (read-only on the warehouse)")
    verbosity(p)
    p.add_argument("--customer", required=True, help="customer_id")
    p.add_argument("--as-of", type=_date, default=None, help="date YYYY-MM-DD (default: the last run's)")
    p.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB file (default %(default)s)")
    p.add_argument("--tz", default=None, help="business time zone (default: the last run's)")
    p.add_argument("--out", type=Path, default=Path("data/out/reports"),
                   help="folder; the log goes to OUT/reports/<customer>/ (default %(default)s)")
    return parser


class UsageError(Exception):
    """Options that do not make a run."""


def _cannot_run() -> tuple[type, ...]:
    """Errors that mean the run could not happen at all: one line on stderr, exit 2."""
    from flows.extras import MissingExtra
    from transforms.ingest.ingest import InboxError
    from transforms.run.errors import Refused
    from transforms.warehouse import WarehouseBusy
    return (InboxError, WarehouseBusy, FileNotFoundError, Refused, UsageError, MissingExtra)


_QUIET = False   # --quiet: print_report prints only the final line


def main(argv: list[str] | None = None) -> int:
    from transforms.progress import NORMAL, QUIET, VERBOSE, cli_output

    global _QUIET
    args = build_parser().parse_args(argv)
    _QUIET = getattr(args, "quiet", False)
    try:
        if getattr(args, "tz", None) is not None:
            from transforms.run.settings import check_zone
            check_zone(args.tz)
        with cli_output(QUIET if _QUIET else VERBOSE if getattr(args, "verbose", False) else NORMAL):
            return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("prepaid: interrupted; nothing was committed", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line, no traceback, for what cannot run at all
        if isinstance(exc, _cannot_run()):
            print(f"prepaid: {exc}", file=sys.stderr)
            _release(exc)
            return EXIT_CANNOT_RUN
        raise


def _release(exc: BaseException) -> None:
    """Drop the frames an expected error keeps alive (Prefect keeps the exception of a failed
    run), so the run's DuckDB connection is freed now rather than reported at exit."""
    import gc
    import traceback
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__
    gc.collect()


# --- Prefect or not -----------------------------------------------------------------------

def preflight(inbox: Path | None, warehouse: Path) -> None:
    """Fail fast, before a Prefect server is started, on what would stop the run at once."""
    from transforms.ingest.ingest import InboxError
    from transforms.warehouse import connect
    if inbox is not None and not inbox.is_dir():
        raise InboxError(f"inbox {inbox} does not exist or is not a folder")
    connect(warehouse).close()    # raises WarehouseBusy at once while a run holds it


def prefect_server_configured() -> bool:
    from prefect.settings import get_current_settings
    return bool(get_current_settings().api.url)


_UI_URL: str | None = None   # the configured server's UI, for links to flow runs


def use_prefect(verbose: bool) -> None:
    """Prepare this process to run flows: a note when no server is configured, and Prefect's
    console logging off unless --verbose (the CLI prints its own summary or one-line error,
    unexpected errors still raise with their traceback, and the run's logs are in the UI)."""
    global _UI_URL
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    import prefect  # noqa: F401  (loads the profile, which may name a server)
    from prefect.settings import get_current_settings
    if prefect_server_configured():
        _UI_URL = get_current_settings().ui_url
    else:
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        log.info("no Prefect server configured (PREFECT_API_URL): Prefect starts a temporary local one "
                 "for this run (~15 s); see docs/orchestration.md, or use --no-prefect")


# --- commands -----------------------------------------------------------------------------

def cmd_ingest(args) -> int:
    from transforms.run.nightly import run_ingest
    inbox = args.inbox or default_inbox()
    summary, counts = run_ingest(inbox, args.warehouse, args.tz)
    say(f"ingested {len(summary.files_ingested)} new file(s) of {summary.files_seen} in {inbox} "
        f"({len(summary.files_unchanged)} unchanged)",
        *(f"  {kind}: {n} new row(s)" for kind, n in sorted(summary.rows_added.items())),
        f"accepted: {counts['customers']} customers, {counts['blocks']} blocks, "
        f"{counts['rates']} rates, {counts['entries']} entries")
    _print_quarantine(counts)
    if _QUIET:   # the one line of --quiet
        print(f"ingest of {inbox} committed: {counts['entries']} entries accepted, "
              f"{counts['quarantined_lines']} input line(s) quarantined")
    return 0


def _print_quarantine(counts: dict) -> None:
    """Quarantine in input lines (a file rejected whole counts every line it lost)."""
    total = counts["quarantined_lines"]
    say(f"quarantined: {total} input line(s)" + (":" if total else ""),
        *(f"  {reason}: {n} line(s)" for reason, n in counts["quarantine_lines_by_reason"].items()))


def cmd_nightly(args) -> int:
    from transforms.run.nightly import BackfillStopped, out_for, run_backfill, run_nightly
    inbox = args.inbox or default_inbox()
    reports = not args.no_reports
    if args.to_date and not args.from_date:
        raise UsageError("--to needs --from (a backfill runs every night from --from to --to)")
    if args.from_date:
        first, last = args.from_date, args.to_date or _last_complete_day(args)
        if first > last:
            raise UsageError(f"--from {first} is after --to {last}")
        try:
            if args.no_prefect:
                done = run_backfill(inbox, args.warehouse, args.out, first, last, args.tz, reports,
                                    billing_starts=args.billing_starts)
            else:
                from transforms.run.nightly import check_backfill
                preflight(inbox, args.warehouse)
                check_backfill(args.warehouse, first)
                use_prefect(args.verbose)
                from flows.nightly import backfill_flow
                done = backfill_flow(from_date=first, to_date=last, inbox=inbox, warehouse=args.warehouse,
                                     out=args.out, tz=args.tz, reports=reports, billing_starts=args.billing_starts)
        except BackfillStopped as stopped:
            for report in stopped.committed:
                print_report(report)
            if isinstance(stopped.__cause__, _cannot_run()):
                print(f"prepaid: {stopped}", file=sys.stderr)
                return EXIT_CANNOT_RUN
            raise
        for report in done:
            print_report(report)
        print(f"backfill {first} to {last}: {len(done)} night(s) committed")
        return 0
    as_of = args.as_of or _last_complete_day(args)
    if args.shards < 1:
        raise UsageError("--shards must be at least 1")
    if args.no_prefect:
        if args.dask_address:
            raise UsageError("--dask-address runs shards through Prefect: drop --no-prefect")
        report = run_nightly(inbox, args.warehouse, out_for(args.out, as_of), as_of, args.tz, reports,
                             shards=args.shards, shard_dir=args.shard_dir, billing_starts=args.billing_starts,
                             archive=args.archive, recompute=args.recompute)
    else:
        if args.shards > 1:
            from flows.extras import require_dask
            require_dask()
        preflight(inbox, args.warehouse)
        use_prefect(args.verbose)
        from flows.nightly import nightly_flow
        report = nightly_flow(as_of=as_of, inbox=inbox, warehouse=args.warehouse, out=args.out, tz=args.tz,
                              reports=reports, shards=args.shards, dask_address=args.dask_address,
                              shard_dir=args.shard_dir, billing_starts=args.billing_starts, archive=args.archive,
                              recompute=args.recompute)
    print_report(report)
    return 0


def _last_complete_day(args) -> date:
    """The default night: the last complete day in the business time zone (as the schedule runs
    it), so a run by hand and a scheduled one never disagree about which night is next."""
    from transforms.run.nightly import business_zone, last_complete_day
    return last_complete_day(business_zone(args.warehouse, args.tz))


def cmd_close(args) -> int:
    from transforms.run.nightly import run_close
    inbox = args.inbox or default_inbox()
    pattern = args.out or DEFAULT_CLOSE_OUT
    if args.no_prefect:
        report = run_close(inbox, args.warehouse, close_out(pattern, args.period), args.period, args.tz,
                           args.force, not args.no_reports)
    else:
        preflight(inbox, args.warehouse)
        use_prefect(args.verbose)
        from flows.close import close_flow
        report = close_flow(period=args.period, inbox=inbox, warehouse=args.warehouse, out=str(pattern),
                            tz=args.tz, force=args.force, reports=not args.no_reports)
    if report.already_closed is not None:
        print(f"{report.already_closed}: nothing changed"
              + (f" (its outputs: {report.already_closed.out})" if report.already_closed.out else ""))
        print_flow_run(report)
        return 0
    print_report(report)
    return 0


def cmd_reopen(args) -> int:
    if args.no_prefect:
        from transforms.run.nightly import run_reopen
        report = run_reopen(args.warehouse, args.period, args.reason)
    else:
        preflight(None, args.warehouse)
        use_prefect(args.verbose)
        from flows.close import reopen_flow
        report = reopen_flow(period=args.period, reason=args.reason, warehouse=args.warehouse)
    print(f"run {report.run_id}: reopened {report.period} (it was closed by run {report.closed_by_run_id}); "
          f"nightly runs may be as of its dates again, and `prepaid close --period {report.period}` "
          f"freezes it anew")
    return 0


def cmd_settings(args) -> int:
    from transforms.run.nightly import read_settings, run_settings
    from transforms.run.settings import BILLING_STARTS, DESCRIPTIONS, TZ
    changes = {name: value for name, value in ((TZ, args.tz), (BILLING_STARTS, args.billing_starts))
               if value is not None}
    if changes:
        if not args.reason:
            raise UsageError("changing a setting is recorded: say why with --reason TEXT")
        for name, (old, new) in run_settings(args.warehouse, changes, args.reason).items():
            print(f"{DESCRIPTIONS[name]}: {old or 'not set'} -> {new} (recorded: {args.reason})")
        return 0
    found = read_settings(args.warehouse)
    if not found:
        print(f"{args.warehouse}: no settings yet; the first run fixes them (time zone UTC unless --tz)")
    for name, (value, run_id, at) in sorted(found.items()):
        print(f"{DESCRIPTIONS[name]}: {value or 'not set'} (run {run_id}, {at:%Y-%m-%d %H:%M} UTC)")
    return 0


def cmd_serve(args) -> int:
    from transforms.run.nightly import business_zone
    inbox = args.inbox or default_inbox()
    preflight(inbox, args.warehouse)
    zone = business_zone(args.warehouse, args.tz)
    use_prefect(verbose=True)
    from flows.deploy import serve
    print(f"serving: nightly at {args.nightly_cron!r}, close at {args.close_cron!r} ({zone}); "
          f"inbox {inbox}, warehouse {args.warehouse}; Ctrl+C stops")
    serve(inbox, args.warehouse, args.out, args.close_out, zone, args.nightly_cron, args.close_cron)
    return 0


def cmd_demo(args) -> int:
    from transforms.run.nightly import run_nightly
    use = args.use_prefect if args.use_prefect is not None else bool(os.environ.get("PREFECT_API_URL"))
    if use:
        preflight(DEMO_INBOX, args.warehouse)
        use_prefect(args.verbose)
        from flows.nightly import nightly_flow
        report = nightly_flow(as_of=DEMO_AS_OF, inbox=DEMO_INBOX, warehouse=args.warehouse, out=str(args.out))
    else:
        report = run_nightly(DEMO_INBOX, args.warehouse, args.out, DEMO_AS_OF)
    print_report(report)
    return 0


def say(*lines: str) -> None:
    """Print lines on stdout, unless --quiet (which prints only the final line)."""
    if not _QUIET:
        for line in lines:
            print(line)


def print_report(report) -> None:
    """The run's summary in words (transforms/run/summary.py), ending with its one-line verdict."""
    from transforms.run.summary import final_line, render

    lines = render(report)
    say(*lines, "")
    print(final_line(report))
    print_flow_run(report)


def print_flow_run(report) -> None:
    if report.flow_run_id and _UI_URL and not _QUIET:
        print(f"  prefect flow run: {_UI_URL}/runs/flow-run/{report.flow_run_id}")


def cmd_generate(args) -> int:
    from transforms.run.generate import generate_inbox
    counts = generate_inbox(args.out, args.customers, args.entries, args.seed)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def known_customer(warehouse: Path, wanted: str) -> str:
    """The customer_id meant by `wanted`: itself, else the one id equal to it in another case;
    else a one-line error naming the closest ids."""
    import difflib

    from transforms.warehouse import connect, current_raw

    if not Path(warehouse).exists():
        raise UsageError(f"no warehouse at {warehouse}: run a nightly first")
    con = connect(warehouse, read_only=True)
    try:
        ids = sorted({str(c) for c in current_raw(con, "customers")["customer_id"].dropna()})
    finally:
        con.close()
    if wanted in ids:
        return wanted
    same = [c for c in ids if c.casefold() == wanted.strip().casefold()]
    if len(same) == 1:
        return same[0]
    by_folded = {}
    for c in ids:
        by_folded.setdefault(c.casefold(), c)
    close = [by_folded[c] for c in difflib.get_close_matches(wanted.strip().casefold(), list(by_folded), n=3, cutoff=0.75)]
    hint = (f"; did you mean {' or '.join(close)}?" if close
            else f" ({len(ids)} customers; their ids are in customers.csv and balances.csv)")
    raise UsageError(f"no customer {wanted!r} in the warehouse" + hint)


def cmd_report(args) -> int:
    from transforms.reports.reports import report_customer
    customer = known_customer(args.warehouse, args.customer)
    try:
        folder = report_customer(args.warehouse, customer, args.out, args.as_of, args.tz)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(f"wrote {folder / 'prepaid-log.xlsx'} and {folder / 'prepaid-log.csv'}")
    return 0


def cmd_document(args) -> int:
    from transforms.documents.archive import default_archive, reprint
    from transforms.warehouse import connect
    con = connect(args.warehouse, read_only=True)
    try:
        written = reprint(con, args.number, args.out, args.archive or default_archive(args.warehouse))
    except KeyError:
        raise UsageError(f"no document {args.number!r} in {args.warehouse}") from None
    finally:
        con.close()
    for path in written:
        print(f"wrote {path}")
    return 0


COMMANDS = {"ingest": cmd_ingest, "nightly": cmd_nightly, "close": cmd_close, "reopen": cmd_reopen,
            "settings": cmd_settings, "serve": cmd_serve, "demo": cmd_demo, "generate": cmd_generate, "report": cmd_report,
            "document": cmd_document}

if __name__ == "__main__":
    sys.exit(main())
