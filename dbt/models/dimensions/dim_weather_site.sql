-- Forecast sites tied to apartments in pidb. Sites the service delivers but pidb does not know stay
-- in Silver (weather_clean.known_site = false) for the reference data to be fixed.
select
    {{ stable_key('b.weather_site') }}     as weather_site_key,
    b.weather_site                         as name,
    count(*)                               as apartments
from {{ source('silver', 'dim_buildings') }} b
where b.weather_site is not null
group by b.weather_site
