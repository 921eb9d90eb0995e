{# A surrogate key that stays the same across rebuilds: 60 bits of the md5 of a natural key. #}
{% macro stable_key(expression) -%}
    (('x' || substr(md5({{ expression }}), 1, 15))::bit(60)::bigint)
{%- endmacro %}
