-- Parsing macros shared by the staging models.
-- to_report_date: a date or timestamp text to a calendar date in the report time zone.
-- Timestamps with an offset (Z, +02:00) are converted to the report time zone first; timestamps
-- without one are taken to be in it already. NULL when the text is not a date at all.
create or replace macro to_report_date(value, tz) as (
    case
        when value is null or trim(value) = '' then null
        when length(value) = 10 then try_cast(value as date)  -- the common case, YYYY-MM-DD: no regex
        when regexp_matches(trim(value), '\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|[+-]\d\d(:?\d\d)?)$')
            then cast(timezone(tz, try_cast(trim(value) as timestamptz)) as date)
        else cast(try_cast(trim(value) as timestamp) as date)
    end
);

-- clean_text: trimmed text, with empty strings as NULL.
create or replace macro clean_text(value) as nullif(trim(cast(value as varchar)), '');

-- in_calendar: the date, or NULL outside years 1–9999. DuckDB reads some oddities ('0/1/1') as dates
-- in 1 BC, which no report (or Python) can show; they count as unreadable instead.
create or replace macro in_calendar(value) as
    case when value between date '0001-01-01' and date '9999-12-31' then value end;
