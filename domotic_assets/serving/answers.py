"""The shapes of the API's answers, for its OpenAPI document, and how a series answer is put together.

A series' points are JSON already, built by PostgreSQL (`warehouse/api_queries.py`), so a route answers with
`document(...)` and these models only describe it; the schemathesis test checks every answer against them.
Times are ISO 8601 in the apartment's time zone, with its offset."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import Response
from pydantic import BaseModel, Field


def document(fields: dict[str, Any], **series: str) -> Response:
    """A JSON answer: `fields` (small values, times already ISO text) followed by each series' JSON text."""
    head = json.dumps(fields)[:-1]
    tail = "".join(f', "{name}": {text}' for name, text in series.items())
    return Response(head + tail + "}", media_type="application/json")


class ScheduleDay(BaseModel):
    schedule_id: str
    day: date
    status: str
    battery_mode: str | None = Field(
        description="plan: its setpoints are sent; rule: the battery runs the rule"
    )
    cost_rule_based_chf: float | None
    cost_sent_chf: float | None = Field(description="The day's cost with what the controller sends")
    savings_vs_rule_based_pct: float | None


class Schedules(BaseModel):
    apartment: str
    days: list[ScheduleDay]


class Room(BaseModel):
    room: int
    name: str | None


class Device(BaseModel):
    device: int
    name: str | None
    kind: str | None
    room: int | None


class Apartment(BaseModel):
    code: str
    key: int
    name: str | None
    timezone: str
    rooms: list[Room]
    devices: list[Device]


class LatestPoint(BaseModel):
    ts: datetime
    consumption_w: float | None = Field(description="Mean consumption over the quarter-hour")
    pv_w: float | None = Field(description="Mean PV production")
    battery_soc_pct: float | None = Field(description="Battery state of charge at the quarter-hour's end")
    battery_charge_kwh: float | None
    battery_discharge_kwh: float | None
    meter_kwh: float | None = Field(description="Energy through the main meter")


class Latest(BaseModel):
    household: str
    apartment: str
    last_reading_at: datetime | None
    points: list[LatestPoint]


class EnergyPoint(BaseModel):
    ts: datetime
    kwh: float | None
    chf: float | None
    kwh_high: float | None = Field(description="kWh at the high tariff")
    kwh_low: float | None = Field(description="kWh at the low tariff")
    plugs_kwh: float | None = Field(
        None, description="For the apartment: what its plugs measured (the rest is not metered by a plug)"
    )


class Energy(BaseModel):
    apartment: str
    room: int | None
    device: int | None
    grain: str
    from_: datetime = Field(alias="from")
    to: datetime
    points: list[EnergyPoint]


class DevicePoint(BaseModel):
    ts: datetime
    device: int
    kwh: float | None
    chf: float | None


class DeviceTotal(BaseModel):
    device: int
    name: str | None
    kwh: float | None
    chf: float | None


class UnmeteredPoint(BaseModel):
    ts: datetime
    kwh: float | None = Field(description="The main meter minus the plugs: what no plug measured")
    chf: float | None


class EnergyByDevice(BaseModel):
    apartment: str
    room: int | None
    grain: str
    from_: datetime = Field(alias="from")
    to: datetime
    devices: list[DeviceTotal] = Field(description="Each device's total over the range, costliest first")
    points: list[DevicePoint]
    unmetered: list[UnmeteredPoint] = Field(description="For the whole apartment only")


class EnvironmentPoint(BaseModel):
    ts: datetime
    temperature_c: float | None
    humidity_pct: float | None
    co2_ppm: float | None
    co2_max_ppm: float | None
    noise_db: float | None
    window_open_minutes: int | None


class Opening(BaseModel):
    room: int
    kind: str = Field(description="window or door")
    from_: datetime = Field(alias="from", description="The first open minute")
    to: datetime = Field(description="The minute after the last open one")


class Anomaly(BaseModel):
    entity: str
    kind: str
    room: int | None
    device: int | None
    from_: datetime = Field(alias="from")
    to: datetime
    score: float | None
    reason: str | None


class Environment(BaseModel):
    apartment: str
    room: int | None
    grain: str
    points: list[EnvironmentPoint]
    openings: list[Opening]
    anomalies: list[Anomaly]


class PresencePoint(BaseModel):
    ts: datetime
    room: int
    present_minutes: int
    minutes: int = Field(description="Minutes measured")


class Presence(BaseModel):
    apartment: str
    grain: str
    points: list[PresencePoint]


class PredictionPoint(BaseModel):
    ts: datetime
    room: int | None
    device: int | None
    value: float | None
    lower: float | None = Field(description="Lower end of the 80 % interval, where the model gives one")
    upper: float | None
    issued_at: datetime


class Predictions(BaseModel):
    apartment: str
    model: str
    points: list[PredictionPoint]


class WeatherDay(BaseModel):
    day: date
    temperature_min_c: float | None
    temperature_mean_c: float | None
    temperature_max_c: float | None
    humidity_pct: float | None
    precipitation_mm: float | None
    radiation_wh_m2: float | None


class Weather(BaseModel):
    apartment: str
    days: list[WeatherDay]
