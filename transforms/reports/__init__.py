"""Reports: each customer's prepaid log, and the read-only analysis of the warehouse.

`reports` builds and caches the logs, written as XLSX by `xlsx` and as CSV; `analysis` gives
the notebook's DataFrames over the last run.
"""
