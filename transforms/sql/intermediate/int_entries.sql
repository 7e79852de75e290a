-- int_entries: one row per valid time entry, with its rate, billable minutes, effective
-- authorization and status as of the run date.
with entries as (
    select * from stg_entries
),

customers as (
    select * from stg_customers
),

params as (
    select $charge_cutoff_epoch::bigint as charge_cutoff_epoch
),

rate_candidates as (
    select e.entry_id, r.hourly_rate_cents, r.customer_id, r.service, r."user", r.valid_from
    from entries e
    join stg_rates r on r.customer_id = e.customer_id
    where (r.service is null or r.service = e.service)
      and (r."user" is null or r."user" = e."user")
      and (r.valid_from is null or r.valid_from <= e.work_date)
      and (r.valid_to is null or r.valid_to >= e.work_date)
    union all
    select e.entry_id, r.hourly_rate_cents, r.customer_id, r.service, r."user", r.valid_from
    from entries e
    join (select * from stg_rates where customer_id is null) r
      on (r.service is null or r.service = e.service)
     and (r."user" is null or r."user" = e."user")
     and (r.valid_from is null or r.valid_from <= e.work_date)
     and (r.valid_to is null or r.valid_to >= e.work_date)
),

rates as (
    -- highest specificity 4·customer + 2·service + 1·user; ties: latest valid_from (blank earliest)
    select entry_id, hourly_rate_cents
    from rate_candidates
    qualify row_number() over (
        partition by entry_id
        order by 4 * (customer_id is not null)::int + 2 * (service is not null)::int
                 + (("user" is not null)::int) desc,
                 valid_from desc nulls last
    ) = 1
),

rounded as (
    select
        e.*,
        c.requires_authorization,
        60 * c.rounding_increment_minutes as q,
        case c.rounding_mode
            when 'up' then (e.duration_seconds + 60 * c.rounding_increment_minutes - 1)
                           // (60 * c.rounding_increment_minutes)
            when 'down' then e.duration_seconds // (60 * c.rounding_increment_minutes)
            else (e.duration_seconds + 30 * c.rounding_increment_minutes)
                 // (60 * c.rounding_increment_minutes)
        end * c.rounding_increment_minutes as rounded_minutes,
        c.minimum_entry_minutes
    from entries e
    join customers c using (customer_id)
),

authorized as (
    select
        r.*,
        case when r.duration_seconds > 0 then greatest(r.rounded_minutes, r.minimum_entry_minutes)
             else r.rounded_minutes end as billable_minutes,
        case when r.requires_authorization then r.authorized_epoch
             else r.started_epoch + r.duration_seconds end as posting_epoch
    from rounded r
),

final as (
    select
        a.entry_id, a.customer_id, a."user", a.service, a.work_date, a.started_epoch,
        a.duration_seconds, a.billable, a.billed_elsewhere, a.incident_id, a.description,
        a.project, a.task, a.source_file, a.line, a.billable_minutes, a.posting_epoch,
        rates.hourly_rate_cents,
        case when not a.billable or a.billed_elsewhere then 'not_billable'
             when a.posting_epoch is not null and a.posting_epoch < params.charge_cutoff_epoch
                 then 'charged'
             else 'pending' end as status
    from authorized a
    cross join params
    left join rates using (entry_id)
)

select * from final
