-- Parsing macros shared by the staging models.
-- zone_spelled_plainly: '… +02:00' and '… z' as DuckDB reads them ('…+02:00', '…Z').
create or replace macro zone_spelled_plainly(value) as
    regexp_replace(regexp_replace(value, '(\d)\s+([+-]\d\d(:?\d\d)?)$', '\1\2'), '(\d)\s*[zZ]$', '\1Z');

-- to_report_date: a date or timestamp text to a calendar date in the report time zone.
-- Plain YYYY-MM-DD takes the fast path. A timestamp without a zone is taken to be in the report time
-- zone already. A timestamp with any zone DuckDB can read (Z, +02:00, +0200, +02, UTC, GMT, CET, an IANA
-- name like America/New_York) is converted to the report time zone first, all the same way. Any other
-- trailing text (an unknown zone) makes the value NULL, that is unreadable: never silently ignored.
create or replace macro to_report_date(value, tz) as (
    case
        when value is null or trim(value) = '' then null
        when length(value) = 10 then try_cast(value as date)  -- the common case, YYYY-MM-DD: no regex
        when regexp_full_match(trim(value), '\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?')
            then cast(try_cast(trim(value) as timestamp) as date)
        else cast(timezone(tz, try_cast(zone_spelled_plainly(trim(value)) as timestamptz)) as date)
    end
);

-- to_money: amount text as DECIMAL(18, 2), NULL when it is not a number or has 16 digits or more before
-- the point. DuckDB reads some exponent forms just past the range ('1.0000000000000002e+16') into a
-- DECIMAL(18, 2) that cannot hold them, so those are range-checked here.
create or replace macro to_money(value) as
    case
        when instr(value, 'e') = 0 and instr(value, 'E') = 0 then try_cast(value as decimal(18, 2))
        when abs(try_cast(value as decimal(18, 2))) < 10000000000000000 then try_cast(value as decimal(18, 2))
    end;

-- rounding: how much rounding the amount text `value` to the cent (`rounded`) moved it, NULL when it
-- did not. Only text with more than two decimals (or an exponent) is parsed a second time, exactly.
create or replace macro rounding(value, rounded) as
    case
        when instr(value, '.') between 1 and strlen(value) - 3 or instr(value, 'e') > 0 or instr(value, 'E') > 0
            then nullif(rounded - try_cast(value as decimal(38, 18)), 0)
    end;

-- clean_text: trimmed text, with empty strings as NULL. Trimmed only when it starts or ends with a space
-- (trim removes spaces only): most text needs no trimming, and a copy of ten million ids costs more than
-- the test.
create or replace macro clean_text(value) as
    case
        when cast(value as varchar) like ' %' or cast(value as varchar) like '% ' then nullif(trim(cast(value as varchar)), '')
        else nullif(cast(value as varchar), '')
    end;

-- in_calendar: the date, or NULL outside years 1–9999. DuckDB reads some oddities ('0/1/1') as dates
-- in 1 BC, which no report (or Python) can show; they count as unreadable instead.
create or replace macro in_calendar(value) as
    case when value between date '0001-01-01' and date '9999-12-31' then value end;
