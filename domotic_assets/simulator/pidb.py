"""The simulated building-management database `pidb` (shared/contracts/pidb.md).

Written through SQLAlchemy, so the same code fills a SQLite file or a MySQL/MariaDB database.
`users` holds fake personal data on purpose: the warehouse import must never read it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import sqlalchemy as sa

from domotic_assets.contracts.pidb import REFERENCE_TABLES
from domotic_assets.ingest.pidb_schema import metadata
from domotic_assets.simulator.apartments import Apartment

personal_metadata = sa.MetaData()
"""Tables of people: written by the simulator, never read by the platform."""

users = sa.Table(
    "users",
    personal_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("building_id", sa.Integer),
    sa.Column("first_name", sa.String(64)),
    sa.Column("last_name", sa.String(64)),
    sa.Column("email", sa.String(128)),
    sa.Column("phone", sa.String(32)),
    sa.Column("birth_date", sa.Date),
)

# A Valais household double tariff (energy part, VAT included), in the shape of the
# time-of-use offers of the region's utilities: high tariff on working days 07:00-20:00,
# low tariff at night and all weekend. The 2023 and 2024 price levels follow the public
# ElCom tariff tables for Sion-area household profiles (H4), rounded; they are data, never code.
TARIFF_ROWS = [
    # code, valid_from, valid_to, period, mask, start, end, price
    ("OIKEN-DT", date(2023, 1, 1), date(2024, 1, 1), "high", "1111100", time(7), time(20), 0.3320),
    ("OIKEN-DT", date(2023, 1, 1), date(2024, 1, 1), "low", "1111100", time(20), time(7), 0.2480),
    ("OIKEN-DT", date(2023, 1, 1), date(2024, 1, 1), "low", "0000011", time(0), time(0), 0.2480),
    ("OIKEN-DT", date(2024, 1, 1), None, "high", "1111100", time(7), time(20), 0.3190),
    ("OIKEN-DT", date(2024, 1, 1), None, "low", "1111100", time(20), time(7), 0.2390),
    ("OIKEN-DT", date(2024, 1, 1), None, "low", "0000011", time(0), time(0), 0.2390),
]
"""`start_time == end_time` means the whole day; a window with end before start crosses midnight."""

PARAMETER_ROWS = [
    ("presence_motion_window_min", "15", date(2023, 1, 1)),
    ("presence_motion_min_count", "2", date(2023, 1, 1)),
    ("presence_co2_rise_ppm", "80", date(2023, 1, 1)),
    ("presence_co2_window_min", "60", date(2023, 1, 1)),
    ("stuck_sensor_hours", "3", date(2023, 1, 1)),
    ("battery_low_pct", "20", date(2023, 1, 1)),
    ("feed_in_chf_kwh", "0.10", date(2023, 1, 1)),
]
FEED_IN_CHF_KWH = 0.10
"""What the utility pays per kWh fed in (the `feed_in_chf_kwh` parameter above), a Valais-level
buy-back rate for small PV in 2023; like the tariffs, a demo value to be replaced by the operator's."""

_FIRST = ["Léa", "Noah", "Chloé", "Luca", "Emma", "Matteo", "Zoé", "Elias"]
_LAST = ["Favre", "Bonvin", "Rey", "Zufferey", "Fournier", "Carron", "Berclaz", "Pralong"]


