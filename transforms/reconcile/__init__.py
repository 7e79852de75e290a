"""Reconcile: charging, the allocation fold, balances, pools and audits as of a date.

`reconcile` runs the SQL models and the fold in order; `allocate` is the fold of one
customer's postings into its blocks; `shards` splits the same computation by customer.
"""
