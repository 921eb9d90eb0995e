select
    d.id                as device_key,
    d.room_id           as room_key,
    r.building_id       as apartment_key,
    d.name,
    d.kind,
    d.nominal_power_w,
    d.shiftable
from {{ source('silver', 'dim_devices') }} d
join {{ source('silver', 'dim_rooms') }} r on r.id = d.room_id
