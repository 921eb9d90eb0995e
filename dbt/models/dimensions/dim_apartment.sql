-- One row per apartment (pidb building). apartment_key is pidb's id; `code` is the natural key used in files.
select
    b.id                                   as apartment_key,
    b.code,
    b.name,
    bt.name                                as building_type,
    b.city,
    b.timezone,
    b.weather_site,
    {{ stable_key('b.weather_site') }}     as weather_site_key,
    p.tariff_code,
    p.contract_kw,
    p.pv_kwp,
    p.battery_kwh
from {{ source('silver', 'dim_buildings') }} b
left join {{ source('silver', 'dim_building_types') }} bt on bt.id = b.building_type_id
left join {{ source('silver', 'dim_energy_profiles') }} p on p.building_id = b.id
