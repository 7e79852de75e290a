-- Warehouse tables. Raw input is kept as trimmed strings with its source file and line;
-- everything else is recomputed from it each run, except issued documents (immutable).

create sequence if not exists file_id_seq start 1;
create sequence if not exists run_id_seq start 1;

-- one row per ingested file version (same name + same content as the latest version: skipped)
create table if not exists files (
    file_id bigint primary key,
    source_file varchar not null,   -- path relative to the inbox, '/'-separated
    kind varchar not null,          -- customers | purchases | rates | authorizations | timelogs
    sha256 varchar not null,
    tracker varchar,                -- toggl | clockify | harvest | kimai, null for canonical CSV
    row_count bigint not null,
    rejected boolean not null,      -- unreadable or missing required columns: no rows kept
    run_id bigint not null,
    ingested_at timestamptz not null
);

-- problems found while reading a file: whole-file rejects (line 0), ragged rows, tracker rows
create table if not exists raw_issues (
    file_id bigint not null,
    source_file varchar not null,
    line bigint not null,
    "column" varchar,
    value varchar,
    reason_code varchar not null,
    detail varchar
);
-- the input lines an issue stands for: 1, or every data line of a file rejected whole (line 0)
alter table raw_issues add column if not exists lines bigint;

create table if not exists raw_customers (
    file_id bigint, source_file varchar, line bigint,
    customer_id varchar, name varchar, aliases varchar, currency varchar,
    rounding_increment_minutes varchar, rounding_mode varchar, minimum_entry_minutes varchar,
    requires_authorization varchar, invoice_cadence varchar, tax_rate_percent varchar
);
-- billing details (issue 18), added to warehouses made before them
alter table raw_customers add column if not exists street varchar;
alter table raw_customers add column if not exists city varchar;
alter table raw_customers add column if not exists postal_code varchar;
alter table raw_customers add column if not exists country varchar;
alter table raw_customers add column if not exists vat_id varchar;
alter table raw_customers add column if not exists company_id varchar;
alter table raw_customers add column if not exists email varchar;
alter table raw_customers add column if not exists endpoint varchar;
alter table raw_customers add column if not exists buyer_reference varchar;
alter table raw_customers add column if not exists language varchar;
alter table raw_customers add column if not exists tax_category varchar;
alter table raw_customers add column if not exists tax_exemption_reason varchar;

create table if not exists raw_purchases (
    file_id bigint, source_file varchar, line bigint,
    block_id varchar, customer_id varchar, kind varchar, service varchar, quantity varchar,
    amount_paid varchar, purchased_on varchar, starts_on varchar, expires_on varchar,
    reorder_point varchar, auto_invoice varchar, invoice_number varchar, remarks varchar,
    currency varchar
);

create table if not exists raw_rates (
    file_id bigint, source_file varchar, line bigint,
    customer_id varchar, service varchar, "user" varchar, hourly_rate varchar,
    valid_from varchar, valid_to varchar, currency varchar
);

create table if not exists raw_timelogs (
    file_id bigint, source_file varchar, line bigint,
    entry_id varchar, customer_id varchar, "user" varchar, service varchar,
    started_at varchar, ended_at varchar, duration_minutes varchar, billable varchar,
    incident_id varchar, authorized_at varchar, project varchar, task varchar,
    description varchar, billed_elsewhere varchar, currency varchar
);
-- warehouses made before time logs had a currency column (tracker exports name one)
alter table raw_timelogs add column if not exists currency varchar;

create table if not exists raw_authorizations (
    file_id bigint, source_file varchar, line bigint,
    entry_id varchar, authorized_at varchar, authorized_by varchar
);

-- one row per run that committed
create table if not exists runs (
    run_id bigint primary key,
    command varchar not null,
    as_of date,
    tz varchar,
    started_at timestamptz not null,
    ended_at timestamptz,
    inputs_sha256 varchar,
    counts json,
    outcome varchar not null
);

-- Prepaid logs as last rendered, by a fingerprint of what they show: a run renders only
-- customers whose fingerprint changed; the others keep their log, byte for byte, with the
-- date it was rendered on (moved over from the previous OUT, or written from here).
drop table if exists report_cache;      -- its logs were restamped with each night's date
create table if not exists prepaid_log_cache (
    customer_id varchar primary key,
    fingerprint varchar not null,
    as_of date not null,            -- the night it was rendered: its "Figures as of" date
    xlsx blob not null,
    csv blob not null,
    xlsx_sha256 varchar not null,   -- recognise the files the previous run published
    csv_sha256 varchar not null
);
-- the two files as the run that wrote them placed them: `<inode>:<size>:<mtime ns>` of each,
-- `|`-joined (reports._placed). The same in the OUT a run replaces: the files are still those,
-- unedited, and need not be read to be recognised by their SHA-256.
alter table prepaid_log_cache add column if not exists placed varchar;
-- each log model's part of the fingerprint (sql/reports/log_fingerprints.sql): a later log of
-- the customer keeps the sheets of the parts that are the same
alter table prepaid_log_cache add column if not exists parts varchar[];
