{#
  Silver tables loaded together with sensor_events (sensor_errors, sensor_attributes). They are not
  declared as dbt sources because Dagster maps each source to one asset, and these belong to the
  sensor_events asset: every model reading them also reads source('silver', 'sensor_events').
#}
{% macro silver_companion(table) -%}
    {{ adapter.quote('silver') }}.{{ adapter.quote(table) }}
{%- endmacro %}
