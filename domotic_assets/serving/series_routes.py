"""The API's series: telemetry of the last 24 hours, energy, environment, presence, predictions and weather,
each read under the caller's account (`serving/request_context.py`)."""

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from domotic_assets.ml.prediction_rows import MODEL_KEYS
from domotic_assets.serving.grain import MAX_POINTS
from domotic_assets.serving.request_context import (
    TEXT,
    ApartmentCode,
    From,
    Key,
    Reader,
    To,
    Window,
    device_in,
    invalid,
    iso,
    room_in,
    series_range,
    visible_apartment,
)
from domotic_assets.warehouse import api_queries

router = APIRouter()


@router.get("/api/latest/{household}", tags=["telemetry"])
def latest(conn: Reader, household: Annotated[str, PathParam(max_length=64, pattern=TEXT)]) -> dict[str, Any]:
    """The household's last 24 hours at 15 minutes (consumption, PV, battery, main meter) and the time
    of its last reading."""
    flat = visible_apartment(conn, household)
    last, rows = api_queries.latest(conn, flat.key)
    zone = ZoneInfo(flat.timezone)
    return {
        "household": household,
        "apartment": flat.code,
        "last_reading_at": iso(last, zone),
        "points": [
            {
                "ts": iso(ts, zone),
                "consumption_w": consumption,
                "pv_w": pv,
                "battery_soc_pct": soc,
                "battery_charge_kwh": charge,
                "battery_discharge_kwh": discharge,
                "meter_kwh": meter,
            }
            for ts, consumption, pv, soc, charge, discharge, meter in rows
        ],
    }


@router.get("/api/environment", tags=["series"])
def environment(conn: Reader, window: Annotated[Window, Depends()]) -> dict[str, Any]:
    """Temperature, humidity, CO2 and noise per period (a room, or the apartment's rooms together), the
    windows' and doors' open intervals, and the anomalies found in the range with their reasons."""
    first, last, chosen = series_range(window.start, window.end, window.grain)
    apartment, room = window.apartment, window.room
    flat = visible_apartment(conn, apartment)
    room_in(conn, flat, room)
    rows = api_queries.environment(conn, flat.key, first, last, chosen, room)
    opened = api_queries.openings(conn, flat.key, first, last, room)
    unusual = api_queries.anomalies(conn, flat.key, first, last)
    zone = ZoneInfo(flat.timezone)
    names = (
        "ts",
        "temperature_c",
        "humidity_pct",
        "co2_ppm",
        "co2_max_ppm",
        "noise_db",
        "window_open_minutes",
    )
    return {
        "apartment": flat.code,
        "room": room,
        "grain": chosen,
        "points": [dict(zip(names, (iso(r[0], zone), *r[1:]))) for r in rows],
        "openings": [
            {"room": r, "kind": kind, "from": iso(a, zone), "to": iso(b, zone)} for r, kind, a, b in opened
        ],
        "anomalies": [
            {
                "entity": entity,
                "kind": kind,
                "room": r,
                "device": d,
                "from": iso(a, zone),
                "to": iso(b, zone),
                "score": score,
                "reason": reason,
            }
            for entity, kind, r, d, a, b, score, reason in unusual
        ],
    }


@router.get("/api/presence", tags=["series"])
def presence(conn: Reader, window: Annotated[Window, Depends()]) -> dict[str, Any]:
    """Minutes someone was in each room per period, beside the minutes measured. Presence is the
    occupant's: an owner gets it only for days no tenancy covers (the other minutes are absent)."""
    first, last, chosen = series_range(window.start, window.end, window.grain)
    apartment, room = window.apartment, window.room
    flat = visible_apartment(conn, apartment)
    room_in(conn, flat, room)
    rows = api_queries.presence(conn, flat.key, first, last, chosen, room)
    zone = ZoneInfo(flat.timezone)
    return {
        "apartment": flat.code,
        "grain": chosen,
        "points": [
            {"ts": iso(ts, zone), "room": r, "present_minutes": present, "minutes": minutes}
            for ts, r, present, minutes in rows
        ],
    }


@router.get("/api/predictions", tags=["series"])
def predictions(
    conn: Reader,
    apartment: ApartmentCode,
    start: From,
    end: To,
    model: Annotated[
        str, Query(pattern="^(energy_forecast|presence|anomaly_detection)$")
    ] = "energy_forecast",
    room: Key = None,
    device: Key = None,
) -> dict[str, Any]:
    """The newest prediction of a model for each instant in the range, with its interval where it has one:
    the energy forecast (kWh per quarter-hour), the presence probability per room, the anomaly score."""
    first, last, _ = series_range(start, end, "15min")  # at most 5,000 quarter-hours
    flat = visible_apartment(conn, apartment)
    room_in(conn, flat, room)
    device_in(conn, flat, device)
    rows = api_queries.predictions(conn, flat.key, MODEL_KEYS[model], first, last, room, device)
    zone = ZoneInfo(flat.timezone)
    names = ("ts", "room", "device", "value", "lower", "upper", "issued_at")
    return {
        "apartment": flat.code,
        "model": model,
        "points": [dict(zip(names, (iso(r[0], zone), *r[1:6], iso(r[6], zone)))) for r in rows],
    }


@router.get("/api/weather", tags=["series"])
def weather(
    conn: Reader,
    apartment: ApartmentCode,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> dict[str, Any]:
    """The apartment's weather site per local day [from, to): temperature, humidity, precipitation and
    radiation, from the latest forecast issued before each day."""
    if end <= start or (end - start).days > MAX_POINTS:
        raise invalid("to", f"'to' must come after 'from', at most {MAX_POINTS} days later")
    flat = visible_apartment(conn, apartment)
    rows = api_queries.weather(conn, flat.key, start, end)
    names = (
        "day",
        "temperature_min_c",
        "temperature_mean_c",
        "temperature_max_c",
        "humidity_pct",
        "precipitation_mm",
        "radiation_wh_m2",
    )
    return {"apartment": flat.code, "days": [dict(zip(names, (r[0].isoformat(), *r[1:]))) for r in rows]}


@router.get("/api/energy", tags=["series"])
def energy(conn: Reader, window: Annotated[Window, Depends()], device: Key = None) -> dict[str, Any]:
    """kWh and CHF per period: the apartment's main meter (and what its plugs measured), a room's plugs
    or a device's plug; high and low tariff apart. The grain follows the range unless asked."""
    first, last, chosen = series_range(window.start, window.end, window.grain)
    apartment, room = window.apartment, window.room
    flat = visible_apartment(conn, apartment)
    room_in(conn, flat, room)
    device_in(conn, flat, device)
    rows = api_queries.energy(conn, flat.key, first, last, chosen, room, device)
    zone = ZoneInfo(flat.timezone)
    names = ("ts", "kwh", "chf", "kwh_high", "kwh_low", "plugs_kwh")
    return {
        "apartment": flat.code,
        "room": room,
        "device": device,
        "grain": chosen,
        "from": iso(first, zone),
        "to": iso(last, zone),
        "points": [dict(zip(names, (iso(row[0], zone), *row[1:]))) for row in rows],
    }
