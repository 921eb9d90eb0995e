-- Local calendar days (Europe/Zurich). hours_in_day is 23 and 25 on the daylight-saving days.
with days as (
    select d::date as date
    from generate_series('{{ var("calendar_first_day") }}'::date, '{{ var("calendar_last_day") }}'::date, interval '1 day') d
)
select
    {{ date_key('date') }}                                     as date_key,
    date,
    extract(year from date)::integer                           as year,
    extract(quarter from date)::integer                        as quarter,
    extract(month from date)::integer                          as month,
    to_char(date, 'FMMonth')                                   as month_name,
    extract(day from date)::integer                            as day_of_month,
    extract(isoyear from date)::integer                        as iso_year,
    extract(week from date)::integer                           as iso_week,
    extract(isodow from date)::integer                         as iso_weekday,
    to_char(date, 'FMDay')                                     as weekday_name,
    extract(isodow from date) >= 6                             as is_weekend,
    (extract(epoch from ((date + 1)::timestamp at time zone {{ platform_tz() }})
                      - (date::timestamp at time zone {{ platform_tz() }})) / 3600)::integer as hours_in_day,
    date::timestamp at time zone {{ platform_tz() }}           as starts_at,
    (date + 1)::timestamp at time zone {{ platform_tz() }}     as ends_at
from days
