-- Local wall-clock minutes. On the 25-hour day, 02:00-02:59 occurs twice: facts keep both through `ts`.
select
    m                                     as minute_of_day_key,
    m / 60                                as hour,
    m % 60                                as minute,
    lpad((m / 60)::text, 2, '0') || ':' || lpad((m % 60)::text, 2, '0') as label,
    m / 15                                as quarter_hour_of_day,
    m / 60 between 7 and 19               as is_daytime
from generate_series(0, 1439) m
