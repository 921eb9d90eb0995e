{{ config(
    materialized='incremental', incremental_strategy='append', pre_hook="{{ delete_window('issue_day') }}",
    indexes=[{'columns': ['weather_site_key', 'horizon_key', 'date_key'], 'unique': True}, {'columns': ['issue_day']}]
) }}
-- One row per forecast site, horizon day and local day: the forecast issued `lead_days` before that day.
-- A daily partition is the issue day of the file (as silver.weather_clean). radiation_wh_m2 sums the
-- hourly mean irradiance (W/m2 x 1 h); hours_covered says how much of the local day the issue reaches.
-- Sites unknown to pidb are left in Silver (known_site = false).
with values_ as (
    select w.site, w.issue_day, w.measure, w.valid_ts, w.value,
           {{ local_day('w.valid_ts') }} as local_day
    from {{ source('silver', 'weather_clean') }} w
    where w.known_site
      and w.issue_day between '{{ var("first_day") }}'::date and '{{ var("last_day") }}'::date
      and w.measure in ('air_temperature', 'relative_humidity', 'precipitation', 'global_radiation')
)
select
    v.issue_day,
    v.local_day,
    {{ date_key('v.local_day') }}                                                    as date_key,
    {{ stable_key('v.site') }}                                                       as weather_site_key,
    h.horizon_key,
    v.local_day - v.issue_day                                                        as lead_days,
    min(v.value) filter (where v.measure = 'air_temperature')                        as temperature_min_c,
    avg(v.value) filter (where v.measure = 'air_temperature')                        as temperature_mean_c,
    max(v.value) filter (where v.measure = 'air_temperature')                        as temperature_max_c,
    avg(v.value) filter (where v.measure = 'relative_humidity')                      as humidity_mean_pct,
    sum(v.value) filter (where v.measure = 'precipitation')                          as precipitation_mm,
    sum(v.value) filter (where v.measure = 'global_radiation')                       as radiation_wh_m2,
    count(distinct v.valid_ts)                                                       as hours_covered
from values_ v
join {{ ref('dim_horizon') }} h on h.lead_days = v.local_day - v.issue_day
group by v.issue_day, v.local_day, v.site, h.horizon_key
