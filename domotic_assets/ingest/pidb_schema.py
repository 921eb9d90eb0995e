"""The reference tables of `pidb` as SQLAlchemy tables: the columns the contract fixes
(`contracts.pidb`), for the import that reads them and the simulator that creates them.

The warehouse import selects exactly these columns, never `SELECT *`: a column added to `pidb`
later (personal data, say) is not copied until the contract here says so. `users` is not
part of it at all.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

building_types = sa.Table(
    "building_types",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
)
buildings = sa.Table(
    "buildings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("building_type_id", sa.Integer, sa.ForeignKey("building_types.id")),
    sa.Column("city", sa.String(64)),
    sa.Column("weather_site", sa.String(64)),
    sa.Column("timezone", sa.String(64), nullable=False),
)
rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("floor", sa.Integer),
    sa.Column("area_m2", sa.Float),
)
devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("room_id", sa.Integer, sa.ForeignKey("rooms.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32)),
    sa.Column("nominal_power_w", sa.Float),
    sa.Column("shiftable", sa.Boolean, nullable=False),
)
sensors = sa.Table(
    "sensors",
    metadata,
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
    "di_errors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sensor_id", sa.Integer, sa.ForeignKey("sensors.id"), nullable=False),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("message", sa.String(255)),
)
energy_profiles = sa.Table(
    "energy_profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id"), nullable=False),
    sa.Column("tariff_code", sa.String(32), nullable=False),
    sa.Column("contract_kw", sa.Float),
    sa.Column("pv_kwp", sa.Float),
    sa.Column("battery_kwh", sa.Float),
)
tariffs = sa.Table(
    "tariffs",
    metadata,
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
    "parameters",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(64), nullable=False),
    sa.Column("valid_from", sa.Date, primary_key=True),
)
occupancy_roles = sa.Table(
    "occupancy_roles",
    metadata,
    sa.Column("building_id", sa.Integer, sa.ForeignKey("buildings.id"), primary_key=True),
    sa.Column("role", sa.String(16), primary_key=True),
    sa.Column("login", sa.String(64), primary_key=True),
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("valid_to", sa.Date),  # exclusive; null: open
)
