{#
  Tariff data check: on every day where a tariff's rows change (a row starts or ends), the rows valid that day
  cover each minute of the week (7 x 1440) exactly once. Rows may change one at a time: a new price for the
  weekend only leaves the working-day rows as they were.
#}
{% test covers_every_minute_once(model) %}
with boundaries as (
    select tariff_code, valid_from as day from {{ model }}
    union
    select tariff_code, valid_to from {{ model }} where valid_to is not null
),
covered as (
    select b.tariff_code, b.day, m.isodow, m.minute_of_day, count(*) as rows_covering
    from boundaries b
    join {{ model }} m
      on m.tariff_code = b.tariff_code and m.valid_from <= b.day and (m.valid_to is null or b.day < m.valid_to)
    group by 1, 2, 3, 4
)
select tariff_code, day, count(*) as minutes_covered, max(rows_covering) as most_rows_on_one_minute
from covered
group by tariff_code, day
having count(*) <> 10080 or max(rows_covering) > 1
{% endtest %}
