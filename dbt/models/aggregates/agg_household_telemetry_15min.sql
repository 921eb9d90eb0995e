{#
  Household telemetry (MQTT meters, PV inverters, batteries) per household and 15 minutes: the
  series the optimiser reads. Energy is the slot's mean power x 15 minutes (readings are regular;
  `consumption_readings` tells how well a slot is covered). Battery power > 0 is charging.
  Readings outside their physical bounds (is_outlier) are left out.
#}
{{ config(
    materialized='incremental', incremental_strategy='append', pre_hook="{{ delete_window() }}",
    indexes=[{'columns': ['household', 'period_start'], 'unique': True}, {'columns': ['local_day']},
             {'columns': ['apartment_key', 'period_start']}]
) }}
with readings as (
    select household, measure, ts, value, {{ local_day('ts') }} as local_day
    from {{ source('silver', 'household_telemetry') }}
    where ts >= {{ window_start() }} and ts < {{ window_end() }} and not is_outlier
)
select
    {{ bucket('15min') }}                                                          as period_start,
    r.local_day,
    {{ date_key('r.local_day') }}                                                  as date_key,
    a.apartment_key,
    r.household,
    avg(value) filter (where measure = 'consumption')                              as consumption_mean_w,
    max(value) filter (where measure = 'consumption')                              as consumption_max_w,
    avg(value) filter (where measure = 'consumption') / 4000.0                     as consumption_kwh,
    avg(value) filter (where measure = 'pv_power')                                 as pv_mean_w,
    avg(value) filter (where measure = 'pv_power') / 4000.0                        as pv_kwh,
    avg(greatest(value, 0)) filter (where measure = 'battery_power') / 4000.0      as battery_charge_kwh,
    avg(greatest(-value, 0)) filter (where measure = 'battery_power') / 4000.0     as battery_discharge_kwh,
    (array_agg(value order by ts desc) filter (where measure = 'battery_soc'))[1]  as battery_soc_end_pct,
    min(value) filter (where measure = 'battery_soc')                              as battery_soc_min_pct,
    count(*) filter (where measure = 'consumption')                                as consumption_readings,
    count(*)                                                                       as readings
from readings r
left join {{ ref('dim_apartment') }} a on a.apartment_key::text = r.household or a.code = r.household
group by 1, 2, 3, 4, 5
