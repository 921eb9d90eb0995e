{{ config(indexes=[{'columns': ['tariff_code', 'isodow', 'minute_of_day'], 'unique': False}]) }}
-- Which tariff row applies at each minute of the week, per validity period:
-- the weekday mask applies to the calendar day of the minute (Monday first), and a window
-- crossing midnight covers its evening part on that day and its morning part on that day too.
-- A test asserts that every minute of every tariff's week is covered exactly once.
with minutes as (
    select d as isodow, m as minute_of_day
    from generate_series(1, 7) d cross join generate_series(0, 1439) m
)
select
    t.tariff_key,
    t.tariff_code,
    t.valid_from,
    t.valid_to,
    m.isodow,
    m.minute_of_day,
    t.period,
    t.price_chf_kwh
from {{ ref('dim_tariff') }} t
join minutes m
  on substr(t.weekday_mask, m.isodow, 1) = '1'
 and (
        (t.start_time = t.end_time)
     or (t.start_time < t.end_time
         and m.minute_of_day >= extract(epoch from t.start_time) / 60
         and m.minute_of_day <  extract(epoch from t.end_time) / 60)
     or (t.start_time > t.end_time
         and (m.minute_of_day >= extract(epoch from t.start_time) / 60
              or m.minute_of_day < extract(epoch from t.end_time) / 60))
 )
