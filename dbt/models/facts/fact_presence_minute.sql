{{ config(
    materialized='incremental', incremental_strategy='append', pre_hook="{{ delete_window() }}",
    indexes=[{'columns': ['room_key', 'ts'], 'unique': True}, {'columns': ['local_day']},
             {'columns': ['apartment_key', 'ts']}]
) }}
-- One row per room with a motion sensor and per minute of the day, up to the newest reading of its
-- apartment (a live day stops at "now", nothing is invented ahead).
-- Rule (thresholds from pidb `parameters`, the row valid on that day):
--   motions_in_window = motion detections in the room over the last presence_motion_window_min minutes
--   co2_rise_ppm      = the room's CO2 now minus its lowest level over the last presence_co2_window_min
--                       minutes (people asleep do not move, but they breathe); 0 without a CO2 sensor
--   evidence          = motions_in_window / presence_motion_min_count + co2_rise_ppm / presence_co2_rise_ppm
--                       (the CO2 term only when both CO2 parameters exist)
--   presence_flag     = evidence >= 1: enough motion, enough CO2 rise, or some of each
--   presence_prob     = 1 - 0.5 ^ evidence: 0 with no evidence, 0.5 exactly at the threshold, towards 1
--                       with more. A score, not calibrated: the presence model's probability goes to
--                       fact_prediction.
{#- The CO2 look-back of the window's days, read from pidb's parameters when the model runs: each becomes a
    sliding minimum over the room's minutes (a window frame needs its length written in the SQL). At parse
    time there is no warehouse to ask, and any length parses the same. -#}
{%- set co2_windows = [60] -%}
{%- if execute -%}
  {%- set found = run_query("select distinct (select p.value::double precision::integer from "
      ~ source('silver', 'dim_parameters') ~ " p where p.name = 'presence_co2_window_min' and p.valid_from <= d::date"
      ~ " order by p.valid_from desc limit 1) from generate_series('" ~ var('first_day') ~ "'::date, '"
      ~ var('last_day') ~ "'::date, interval '1 day') d") -%}
  {%- set co2_windows = found.columns[0].values() | reject('none') | map('int') | list -%}
{%- endif %}
with params as (
    select name, value::double precision as value, valid_from
    from {{ source('silver', 'dim_parameters') }}
    where name like 'presence\_%'
),
days as (
    select d::date as local_day,
    {%- for name in ['presence_motion_window_min', 'presence_motion_min_count', 'presence_co2_rise_ppm', 'presence_co2_window_min'] %}
           (select p.value from params p where p.name = '{{ name }}' and p.valid_from <= d::date
             order by p.valid_from desc limit 1) as {{ name | replace('presence_', '') }}{{ ',' if not loop.last }}
    {%- endfor %}
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
room_readings as (
    select s.room_key, date_trunc('minute', e.ts) as ts, e.measure, e.value
    from {{ source('silver', 'sensor_events') }} e
    join {{ ref('dim_sensor') }} s on s.external_id = e.sensor and s.apartment_code = e.apartment
    where ((e.category = 'motions' and e.measure = 'motion') or e.measure = 'co2') and not e.is_outlier
      and e.ts >= {{ window_start() }} - interval '1 day' and e.ts < {{ window_end() }}
),
per_minute as (
    select room_key, ts,
           count(*) filter (where measure = 'motion' and value > 0.5) as motion_count,
           count(*) filter (where measure = 'motion')                 as readings,
           avg(value) filter (where measure = 'co2')                  as co2_ppm
    from room_readings
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
    select g.apartment_key, g.room_key, g.ts, p.co2_ppm,
           coalesce(p.motion_count, 0) as motion_count,
           coalesce(p.readings, 0) as readings,
           sum(coalesce(p.motion_count, 0)) over (partition by g.room_key order by g.ts) as cumulative
           {%- for minutes in co2_windows %},
           min(p.co2_ppm) over (partition by g.room_key order by g.ts
                                range between interval '{{ minutes }} minutes' preceding and current row) as co2_low_{{ minutes }}
           {%- endfor %}
    from grid g
    left join per_minute p on p.room_key = g.room_key and p.ts = g.ts
),
in_window as (   -- the window's minutes with their day's thresholds and look-back instants
    select r.*, d.motion_min_count, d.co2_rise_ppm as co2_threshold, d.co2_window_min,
           r.ts - d.motion_window_min::integer * interval '1 minute' as motion_from
    from running r
    join days d on d.local_day = {{ local_day('r.ts') }}
    where r.ts >= {{ window_start() }}
),
co2_rise as (   -- the room's CO2 now above its lowest level over the day's look-back
    select w.*,
           {% if co2_windows -%}
           w.co2_ppm - case w.co2_window_min::integer
               {%- for minutes in co2_windows %} when {{ minutes }} then w.co2_low_{{ minutes }}{% endfor %} end
           {%- else %}null::double precision{% endif %} as rise_ppm
    from in_window w
),
evidence as (
    select w.*,
           (w.cumulative - coalesce(before.cumulative, 0))::integer as motions_in_window,
           coalesce(w.rise_ppm, 0) as co2_rise_ppm,
           (w.cumulative - coalesce(before.cumulative, 0)) / w.motion_min_count
             + coalesce(w.rise_ppm / w.co2_threshold, 0) as score
    from co2_rise w
    left join running before on before.room_key = w.room_key and before.ts = w.motion_from
)
select
    {{ minute_columns('ts') }},
    apartment_key,
    room_key,
    motion_count,
    readings,
    motions_in_window,
    co2_rise_ppm,
    score >= 1                                                     as presence_flag,
    1 - power(0.5, score)                                          as presence_prob
from evidence
