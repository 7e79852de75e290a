"""Documents: invoices, top-ups and credit notes, issued once and rendered from the warehouse.

`seller` checks seller.toml before the run ingests anything; `documents` plans, numbers and
issues; `docview` (with `i18n` for the customer's language) makes the view every renderer
reads; `archive` writes each document's HTML, `pdf` and `ubl` XML, and keeps them.
"""
