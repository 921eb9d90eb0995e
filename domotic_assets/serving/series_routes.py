"""The API's series: telemetry of the last 24 hours, energy, environment, presence, predictions and weather,
each read under the caller's account (`serving/request_context.py`)."""

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam

from domotic_assets.ml.prediction_rows import MODEL_KEYS
from domotic_assets.serving import answers
from domotic_assets.serving.grain import MAX_POINTS
from domotic_assets.serving.request_context import (
    TEXT,
    ApartmentCode,
    From,
    Key,
    Reader,
    SeriesWindow,
    To,
    device_in,
    invalid,
    iso,
    room_in,
    series_range,
    visible_apartment,
)
from domotic_assets.warehouse import api_queries

router = APIRouter()


@router.get("/api/apartments", tags=["series"], response_model=list[answers.Apartment])
async def apartments(conn: Reader) -> Response:
    """The apartments the account may see, with their rooms and devices (the keys the series take)."""
    return Response(await api_queries.apartments(conn), media_type="application/json")


@router.get("/api/latest/{household}", tags=["telemetry"], response_model=answers.Latest)
async def latest(conn: Reader, household: Annotated[str, PathParam(max_length=64, pattern=TEXT)]) -> Response:
    """The household's last 24 hours at 15 minutes (consumption, PV, battery, main meter) and the time
    of its last reading."""
    flat = await visible_apartment(conn, household)
    last, points = await api_queries.latest(conn, flat.key)
    zone = ZoneInfo(flat.timezone)
    fields = {"household": household, "apartment": flat.code, "last_reading_at": iso(last, zone)}
    return answers.document(fields, points=points)


@router.get("/api/environment", tags=["series"], response_model=answers.Environment)
async def environment(conn: Reader, window: SeriesWindow) -> Response:
    """Temperature, humidity, CO2 and noise per period (a room, or the apartment's rooms together), the
    windows' and doors' open intervals, and the anomalies found in the range with their reasons."""
    first, last, chosen = series_range(window.start, window.end, window.grain)
    flat = await visible_apartment(conn, window.apartment)
    await room_in(conn, flat, window.room)
    return answers.document(
        {"apartment": flat.code, "room": window.room, "grain": chosen},
        points=await api_queries.environment(conn, flat.key, first, last, chosen, window.room),
        openings=await api_queries.openings(conn, flat.key, first, last, window.room),
        anomalies=await api_queries.anomalies(conn, flat.key, first, last),
    )


@router.get("/api/presence", tags=["series"], response_model=answers.Presence)
async def presence(conn: Reader, window: SeriesWindow) -> Response:
    """Minutes someone was in each room per period, beside the minutes measured. Presence is the
    occupant's: an owner gets it only for days no tenancy covers (the other minutes are absent)."""
    first, last, chosen = series_range(window.start, window.end, window.grain)
    flat = await visible_apartment(conn, window.apartment)
    await room_in(conn, flat, window.room)
    points = await api_queries.presence(conn, flat.key, first, last, chosen, window.room)
    return answers.document({"apartment": flat.code, "grain": chosen}, points=points)


@router.get("/api/predictions", tags=["series"], response_model=answers.Predictions)
async def predictions(
    conn: Reader,
    apartment: ApartmentCode,
    start: From,
    end: To,
    model: Annotated[
        str, Query(pattern="^(energy_forecast|presence|anomaly_detection)$")
    ] = "energy_forecast",
    room: Key = None,
    device: Key = None,
) -> Response:
    """The newest prediction of a model for each instant in the range, with its interval where it has one:
    the energy forecast (kWh per quarter-hour), the presence probability per room, the anomaly score."""
    first, last, _ = series_range(start, end, "15min")  # at most 5,000 quarter-hours
    flat = await visible_apartment(conn, apartment)
    await room_in(conn, flat, room)
    await device_in(conn, flat, device)
    points = await api_queries.predictions(conn, flat.key, MODEL_KEYS[model], first, last, room, device)
    return answers.document({"apartment": flat.code, "model": model}, points=points)


@router.get("/api/weather", tags=["series"], response_model=answers.Weather)
async def weather(
    conn: Reader,
    apartment: ApartmentCode,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> Response:
    """The apartment's weather site per local day [from, to): temperature, humidity, precipitation and
    radiation, from the latest forecast issued before each day."""
    if end <= start or (end - start).days > MAX_POINTS:
        raise invalid("to", f"'to' must come after 'from', at most {MAX_POINTS} days later")
    flat = await visible_apartment(conn, apartment)
    days = await api_queries.weather(conn, flat.key, start, end)
    return answers.document({"apartment": flat.code}, days=days)


@router.get("/api/energy/devices", tags=["series"], response_model=answers.EnergyByDevice)
async def energy_by_device(conn: Reader, window: SeriesWindow) -> Response:
    """kWh and CHF per period for each device's plug (of the apartment, or of a room), each device's total
    over the range, and what the main meter measured that no plug did."""
    first, last, chosen = series_range(window.start, window.end, window.grain)
    flat = await visible_apartment(conn, window.apartment)
    await room_in(conn, flat, window.room)
    zone = ZoneInfo(flat.timezone)
    fields = {
        "apartment": flat.code,
        "room": window.room,
        "grain": chosen,
        "from": iso(first, zone),
        "to": iso(last, zone),
    }
    series = await api_queries.energy_by_device(conn, flat.key, first, last, chosen, window.room)
    return answers.document(fields, **series)


@router.get("/api/energy", tags=["series"], response_model=answers.Energy)
async def energy(conn: Reader, window: SeriesWindow, device: Key = None) -> Response:
    """kWh and CHF per period: the apartment's main meter (and what its plugs measured), a room's plugs
    or a device's plug; high and low tariff apart. The grain follows the range unless asked."""
    first, last, chosen = series_range(window.start, window.end, window.grain)
    flat = await visible_apartment(conn, window.apartment)
    await room_in(conn, flat, window.room)
    await device_in(conn, flat, device)
    zone = ZoneInfo(flat.timezone)
    fields = {
        "apartment": flat.code,
        "room": window.room,
        "device": device,
        "grain": chosen,
        "from": iso(first, zone),
        "to": iso(last, zone),
    }
    points = await api_queries.energy(conn, flat.key, first, last, chosen, window.room, device)
    return answers.document(fields, points=points)
