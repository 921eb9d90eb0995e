{#
  Dashboard aggregates of the minute facts, per 15 minutes, hour or local day, per room or apartment.
  Each is incremental by the same day window as its fact; buckets never cross a local day.
#}
{% macro bucket(grain, ts='ts') -%}
    {%- if grain == '15min' -%} date_bin('15 minutes', {{ ts }}, timestamptz '2000-01-01 00:00:00+00')
    {%- elif grain == 'hour' -%} date_trunc('hour', {{ ts }}, {{ platform_tz() }})
    {%- elif grain == 'day' -%} (local_day::timestamp at time zone {{ platform_tz() }})
    {%- else -%} {{ exceptions.raise_compiler_error("unknown grain " ~ grain) }}
    {%- endif -%}
{%- endmacro %}

{% macro rollup_config(level) -%}
    {{ config(
        materialized='incremental', incremental_strategy='append', pre_hook="{{ delete_window() }}",
        indexes=[{'columns': ['apartment_key', 'room_key', 'period_start'] if level == 'room'
                             else ['apartment_key', 'device_key', 'period_start'] if level == 'device'
                             else ['apartment_key', 'period_start'], 'unique': True},
                 {'columns': ['local_day']}]
    ) }}
{%- endmacro %}

{# The period and the keys of a rollup row, and its grouping. #}
{% macro rollup_keys(level, grain) -%}
    {{ bucket(grain) }} as period_start, local_day, date_key, apartment_key
    {{- ', room_key' if level in ('room', 'device') }}{{ ', device_key' if level == 'device' }}
{%- endmacro %}

{% macro rollup_group(level) -%}
    group by 1, 2, 3, 4{{ ', 5' if level in ('room', 'device') }}{{ ', 6' if level == 'device' }}
{%- endmacro %}

{#
  Device: each device's plug. Room: the plugs of the room's devices. Apartment: the main meter, with the
  plug-metered share.
#}
{% macro energy_rollup(level, grain) -%}
{{ rollup_config(level) }}
{%- set metered = 'is_main_meter' if level == 'apartment' else 'not is_main_meter' %}
select
    {{ rollup_keys(level, grain) }},
    sum(energy_kwh) filter (where {{ metered }})                              as energy_kwh,
    sum(cost_chf) filter (where {{ metered }})                                as cost_chf,
    sum(energy_kwh) filter (where {{ metered }} and tariff_period = 'high')   as energy_high_kwh,
    sum(energy_kwh) filter (where {{ metered }} and tariff_period = 'low')    as energy_low_kwh,
    {% if level == 'apartment' %}sum(energy_kwh) filter (where not is_main_meter) as plugs_energy_kwh,{% endif %}
    avg(power_w) filter (where {{ metered }})                                 as mean_power_w,
    max(power_w) filter (where {{ metered }})                                 as max_power_w,
    count(distinct ts)                                                        as minutes
from {{ ref('fact_energy_minute') }}
where {{ in_window() }}{{ ' and not is_main_meter' if level != 'apartment' }}
    {{- ' and device_key is not null' if level == 'device' }}
{{ rollup_group(level) }}
{%- endmacro %}

{% macro environment_rollup(level, grain) -%}
{{ rollup_config(level) }}
select
    {{ rollup_keys(level, grain) }},
    avg(temperature_c)                                                as temperature_mean_c,
    min(temperature_c)                                                as temperature_min_c,
    max(temperature_c)                                                as temperature_max_c,
    avg(humidity_pct)                                                 as humidity_mean_pct,
    avg(co2_ppm)                                                      as co2_mean_ppm,
    max(co2_ppm)                                                      as co2_max_ppm,
    avg(noise_db)                                                     as noise_mean_db,
    count(distinct ts) filter (where window_open)                     as minutes_window_open,
    count(distinct ts) filter (where is_anomaly)                      as minutes_with_anomaly,
    count(distinct ts)                                                as minutes
from {{ ref('fact_environment_minute') }}
where {{ in_window() }}
{{ rollup_group(level) }}
{%- endmacro %}
