-- Formatting helpers for machine outputs (exact integer arithmetic, no floats).

-- integer cents -> '12.50'
create or replace temp macro money_text(cents) as
    case when cents is null then null
         else (case when cents < 0 then '-' else '' end)
              || (abs(cents) // 100)::varchar || '.' || lpad((abs(cents) % 100)::varchar, 2, '0')
    end;

-- a quantity in its block unit -> text: value in money, hours in minutes, incidents counts
create or replace temp macro unit_text(kind, units) as
    case when kind = 'value' then money_text(units) else units::varchar end;

-- an exact decimal without trailing zeros ('150.300' -> '150.3', '150.000' -> '150')
create or replace temp macro plain_decimal(d) as
    case when d is null then null
         when d::varchar like '%.%' then rtrim(rtrim(d::varchar, '0'), '.')
         else d::varchar end;

-- epoch seconds -> '2026-01-05T09:00:00Z'
create or replace temp macro instant_text(epoch) as
    strftime(make_timestamp(epoch * 1000000), '%Y-%m-%dT%H:%M:%SZ');

-- text from inputs written so spreadsheet programs do not evaluate it
create or replace temp macro safe_text(s) as
    case when s is null or s = '' then null
         when left(s, 1) in ('=', '+', '-', '@', chr(9), chr(13)) then '''' || s
         else s end;

-- the offset from UTC in force at an instant (epoch seconds) in time zone tz, in seconds
create or replace temp macro utc_offset_seconds(tz, epoch) as
    epoch_ms(timezone(tz, to_timestamp(epoch))) // 1000 - epoch;

-- epoch seconds of 00:00 local time on `day` in time zone tz. Where that midnight is skipped (a
-- DST gap) or comes twice (an overlap, up to a day long), the offset in force before the change
-- applies, as in Python's zoneinfo with fold=0: ICU's `timezone` alone takes the later of two.
-- `later` is ICU's instant of the wall-clock time `wall` (both epoch seconds); `earlier` the same
-- wall time at the offset in force a day before, taken if it is earlier and shows that time.
create or replace temp macro _earlier_if_same_wall(wall, later, earlier, tz) as
    case when earlier < later and earlier + utc_offset_seconds(tz, earlier) = wall then earlier
         else later end;
create or replace temp macro _earliest_local(wall, later, tz) as
    _earlier_if_same_wall(wall, later, wall - utc_offset_seconds(tz, later - 86400), tz);
create or replace temp macro day_start_epoch(day, tz) as
    _earliest_local(epoch_ms(day::timestamp) // 1000, epoch_ms(timezone(tz, day::timestamp)) // 1000, tz);
