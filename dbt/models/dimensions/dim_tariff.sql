-- pidb tariff rows as they are: prices and hours are data. start_time = end_time means the whole day;
-- end_time before start_time means the window crosses midnight.
select
    t.id                                     as tariff_key,
    t.tariff_code,
    t.period,
    t.valid_from,
    t.valid_to,
    t.weekday_mask,
    t.start_time,
    t.end_time,
    t.price_chf_kwh::double precision        as price_chf_kwh
from {{ source('silver', 'dim_tariffs') }} t
