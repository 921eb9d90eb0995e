{# Household telemetry per household and hour, from the 15-minute series (buckets never cross a local day). #}
{{ config(
    materialized='incremental', incremental_strategy='append', pre_hook="{{ delete_window() }}",
    indexes=[{'columns': ['household', 'period_start'], 'unique': True}, {'columns': ['local_day']}]
) }}
select
    date_trunc('hour', period_start, {{ platform_tz() }})                                       as period_start,
    local_day,
    date_key,
    apartment_key,
    household,
    avg(consumption_mean_w)                                                                     as consumption_mean_w,
    max(consumption_max_w)                                                                      as consumption_max_w,
    sum(consumption_kwh)                                                                        as consumption_kwh,
    avg(pv_mean_w)                                                                              as pv_mean_w,
    sum(pv_kwh)                                                                                 as pv_kwh,
    sum(battery_charge_kwh)                                                                     as battery_charge_kwh,
    sum(battery_discharge_kwh)                                                                  as battery_discharge_kwh,
    (array_agg(battery_soc_end_pct order by period_start desc)
        filter (where battery_soc_end_pct is not null))[1]                                      as battery_soc_end_pct,
    min(battery_soc_min_pct)                                                                    as battery_soc_min_pct,
    sum(consumption_readings)::bigint                                                           as consumption_readings,
    sum(readings)::bigint                                                                       as readings,
    count(*)                                                                                    as slots
from {{ ref('agg_household_telemetry_15min') }}
where {{ in_window() }}
group by 1, 2, 3, 4, 5
