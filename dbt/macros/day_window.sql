{#
  The partition window: local calendar days first_day .. last_day (both included) in the platform's
  time zone, so the 23-hour and 25-hour days at daylight-saving changes are exactly right.
#}
{% macro platform_tz() %}'{{ var("platform_timezone") }}'{% endmacro %}

{% macro window_start() -%}
    ('{{ var("first_day") }}'::date::timestamp at time zone {{ platform_tz() }})
{%- endmacro %}

{% macro window_end() -%}
    (('{{ var("last_day") }}'::date + 1)::timestamp at time zone {{ platform_tz() }})
{%- endmacro %}

{% macro local_day(ts) -%}
    (({{ ts }}) at time zone {{ platform_tz() }})::date
{%- endmacro %}

{% macro date_key(day) -%}
    (to_char({{ day }}, 'YYYYMMDD')::integer)
{%- endmacro %}

{% macro minute_of_day_key(ts, tz=None) -%}
    (extract(hour from ({{ ts }}) at time zone {{ tz or platform_tz() }})::integer * 60
     + extract(minute from ({{ ts }}) at time zone {{ tz or platform_tz() }})::integer)
{%- endmacro %}

{# The time columns of every minute fact: the minute, its local day and the two calendar keys. #}
{% macro minute_columns(ts) -%}
    {{ ts }} as ts,
    {{ local_day(ts) }} as local_day,
    {{ date_key(local_day(ts)) }} as date_key,
    {{ minute_of_day_key(ts) }} as minute_of_day_key
{%- endmacro %}

{# The pre-hook of every daily model: an incremental run first removes the days it rebuilds (same transaction). #}
{% macro delete_window(day_column='local_day') -%}
    {% if is_incremental() %}
        delete from {{ this }}
        where {{ day_column }} between '{{ var("first_day") }}'::date and '{{ var("last_day") }}'::date
    {% endif %}
{%- endmacro %}

{# Tests of daily models look at the window only, so a live run costs the day, not the history. #}
{% macro in_window(day_column='local_day') -%}
    {{ day_column }} between '{{ var("first_day") }}'::date and '{{ var("last_day") }}'::date
{%- endmacro %}
