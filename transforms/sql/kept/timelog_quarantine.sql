-- The quarantine rows of the kept time-log rows: each row's own issues, its customer
-- reference's (unknown or ambiguous), a currency that is not its customer's, and the schema's
-- issues of rows whose customer is known and agrees (the schema only judges those).
-- One row per issue, in history order.
select source_file, line, "column", value, reason_code, detail from (
    select file_id, source_file, line, "column", value, reason_code, detail, 0 as part
    from typed_timelog_issues where not schema
    union all
    select file_id, source_file, line, 'customer_id', reference, reference_issue, reference_detail, 1
    from timelog_verdicts where reference_issue is not null
    union all
    select file_id, source_file, line, 'currency', currency, 'currency_mismatch',
           'customer''s currency is ' || customer_currency, 2
    from timelog_verdicts where currency_mismatch
    union all
    select i.file_id, i.source_file, i.line, i."column", i.value, i.reason_code, i.detail, 3
    from typed_timelog_issues i
    where i.schema and not exists (
        select 1 from timelog_verdicts v
        where v.file_id = i.file_id and v.line = i.line and (v.reference_issue is not null or v.currency_mismatch))
)
order by file_id, line, part
