"""Ingest: inbox files into the warehouse's raw tables, each file version once.

`ingest` walks the inbox and stores new file versions; `csvio` reads each CSV into records
with line numbers (a broken line costs only itself); `trackers/` turns time-tracker exports
into canonical time-log rows first.
"""
