-- Issued documents. Rows are only ever inserted: a document never changes once issued.
create table if not exists documents (
    number varchar primary key,     -- INV-YYYY-NNNNNN or CN-YYYY-NNNNNN
    kind varchar not null,          -- overage | topup | credit_note
    customer_id varchar not null,
    issued_on date not null,
    currency varchar not null,
    net_cents bigint not null,      -- credit notes: negative
    tax_cents bigint not null,
    total_cents bigint not null,
    tax_rate_percent decimal(12, 6) not null,
    corrects varchar,               -- credit notes: the invoice corrected
    period varchar,                 -- monthly overage invoices: YYYY-MM of the posting month
    pool_kind varchar,              -- top-ups: the pool in breach
    pool_service varchar,
    run_id bigint not null,
    seq bigint not null             -- issue order within the run
);

-- one row per document line; entry lines carry what they billed for that entry
create table if not exists document_lines (
    number varchar not null,
    line_no bigint not null,
    entry_id varchar,
    block_id varchar,               -- top-ups: the block whose quantity is re-ordered
    work_date date,
    "user" varchar,
    service varchar,
    description varchar,
    minutes bigint,
    rate_cents bigint,
    amount_cents bigint not null,   -- credit notes: negative
    corrects varchar                -- credit note lines: the invoice this line corrects
);

-- last number used per series ('INV-2026'): numbering is gap-free and never reused
create table if not exists document_counters (
    series varchar primary key,
    last_number bigint not null
);

-- what a document shows besides its figures (issue 18), added to warehouses made before it:
-- the seller and buyer details as they were when it was issued (JSON), so that it reprints
-- the same after seller.toml or customers.csv change
alter table documents add column if not exists due_on date;
alter table documents add column if not exists tax_category varchar;
alter table documents add column if not exists language varchar;
alter table documents add column if not exists seller varchar;
alter table documents add column if not exists buyer varchar;
-- per line, JSON: prepaid value used, credit reason and the line first billed, the top-up block
alter table document_lines add column if not exists detail varchar;

-- one row per entry billed by an issued document: entry_documents.sql over every document, the
-- numbers in issue order. Each nightly run brings it up to date for the entries its documents
-- bill (documents.keep_entry_documents), so a night does not aggregate every line ever issued.
create table if not exists entry_document_numbers (
    entry_id varchar not null,
    document_numbers varchar not null
);
-- at most one row: the last run whose documents entry_document_numbers holds, with those of every
-- run before it. Documents of a later run it does not hold (stored by a version of this program
-- without the table) make the next run build the table again from every document.
create table if not exists entry_document_numbers_through (
    run_id bigint not null
);
