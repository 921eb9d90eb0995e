{{ config(
    materialized='incremental', incremental_strategy='append', pre_hook="{{ delete_window() }}",
    indexes=[{'columns': ['sensor_key', 'local_day'], 'unique': True}, {'columns': ['local_day']}]
) }}
-- One row per pidb sensor (device_key when it meters a device) and local day it was installed on.
-- * expected_readings: the minutes of the day (1380 / 1440 / 1500 at daylight-saving changes) while
--   the sensor was installed and up to the newest data of that day (a live day counts up to now).
-- * missing_readings: expected minutes without any reading of the sensor; uptime_pct: the others.
-- * error_count: pidb's device error log (its times are the building's wall clock) plus the
--   error reports inside the sensor files.
-- * battery_min_pct / battery_last_pct: plausible battery readings of the day.
with days as (
    select d::date as local_day,
           d::date::timestamp at time zone {{ platform_tz() }} as starts_at,
           (d::date + 1)::timestamp at time zone {{ platform_tz() }} as ends_at
    from generate_series('{{ var("first_day") }}'::date, '{{ var("last_day") }}'::date, interval '1 day') d
),
events as (
    select e.apartment, e.sensor, e.measure, e.ts, e.value, e.is_outlier, {{ local_day('e.ts') }} as local_day
    from {{ source('silver', 'sensor_events') }} e
    where e.ts >= {{ window_start() }} and e.ts < {{ window_end() }}
),
horizon as (   -- the end of the data each day has so far
    select local_day, max(ts) + interval '1 minute' as observed_until from events group by local_day
),
activity as (
    select apartment, sensor, local_day,
           count(distinct date_trunc('minute', ts))                         as minutes_seen,
           count(*) filter (where is_outlier)                               as outlier_readings,
           min(value) filter (where measure = 'battery' and not is_outlier) as battery_min_pct,
           (array_agg(value order by ts desc) filter (where measure = 'battery' and not is_outlier))[1] as battery_last_pct
    from events
    group by 1, 2, 3
),
feed_errors as (
    select apartment, sensor, {{ local_day('ts') }} as local_day, count(*) as errors
    from {{ silver_companion('sensor_errors') }}
    where ts >= {{ window_start() }} and ts < {{ window_end() }}
    group by 1, 2, 3
),
pidb_errors as (
    select e.sensor_id as sensor_key, (e.occurred_at at time zone b.timezone at time zone {{ platform_tz() }})::date as local_day,
           count(*) as errors
    from {{ source('silver', 'dim_di_errors') }} e
    join {{ source('silver', 'dim_sensors') }} s on s.id = e.sensor_id
    join {{ source('silver', 'dim_rooms') }} r on r.id = s.room_id
    join {{ source('silver', 'dim_buildings') }} b on b.id = r.building_id
    group by 1, 2
),
sensor_days as (
    select s.*, d.local_day,
           greatest(d.starts_at, coalesce(s.installed_at, d.starts_at))                         as from_ts,
           least(d.ends_at, coalesce(s.removed_at, d.ends_at), h.observed_until)                as until_ts
    from {{ ref('dim_sensor') }} s
    cross join days d
    join horizon h on h.local_day = d.local_day
    where coalesce(s.installed_at, d.starts_at) < d.ends_at
      and coalesce(s.removed_at, d.ends_at) > d.starts_at
)
select
    sd.local_day,
    {{ date_key('sd.local_day') }}                                                 as date_key,
    sd.apartment_key,
    sd.room_key,
    sd.device_key,
    sd.sensor_key,
    greatest(ceil(extract(epoch from sd.until_ts - sd.from_ts) / 60), 0)::integer as expected_readings,
    coalesce(a.minutes_seen, 0)                                                    as readings,
    greatest(ceil(extract(epoch from sd.until_ts - sd.from_ts) / 60)
             - coalesce(a.minutes_seen, 0), 0)::integer                           as missing_readings,
    case when sd.until_ts > sd.from_ts
         then round((100.0 * least(coalesce(a.minutes_seen, 0) / (extract(epoch from sd.until_ts - sd.from_ts) / 60), 1))::numeric, 2)
    end::double precision                                                         as uptime_pct,
    coalesce(a.outlier_readings, 0)                                                as outlier_readings,
    coalesce(pe.errors, 0) + coalesce(fe.errors, 0)                                as error_count,
    coalesce(pe.errors, 0)                                                         as pidb_errors,
    coalesce(fe.errors, 0)                                                         as feed_errors,
    a.battery_min_pct,
    a.battery_last_pct
from sensor_days sd
left join activity a on a.apartment = sd.apartment_code and a.sensor = sd.external_id and a.local_day = sd.local_day
left join feed_errors fe on fe.apartment = sd.apartment_code and fe.sensor = sd.external_id and fe.local_day = sd.local_day
left join pidb_errors pe on pe.sensor_key = sd.sensor_key and pe.local_day = sd.local_day
