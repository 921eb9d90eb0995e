{#
  Tests of daily tables take `where: __window__` (local_day) or `__issue_window__` (issue_day): the
  placeholder becomes the run's day window here, at run time, when the vars are known.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set where = where | replace('__window__', in_window('local_day')) | replace('__issue_window__', in_window('issue_day')) -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
