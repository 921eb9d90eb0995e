"""The simulated building-management database `pidb` (shared/contracts/pidb.md).

Written through SQLAlchemy, so the same code fills a SQLite file or a MySQL/MariaDB database.
`users` holds fake personal data on purpose: the warehouse import must never read it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import sqlalchemy as sa

from domotic_assets.simulator.apartments import Apartment

metadata = sa.MetaData()

building_types = sa.Table(
    "building_types", metadata,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(64), nullable=False),
)
buildings = sa.Table(
    "buildings", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("building_type_id", sa.Integer, sa.ForeignKey("building_types.id")),
    sa.Column("city", sa.String(64)),
    sa.Column("weather_site", sa.String(64)),
    sa.Column("timezone", sa.String(64), nullable=False),
)
rooms = sa.Table(
    "rooms", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("floor", sa.Integer),
    sa.Column("area_m2", sa.Float),
)
devices = sa.Table(
    "devices", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("room_id", sa.Integer, sa.ForeignKey("rooms.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32)),
    sa.Column("nominal_power_w", sa.Float),
    sa.Column("shiftable", sa.Boolean, nullable=False),
)
sensors = sa.Table(
    "sensors", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("external_id", sa.String(32), nullable=False, unique=True),
    sa.Column("room_id", sa.Integer, sa.ForeignKey("rooms.id"), nullable=False),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id")),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("model", sa.String(64)),
    sa.Column("installed_at", sa.DateTime),
    sa.Column("removed_at", sa.DateTime),
)
di_errors = sa.Table(
    "di_errors", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sensor_id", sa.Integer, sa.ForeignKey("sensors.id"), nullable=False),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("message", sa.String(255)),
)
energy_profiles = sa.Table(
    "energy_profiles", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id"), nullable=False),
    sa.Column("tariff_code", sa.String(32), nullable=False),
    sa.Column("contract_kw", sa.Float),
    sa.Column("pv_kwp", sa.Float),
    sa.Column("battery_kwh", sa.Float),
)
tariffs = sa.Table(
    "tariffs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tariff_code", sa.String(32), nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date),
    sa.Column("period", sa.String(8), nullable=False),
    sa.Column("weekday_mask", sa.String(7), nullable=False),
    sa.Column("start_time", sa.Time, nullable=False),
    sa.Column("end_time", sa.Time, nullable=False),
    sa.Column("price_chf_kwh", sa.Numeric(8, 4), nullable=False),
)
parameters = sa.Table(
    "parameters", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(64), nullable=False),
    sa.Column("valid_from", sa.Date, primary_key=True),
)
occupancy_roles = sa.Table(
    "occupancy_roles", metadata,
    sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id"), primary_key=True),
    sa.Column("role", sa.String(16), primary_key=True),
    sa.Column("login", sa.String(64), nullable=False),
)
users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id")),
    sa.Column("first_name", sa.String(64)),
    sa.Column("last_name", sa.String(64)),
    sa.Column("email", sa.String(128)),
    sa.Column("phone", sa.String(32)),
    sa.Column("birth_date", sa.Date),
)

REFERENCE_TABLES = (
    "building_types", "buildings", "rooms", "devices", "sensors",
    "di_errors", "energy_profiles", "tariffs", "parameters", "occupancy_roles",
)
"""The ten tables the warehouse imports. `users` is deliberately not among them."""

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
    ("stuck_sensor_hours", "3", date(2023, 1, 1)),
    ("battery_low_pct", "20", date(2023, 1, 1)),
]

_FIRST = ["Léa", "Noah", "Chloé", "Luca", "Emma", "Matteo", "Zoé", "Elias"]
_LAST = ["Favre", "Bonvin", "Rey", "Zufferey", "Fournier", "Carron", "Berclaz", "Pralong"]


def write_pidb(url: str, apartments: list[Apartment], start: date, seed: int) -> None:
    """Create (or re-create) every pidb table and fill it for these apartments."""
    engine = sa.create_engine(url)
    rng = np.random.default_rng([seed, 7])
    rows: dict[str, list[dict]] = {t.name: [] for t in metadata.sorted_tables}
    rows["building_types"].append({"id": 1, "name": "apartment"})
    rows["parameters"] = [dict(zip(("name", "value", "valid_from"), r)) for r in PARAMETER_ROWS]
    rows["tariffs"] = [
        dict(zip(("id", "tariff_code", "valid_from", "valid_to", "period", "weekday_mask", "start_time", "end_time", "price_chf_kwh"), (i, *r)))
        for i, r in enumerate(TARIFF_ROWS, 1)
    ]
    room_id = device_id = sensor_id = error_id = user_id = 0
    installed = datetime.combine(start - timedelta(days=200), time(9))
    for b_id, apt in enumerate(apartments, 1):
        rows["buildings"].append({
            "id": b_id, "code": apt.code, "name": apt.name, "building_type_id": 1,
            "city": apt.city, "weather_site": apt.weather_site, "timezone": apt.timezone,
        })
        rows["energy_profiles"].append({
            "id": b_id, "building_id": b_id, "tariff_code": apt.tariff_code, "contract_kw": 13.0,
            "pv_kwp": apt.pv_kwp, "battery_kwh": apt.battery_kwh,
        })
        for role in ("owner", "renter"):
            rows["occupancy_roles"].append({"building_id": b_id, "role": role, "login": f"acct-{rng.integers(16**8):08x}"})
        room_ids = {}
        for room in apt.rooms:
            room_id += 1
            room_ids[room.name] = room_id
            rows["rooms"].append({"id": room_id, "building_id": b_id, "name": room.name, "floor": room.floor, "area_m2": room.area_m2})
        device_ids = {}
        for dev in apt.devices:
            device_id += 1
            device_ids[dev.name] = device_id
            rows["devices"].append({
                "id": device_id, "room_id": room_ids[dev.room], "name": dev.name, "kind": dev.kind,
                "nominal_power_w": dev.nominal_power_w, "shiftable": dev.shiftable,
            })
        for sensor in apt.sensors:
            sensor_id += 1
            rows["sensors"].append({
                "id": sensor_id, "external_id": sensor.external_id, "room_id": room_ids[sensor.room],
                "device_id": device_ids.get(sensor.device), "category": sensor.category, "model": sensor.model,
                "installed_at": installed, "removed_at": None,
            })
            for _ in range(int(rng.poisson(1.5))):
                error_id += 1
                rows["di_errors"].append({
                    "id": error_id, "sensor_id": sensor_id,
                    "occurred_at": installed + timedelta(minutes=int(rng.integers(60 * 24 * 190))),
                    "code": str(rng.choice(["COMM_TIMEOUT", "BATTERY_LOW", "REBOOT"])), "message": "from maintenance log",
                })
        for _person in apt.people:
            user_id += 1
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            rows["users"].append({
                "id": user_id, "building_id": b_id, "first_name": str(first), "last_name": str(last),
                "email": f"{first}.{last}@example.ch".lower(), "phone": f"+41 79 {rng.integers(100, 999)} {rng.integers(10, 99)} {rng.integers(10, 99)}",
                "birth_date": date(1960, 1, 1) + timedelta(days=int(rng.integers(15000))),
            })
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if rows[table.name]:
                conn.execute(table.insert(), rows[table.name])
    engine.dispose()
