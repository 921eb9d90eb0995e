{{ config(
    materialized='incremental', incremental_strategy='append', pre_hook="{{ delete_window() }}",
    indexes=[{'columns': ['room_key', 'ts'], 'unique': True}, {'columns': ['local_day']}]
) }}
-- One row per room with a motion sensor and per minute of the day, up to the newest reading of its
-- apartment (a live day stops at "now", nothing is invented ahead).
-- Rule (thresholds from pidb `parameters`, the row valid on that day):
--   motions_in_window = motion detections in the room over the last presence_motion_window_min minutes
--   presence_flag     = motions_in_window >= presence_motion_min_count
--   presence_prob     = 1 - 0.5 ^ (motions_in_window / presence_motion_min_count): 0 with no motion,
--                       0.5 exactly at the threshold, towards 1 with more. A score, not calibrated:
--                       the presence model's calibrated probability goes to fact_prediction.
with params as (
    select name, value::double precision as value, valid_from
    from {{ source('silver', 'dim_parameters') }}
    where name in ('presence_motion_window_min', 'presence_motion_min_count')
),
days as (
    select d::date as local_day,
           (select p.value from params p where p.name = 'presence_motion_window_min' and p.valid_from <= d::date
             order by p.valid_from desc limit 1)::integer as window_min,
           (select p.value from params p where p.name = 'presence_motion_min_count' and p.valid_from <= d::date
             order by p.valid_from desc limit 1) as min_count
    from generate_series('{{ var("first_day") }}'::date - 1, '{{ var("last_day") }}'::date, interval '1 day') d
),
motion_rooms as (
    select distinct s.apartment_key, s.apartment_code, s.room_key
    from {{ ref('dim_sensor') }} s where s.category = 'motions'
),
observed as (   -- how far each apartment's data reaches, so a live day is not padded with absent minutes
    select apartment, date_trunc('minute', min(ts)) as first_ts, max(ts) as last_ts
    from {{ source('silver', 'sensor_events') }}
    where ts >= {{ window_start() }} - interval '1 day' and ts < {{ window_end() }}
    group by apartment
),
motions as (
    select e.apartment, e.sensor, date_trunc('minute', e.ts) as ts, e.value
    from {{ source('silver', 'sensor_events') }} e
    where e.category = 'motions' and e.measure = 'motion' and not e.is_outlier
      and e.ts >= {{ window_start() }} - interval '1 day' and e.ts < {{ window_end() }}
),
per_minute as (
    select s.room_key, m.ts, count(*) filter (where m.value > 0.5) as motion_count, count(*) as readings
    from motions m
    join {{ ref('dim_sensor') }} s on s.external_id = m.sensor and s.apartment_code = m.apartment
    group by 1, 2
),
grid as (   -- every minute from a day before the window (the look-back), or the data's start, to its end
    select r.apartment_key, r.room_key, g.ts
    from motion_rooms r
    join observed o on o.apartment = r.apartment_code
    cross join lateral generate_series(greatest({{ window_start() }} - interval '1 day', o.first_ts),
                                       least(o.last_ts, {{ window_end() }} - interval '1 minute'),
                                       interval '1 minute') g(ts)
),
running as (
    select g.apartment_key, g.room_key, g.ts, coalesce(p.motion_count, 0) as motion_count,
           coalesce(p.readings, 0) as readings,
           sum(coalesce(p.motion_count, 0)) over (partition by g.room_key order by g.ts) as cumulative
    from grid g
    left join per_minute p on p.room_key = g.room_key and p.ts = g.ts
),
windowed as (
    select r.*, d.window_min, d.min_count,
           r.cumulative - coalesce(before.cumulative, 0) as motions_in_window
    from running r
    join days d on d.local_day = {{ local_day('r.ts') }}
    left join running before
           on before.room_key = r.room_key and before.ts = r.ts - d.window_min * interval '1 minute'
    where r.ts >= {{ window_start() }}
)
select
    ts,
    {{ local_day('ts') }}                                          as local_day,
    {{ date_key(local_day('ts')) }}                                as date_key,
    {{ minute_of_day_key('ts') }}                                  as minute_of_day_key,
    apartment_key,
    room_key,
    motion_count,
    readings,
    motions_in_window,
    motions_in_window >= min_count                                 as presence_flag,
    1 - power(0.5, motions_in_window / min_count)                  as presence_prob
from windowed
