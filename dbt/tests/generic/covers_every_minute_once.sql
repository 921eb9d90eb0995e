{# Tariff data check: each tariff's week (7 x 1440 minutes) is covered by exactly one row per validity period. #}
{% test covers_every_minute_once(model) %}
select tariff_code, valid_from, count(*) as minutes_covered, count(distinct (isodow, minute_of_day)) as distinct_minutes
from {{ model }}
group by tariff_code, valid_from
having count(*) <> 10080 or count(distinct (isodow, minute_of_day)) <> 10080
{% endtest %}
