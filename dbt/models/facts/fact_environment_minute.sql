{{ config(
    materialized='incremental', incremental_strategy='append', pre_hook="{{ delete_window() }}",
    indexes=[{'columns': ['room_key', 'ts'], 'unique': True}, {'columns': ['local_day']},
             {'columns': ['apartment_key', 'ts']}]
) }}
-- One row per room and minute with any indoor reading. Each measure is the mean of the room's
-- plausible readings of that minute (climate station, motion and humidity sensors alike);
-- outliers never enter a measure: they set is_anomaly instead, as does a room the anomaly model flagged
-- (gold.anomalies, written by the ML assets: a rebuild of the day keeps their flags). window_open / door_open: any contact
-- of that kind open (the kind a door sensor reports in the feed; unknown kinds count as doors).
with kinds as (
    select distinct on (apartment, sensor) apartment, sensor, value as kind
    from {{ silver_companion('sensor_attributes') }}
    where attribute = 'kind' and partition_day <= '{{ var("last_day") }}'::date
    order by apartment, sensor, partition_day desc
),
readings as (
    select e.apartment, e.sensor, e.measure, date_trunc('minute', e.ts) as ts, e.value, e.is_outlier
    from {{ source('silver', 'sensor_events') }} e
    where e.category in ('meteos', 'humidities', 'motions', 'doors')
      and e.measure in ('temperature', 'humidity', 'co2', 'noise', 'open')
      and e.ts >= {{ window_start() }} and e.ts < {{ window_end() }}
)
select
    {{ minute_columns('r.ts') }},
    s.apartment_key,
    s.room_key,
    avg(r.value) filter (where r.measure = 'temperature' and not r.is_outlier)     as temperature_c,
    avg(r.value) filter (where r.measure = 'humidity' and not r.is_outlier)        as humidity_pct,
    avg(r.value) filter (where r.measure = 'co2' and not r.is_outlier)             as co2_ppm,
    avg(r.value) filter (where r.measure = 'noise' and not r.is_outlier)           as noise_db,
    bool_or(r.value > 0.5) filter (where r.measure = 'open' and not r.is_outlier
                                     and k.kind = 'window')                       as window_open,
    bool_or(r.value > 0.5) filter (where r.measure = 'open' and not r.is_outlier
                                     and k.kind is distinct from 'window')        as door_open,
    bool_or(r.is_outlier) or exists (
        select 1 from {{ adapter.quote('gold') }}.{{ adapter.quote('anomalies') }} a
        where a.kind = 'room' and a.room_key = s.room_key and r.ts >= a.period_start and r.ts < a.period_end
    )                                                                              as is_anomaly,
    count(*)                                                                       as readings
from readings r
join {{ ref('dim_sensor') }} s on s.external_id = r.sensor and s.apartment_code = r.apartment
left join kinds k on k.apartment = r.apartment and k.sensor = r.sensor
group by r.ts, s.apartment_key, s.room_key
