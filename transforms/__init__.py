"""The reconciler, one package per stage of a run, in the order a night runs them:

ingest → validate → reconcile → documents → reports; close at month end; run holds the
sequences (`run.nightly`) and what a run shares (settings, outputs, summary).

At this level, what every stage uses: `units` (money, durations, periods and their texts),
`warehouse` (the DuckDB connection and the SQL models under `sql/`), `progress` (log lines and
live progress) and `workers` (the process pool that renders files).
"""
