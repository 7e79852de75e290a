"""Validate: raw rows into typed rows and quarantine rows with reason codes.

`validate` checks every input kind (with `parse`, the vectorized parsers of strings into
cents, seconds and instants); `kept` types time-log rows once per file version and decides
the entries in force in SQL. The valid rows then become the staging tables
(`reconcile.reconcile.stage`).
"""
