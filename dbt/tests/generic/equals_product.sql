{# Fails on rows where column_name differs from left x right by more than a rounding error. #}
{% test equals_product(model, column_name, left, right) %}
select {{ column_name }}, {{ left }}, {{ right }} from {{ model }}
where abs(coalesce({{ column_name }}, 0) - coalesce({{ left }} * {{ right }}, 0)) > 1e-9
{% endtest %}
