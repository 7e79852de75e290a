-- Month-end close and run records. Rows are only ever inserted: a close is never edited; a
-- reopen is a new event, and closing the period again freezes a new version beside the old.

-- extra columns of the run record (`runs` is in schema.sql): the close period, the current
-- version (sha256) of every input file, the error of a failed run, the Prefect flow run
alter table runs add column if not exists period varchar;
alter table runs add column if not exists inputs json;
alter table runs add column if not exists error varchar;
alter table runs add column if not exists flow_run_id varchar;

-- one row per close or reopen of a period; a period is closed when its latest event is a close
create table if not exists period_events (
    run_id bigint primary key,
    period varchar not null,            -- YYYY-MM
    event varchar not null,             -- close | reopen
    event_at timestamptz not null,
    as_of date,                         -- close: the period's last day
    forced boolean,                     -- close: pending entries overridden with --force
    pending_entries bigint,             -- close: pending entries dated in the period
    reason varchar,                     -- reopen: why, as given
    out varchar                         -- close: where its outputs were published
);

-- one row per (close, pool): the reconciliation as frozen at the close, in block units
-- (minutes for hours and unlimited, cents for value, counts for incidents), money in cents,
-- plus the cumulative figures as of the period's last day that the next close starts from
create table if not exists close_pools (
    run_id bigint not null,
    period varchar not null,
    customer_id varchar not null,
    kind varchar not null,
    service varchar,
    currency varchar,
    opening_units bigint,
    purchased_units bigint,
    used_units bigint,
    expired_units bigint,
    closing_units bigint,
    deferred_revenue_cents bigint,
    breakage_cents bigint,
    cum_purchased_units bigint,
    cum_used_units bigint,
    cum_expired_units bigint,
    cum_breakage_cents bigint
);

-- one row per (close, charged entry dated up to the period's last day): what the close saw,
-- to find entries of closed periods that change later (late adjustments)
create table if not exists close_entries (
    run_id bigint not null,
    entry_id varchar not null,
    customer_id varchar not null,
    work_date date not null,
    posting_epoch bigint,
    billable_minutes bigint,
    covered_minutes bigint,
    value_cents bigint,
    overage_minutes bigint,
    overage_cents bigint
);

-- one row per (close, entry dated in an earlier closed period whose charge changed since the
-- previous close): reported in this close; amounts are the change against the frozen figures
create table if not exists close_late_adjustments (
    run_id bigint not null,
    period varchar not null,
    entry_id varchar not null,
    customer_id varchar not null,
    work_date date,
    posted_on date,
    reason varchar not null,            -- charged_after_close | changed_after_close | uncharged_after_close
    covered_minutes bigint,
    value_cents bigint,
    overage_minutes bigint,
    overage_cents bigint
);