def occupancy_roles(building_id: int, start: date, days: int, logins: np.random.Generator) -> list[dict]:
    """An owner since long before, and two renters in turn, the second moving in halfway through the
    simulated days: the day after the first moves out in every other apartment, so that some apartments
    stand empty for a day (an owner sees its presence then, and only then)."""
    change = start + timedelta(days=max(1, days // 2))
    vacancy = timedelta(days=building_id % 2 == 0)

    def login() -> str:
        return f"acct-{logins.integers(16**8):08x}"

    return [
        {
            "building_id": building_id,
            "role": "owner",
            "login": login(),
            "valid_from": start - timedelta(days=3 * 365),
            "valid_to": None,
        },
        {
            "building_id": building_id,
            "role": "renter",
            "login": login(),
            "valid_from": start - timedelta(days=400),
            "valid_to": change,
        },
        {
            "building_id": building_id,
            "role": "renter",
            "login": login(),
            "valid_from": change + vacancy,
            "valid_to": None,
        },
    ]


def write_pidb(url: str, apartments: list[Apartment], start: date, seed: int, days: int = 7) -> None:
    """Create (or re-create) every pidb table and fill it for these apartments."""
    engine = sa.create_engine(url)
    rng = np.random.default_rng([seed, 7])
    logins = np.random.default_rng([seed, 11])
    rows: dict[str, list[dict]] = {name: [] for name in (*REFERENCE_TABLES, "users")}
    rows["building_types"].append({"id": 1, "name": "apartment"})
    rows["parameters"] = [dict(zip(("name", "value", "valid_from"), r)) for r in PARAMETER_ROWS]
    rows["tariffs"] = [
        dict(
            zip(
                (
                    "id",
                    "tariff_code",
                    "valid_from",
                    "valid_to",
                    "period",
                    "weekday_mask",
                    "start_time",
                    "end_time",
                    "price_chf_kwh",
                ),
                (i, *r),
            )
        )
        for i, r in enumerate(TARIFF_ROWS, 1)
    ]
    room_id = device_id = sensor_id = error_id = user_id = 0
    installed = datetime.combine(start - timedelta(days=200), time(9))
    for b_id, apt in enumerate(apartments, 1):
        rows["buildings"].append(
            {
                "id": b_id,
                "code": apt.code,
                "name": apt.name,
                "building_type_id": 1,
                "city": apt.city,
                "weather_site": apt.weather_site,
                "timezone": apt.timezone,
            }
        )
        rows["energy_profiles"].append(
            {
                "id": b_id,
                "building_id": b_id,
                "tariff_code": apt.tariff_code,
                "contract_kw": 13.0,
                "pv_kwp": apt.pv_kwp,
                "battery_kwh": apt.battery_kwh,
            }
        )
        rows["occupancy_roles"] += occupancy_roles(b_id, start, days, logins)
        room_ids = {}
        for room in apt.rooms:
            room_id += 1
            room_ids[room.name] = room_id
            rows["rooms"].append(
                {
                    "id": room_id,
                    "building_id": b_id,
                    "name": room.name,
                    "floor": room.floor,
                    "area_m2": room.area_m2,
                }
            )
        device_ids = {}
        for dev in apt.devices:
            device_id += 1
            device_ids[dev.name] = device_id
            rows["devices"].append(
                {
                    "id": device_id,
                    "room_id": room_ids[dev.room],
                    "name": dev.name,
                    "kind": dev.kind,
                    "nominal_power_w": dev.nominal_power_w,
                    "shiftable": dev.shiftable,
                }
            )
        for sensor in apt.sensors:
            sensor_id += 1
            rows["sensors"].append(
                {
                    "id": sensor_id,
                    "external_id": sensor.external_id,
                    "room_id": room_ids[sensor.room],
                    "device_id": device_ids.get(sensor.device),
                    "category": sensor.category,
                    "model": sensor.model,
                    "installed_at": installed,
                    "removed_at": None,
                }
            )
            for _ in range(int(rng.poisson(1.5))):
                error_id += 1
                rows["di_errors"].append(
                    {
                        "id": error_id,
                        "sensor_id": sensor_id,
                        "occurred_at": installed + timedelta(minutes=int(rng.integers(60 * 24 * 190))),
                        "code": str(rng.choice(["COMM_TIMEOUT", "BATTERY_LOW", "REBOOT"])),
                        "message": "from maintenance log",
                    }
                )
        for _person in apt.people:
            user_id += 1
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            rows["users"].append(
                {
                    "id": user_id,
                    "building_id": b_id,
                    "first_name": str(first),
                    "last_name": str(last),
                    "email": f"{first}.{last}@example.ch".lower(),
                    "phone": f"+41 79 {rng.integers(100, 999)} {rng.integers(10, 99)} {rng.integers(10, 99)}",
                    "birth_date": date(1960, 1, 1) + timedelta(days=int(rng.integers(15000))),
                }
            )
    personal_metadata.drop_all(engine)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    personal_metadata.create_all(engine)
    with engine.begin() as conn:
        for table in (*metadata.sorted_tables, users):
            if rows[table.name]:
                conn.execute(table.insert(), rows[table.name])
    engine.dispose()
