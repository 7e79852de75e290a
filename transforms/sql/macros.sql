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
