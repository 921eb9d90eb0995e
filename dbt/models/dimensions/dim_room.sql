select
    r.id            as room_key,
    r.building_id   as apartment_key,
    b.code          as apartment_code,
    r.name,
    r.floor,
    r.area_m2
from {{ source('silver', 'dim_rooms') }} r
join {{ source('silver', 'dim_buildings') }} b on b.id = r.building_id
