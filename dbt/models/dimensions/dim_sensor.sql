-- One row per pidb sensor. The main meter is the sensor of category `consumptions`; plugs meter one device each.
select
    s.id                                          as sensor_key,
    s.external_id,
    s.category,
    s.model,
    s.room_id                                     as room_key,
    s.device_id                                   as device_key,
    r.building_id                                 as apartment_key,
    b.code                                        as apartment_code,
    s.category = 'consumptions'                   as is_main_meter,
    s.category in ('plugs', 'consumptions')       as measures_energy,
    s.installed_at at time zone b.timezone        as installed_at,
    s.removed_at at time zone b.timezone          as removed_at
from {{ source('silver', 'dim_sensors') }} s
join {{ source('silver', 'dim_rooms') }} r on r.id = s.room_id
join {{ source('silver', 'dim_buildings') }} b on b.id = r.building_id
