"""What a run shows in the Prefect UI: its summary in words, a table of its figures,
quarantine counts, the close figures.

The row builders are plain functions of a run report (tested without Prefect); `publish`
turns them into Prefect artifacts of the current flow run.
"""

from __future__ import annotations

from transforms.run.nightly import RunReport
from transforms.units import cents_text


#: the parts of the charged minutes beyond the two figures the table always had
MINUTE_WORDS = {"valued": "paid from prepaid value", "unpriced": "unpriced (no rate)"}


def summary_rows(report: RunReport) -> list[dict]:
    """One row per figure: counts, minutes, money, breaches, documents issued."""
    c = report.counts
    rows = [
        ("run", report.run_id),
        ("command", report.command),
        ("as of", report.as_of.isoformat()),
        ("files ingested", len(report.ingest.files_ingested) if report.ingest else 0),
        ("customers", c.get("customers")),
        ("blocks", c.get("blocks")),
        *((f"blocks {status}", n) for status, n in c.get("blocks_by_status", {}).items()),
        ("entries", c.get("entries")),
        *((f"entries {status}", n) for status, n in c.get("entries_by_status", {}).items()),
        ("minutes charged", c.get("minutes_charged")),
        ("minutes covered by blocks", c.get("minutes_covered")),
        *((f"minutes {MINUTE_WORDS[k]}", v) for k, v in c.get("minutes", {}).items() if k in MINUTE_WORDS),
        ("minutes overage", c.get("minutes_overage")),
        ("entries unpriced", c.get("entries_unpriced")),
        *((f"value used ({cur})", m["value_used"]) for cur, m in c.get("money_charged", {}).items()),
        *((f"overage ({cur})", m["overage"]) for cur, m in c.get("money_charged", {}).items()),
        *((f"breakage ({cur})", m["breakage"]) for cur, m in c.get("money_charged", {}).items() if "breakage" in m),
        ("pools in breach", c.get("pools_in_breach")),
        ("documents issued", c.get("documents_issued")),
        *((f"documents {key} total", f"{d['count']} = {d['total']}")
          for key, d in c.get("documents_total", {}).items()),
        ("quarantined rows", c.get("quarantined_rows")),
    ]
    if report.close is not None:
        s = report.close
        rows += [("period closed", s.period), ("reconciled pools", s.pools),
                 ("late adjustments", s.late_adjustments),
                 ("pending entries (forced)" if s.forced else "pending entries", len(s.pending))]
        rows += [(f"deferred revenue ({cur})", cents_text(v)) for cur, v in sorted(s.deferred_revenue_cents.items())]
        rows += [(f"breakage of the period ({cur})", cents_text(v)) for cur, v in sorted(s.breakage_cents.items())]
    return [{"figure": name, "value": "" if value is None else str(value)} for name, value in rows]


def quarantine_rows(report: RunReport) -> list[dict]:
    """Quarantined input rows by reason code."""
    return [{"reason_code": reason, "rows": n}
            for reason, n in report.counts.get("quarantine_by_reason", {}).items()]


def quarantine_markdown(report: RunReport) -> str:
    rows = quarantine_rows(report)
    if not rows:
        return f"# Quarantine (run {report.run_id}, as of {report.as_of})\n\nNo input row was rejected.\n"
    lines = [f"# Quarantine (run {report.run_id}, as of {report.as_of})", "",
             f"{sum(r['rows'] for r in rows)} input row(s) rejected; details in `quarantine.csv` "
             f"of `{report.out}`.", "", "| reason code | rows |", "|---|---:|"]
    lines += [f"| `{r['reason_code']}` | {r['rows']} |" for r in rows]
    return "\n".join(lines) + "\n"


def reconciliation_rows(report: RunReport) -> list[dict]:
    """The close's reconciliation.csv rows, as published."""
    import csv

    if report.close is None or report.out is None:
        return []
    with open(report.out / "reconciliation.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def summary_markdown(report: RunReport) -> str:
    """The summary the CLI prints (absolute paths included), as a Markdown artifact."""
    from transforms.run.summary import final_line, render

    title = f"{report.command.capitalize()} run {report.run_id} as of {report.as_of}"
    return "\n".join([f"# {title}", "", f"**{final_line(report)}**", "", "```text", *render(report), "```", ""])


def publish(report: RunReport) -> None:
    """Artifacts of the current flow run (their keys group them across runs in the UI), and
    the summary in the flow-run log."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from flows.logs import log_summary
    from transforms.run.summary import final_line, render

    prefix = report.command
    title = f"run {report.run_id} as of {report.as_of}" + (f", period {report.period}" if report.period else "")
    log_summary(render(report) + ["", final_line(report)])
    create_markdown_artifact(key=f"{prefix}-report", markdown=summary_markdown(report),
                             description=final_line(report))
    create_table_artifact(key=f"{prefix}-summary", table=summary_rows(report),
                          description=f"Summary of {prefix} {title}; outputs in {report.out}")
    create_markdown_artifact(key=f"{prefix}-quarantine", markdown=quarantine_markdown(report),
                             description=f"Quarantined input rows by reason, {title}")
    if report.close is not None:
        create_table_artifact(key="close-reconciliation", table=reconciliation_rows(report),
                              description=f"Reconciliation of {report.period} (reconciliation.csv)")
