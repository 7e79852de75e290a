-- Time-log rows as typed on their own (transforms/validate/validate.type_timelogs), kept per file
-- version so that a night types only the file versions it has not seen (transforms/validate/kept.py).
-- A file version's rows are typed once for one time zone and one version of the rules.

-- one row per typed time-log file version
create table if not exists typed_timelog_files (
    file_id bigint primary key, tz varchar not null, rules integer not null
);

-- one row per raw time-log row of a typed file version; `content` is the SHA-256 of its raw
-- content cells (equal exactly when the cells are), `local_ok` whether it passed every check
-- a row makes on its own
create table if not exists typed_timelogs (
    file_id bigint, source_file varchar, line bigint,
    entry_id varchar, "user" varchar, service varchar, started_at timestamptz, ended_at timestamptz,
    billable boolean, incident_id varchar, authorized_at timestamptz, project varchar, task varchar,
    description varchar, billed_elsewhere boolean, duration_seconds bigint,
    local_ok boolean, customer_id varchar, currency varchar, content varchar
);

-- one row per issue a row has on its own; `schema`: found by the schema, which only judges
-- rows with a known customer
create table if not exists typed_timelog_issues (
    file_id bigint, source_file varchar, line bigint, "column" varchar, value varchar,
    reason_code varchar, detail varchar, schema boolean
);
