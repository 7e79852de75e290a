-- The allocation fold as the last run left it, kept so that a night folds only what is new
-- (transforms/reconcile/reconcile.py). Always a consistent snapshot: the parts and results are what the
-- fold of exactly these postings over exactly these blocks gives.

-- one row per charged entry folded
create table if not exists fold_postings (
    customer_id varchar, entry_id varchar, service varchar, work_day bigint, posting_epoch bigint,
    minutes bigint, incident_id varchar, rate_cents bigint, started_epoch bigint
);

-- one row per block the fold knew
create table if not exists fold_blocks (
    customer_id varchar, block_id varchar, kind varchar, service varchar, starts_day bigint,
    expires_day bigint, expiry_epoch bigint, quantity bigint, purchased_day bigint, precedence bigint
);

-- one row per (entry, block) part, `seq` in fold order within the customer
create table if not exists fold_parts (
    customer_id varchar, entry_id varchar, block_id varchar, seq bigint, minutes bigint, cents bigint,
    incidents bigint
);

-- one row per folded entry
create table if not exists fold_results (
    customer_id varchar, entry_id varchar, covered_minutes bigint, value_cents bigint,
    overage_minutes bigint, overage_cents bigint, unpriced boolean, block_ids varchar
);
