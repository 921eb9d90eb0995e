"""The HTTP API (FastAPI): every answer is read as the API's role under the caller's account, so PostgreSQL's
row-level security decides what it holds (docs/access.md).

* `Authorization: Bearer TOKEN` on every `/api` route; none, an unknown, expired or revoked token: 401.
  Too many failed attempts from one address: 429 for a minute.
* An apartment or a schedule the account may not see is answered 404, like one that does not exist.
* Bad parameters: 422 naming the field; times are ISO 8601 with their UTC offset, and answers give them in
  the apartment's time zone.
* OpenAPI at `/openapi.json`, its pages at `/docs`, served from the installed swagger-ui bundle (no CDN).
"""

import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg
import swagger_ui_bundle
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, ConfigDict, Field

from domotic_assets.ml.prediction_rows import MODEL_KEYS
from domotic_assets.optimise.scenario import ScenarioError, read_scenario
from domotic_assets.serving.grain import MAX_POINTS, GrainError, grain_for
from domotic_assets.serving.jobs import TIME_LIMIT, JobWorker
from domotic_assets.warehouse import access_tables, api_queries, job_tables

FAILURES_ALLOWED = 10
"""Failed token attempts one address may make in FAILURE_WINDOW seconds before it is refused for a while."""
FAILURE_WINDOW = 60.0


class Failures:
    """Failed sign-ins per client address, in a sliding window."""

    def __init__(self, allowed: int = FAILURES_ALLOWED, window: float = FAILURE_WINDOW):
        self.allowed, self.window = allowed, window
        self.seen: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str) -> deque[float]:
        times, now = self.seen[client], time.monotonic()
        while times and times[0] < now - self.window:
            times.popleft()
        return times

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self.allowed

    def failed(self, client: str) -> None:
        self._recent(client).append(time.monotonic())


TEXT = r"^[^\x00-\x1f]*$"
"""Names and ids are printable: a control character (a NUL above all, which PostgreSQL refuses) is a 422."""
ApartmentCode = Annotated[str, Query(max_length=64, pattern=TEXT, description="The apartment's code or key")]
From = Annotated[datetime, Query(alias="from", description="ISO 8601 with its UTC offset")]
To = Annotated[datetime, Query(alias="to", description="ISO 8601 with its UTC offset, after `from`")]
Key = Annotated[int | None, Query(ge=0, le=2**31 - 1)]
Grain = Annotated[str | None, Query(pattern="^(minute|15min|hour|day)$")]


class OptimizeRequest(BaseModel):
    """Either `scenario` (the `domotic optimize` format), or `household` and `day` (then `apply` writes the
    schedule for the controller)."""

    model_config = ConfigDict(extra="forbid")
    scenario: dict[str, Any] | None = None
    household: Annotated[str | None, Field(max_length=64, pattern=TEXT)] = None
    day: date | None = None
    apply: bool = False


def create_app(dsn: str, pool_size: int = 8, jobs_dsn: str | None = None) -> FastAPI:
    """The API over the warehouse of `dsn`, which connects as the API's role (never a table owner); with
    `jobs_dsn` (the warehouse's owner), it also solves the optimisation jobs it accepts."""
    pool = ConnectionPool(dsn, min_size=1, max_size=pool_size, open=False, kwargs={"autocommit": False})
    failures = Failures()

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        pool.open(wait=True, timeout=30)
        stop = threading.Event()
        worker = JobWorker(jobs_dsn, stop) if jobs_dsn else None
        if worker:
            worker.start()
        yield
        stop.set()
        if worker:
            worker.join(timeout=TIME_LIMIT + 5)
        pool.close()

    app = FastAPI(
        title="Domotic API",
        version="1",
        summary="Energy, environment, presence, forecasts and schedules of smart apartments.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses={
            401: {"description": "No valid token (none, unknown, expired or revoked)"},
            404: {
                "description": "No such apartment, room, device or schedule, or one the account may not see"
            },
            429: {"description": "Too many failed attempts from this address: try again in a minute"},
        },
    )
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Domotic API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    def account(request: Request) -> str:
        client = request.client.host if request.client else "?"
        if failures.blocked(client):
            raise HTTPException(429, "too many failed attempts: try again in a minute", {"Retry-After": "60"})
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        login = None
        if scheme.lower() == "bearer" and token:
            with pool.connection() as conn:
                login = access_tables.token_account(conn, token.strip())
        if login is None:
            failures.failed(client)
            raise HTTPException(401, "a valid token is required", {"WWW-Authenticate": "Bearer"})
        return login

    Account = Annotated[str, Depends(account)]

    @contextmanager
    def as_account(login: str) -> Iterator[psycopg.Connection]:
        """A connection whose transaction carries the account; committed (and forgotten) at the end."""
        with pool.connection() as conn:
            access_tables.set_account(conn, login)
            yield conn

    def visible_apartment(conn: psycopg.Connection, code: str) -> api_queries.Apartment:
        found = api_queries.apartment(conn, code)
        if found is None:
            raise HTTPException(404, f"no apartment {code!r}")
        return found

    @app.get("/api/latest/{household}", tags=["telemetry"])
    def latest(
        login: Account, household: Annotated[str, PathParam(max_length=64, pattern=TEXT)]
    ) -> dict[str, Any]:
        """The household's last 24 hours at 15 minutes (consumption, PV, battery, main meter) and the time
        of its last reading."""
        with as_account(login) as conn:
            flat = visible_apartment(conn, household)
            last, rows = api_queries.latest(conn, flat.key)
        zone = ZoneInfo(flat.timezone)
        return {
            "household": household,
            "apartment": flat.code,
            "last_reading_at": _iso(last, zone),
            "points": [
                {
                    "ts": _iso(ts, zone),
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

    def series_range(start: datetime, end: datetime, grain: str | None) -> tuple[datetime, datetime, str]:
        first, last = _aware(start, "from"), _aware(end, "to")
        try:
            return first, last, grain_for(first, last, grain)
        except GrainError as exc:
            raise HTTPException(
                422, [{"loc": ["query", "grain"], "msg": str(exc), "type": "value_error"}]
            ) from None

    def room_in(conn: psycopg.Connection, flat: api_queries.Apartment, room: int | None) -> None:
        if room is not None and not api_queries.room_of(conn, flat.key, room):
            raise HTTPException(404, f"no room {room} in {flat.code}")

    @app.get("/api/environment", tags=["series"])
    def environment(login: Account, window: Annotated[Window, Depends()]) -> dict[str, Any]:
        """Temperature, humidity, CO2 and noise per period (a room, or the apartment's rooms together), the
        windows' and doors' open intervals, and the anomalies found in the range with their reasons."""
        first, last, chosen = series_range(window.start, window.end, window.grain)
        apartment, room = window.apartment, window.room
        with as_account(login) as conn:
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
            "points": [dict(zip(names, (_iso(r[0], zone), *r[1:]))) for r in rows],
            "openings": [
                {"room": r, "kind": kind, "from": _iso(a, zone), "to": _iso(b, zone)}
                for r, kind, a, b in opened
            ],
            "anomalies": [
                {
                    "entity": entity,
                    "kind": kind,
                    "room": r,
                    "device": d,
                    "from": _iso(a, zone),
                    "to": _iso(b, zone),
                    "score": score,
                    "reason": reason,
                }
                for entity, kind, r, d, a, b, score, reason in unusual
            ],
        }

    @app.get("/api/presence", tags=["series"])
    def presence(login: Account, window: Annotated[Window, Depends()]) -> dict[str, Any]:
        """Minutes someone was in each room per period, beside the minutes measured. Presence is the
        occupant's: an owner gets it only for days no tenancy covers (the other minutes are absent)."""
        first, last, chosen = series_range(window.start, window.end, window.grain)
        apartment, room = window.apartment, window.room
        with as_account(login) as conn:
            flat = visible_apartment(conn, apartment)
            room_in(conn, flat, room)
            rows = api_queries.presence(conn, flat.key, first, last, chosen, room)
        zone = ZoneInfo(flat.timezone)
        return {
            "apartment": flat.code,
            "grain": chosen,
            "points": [
                {"ts": _iso(ts, zone), "room": r, "present_minutes": present, "minutes": minutes}
                for ts, r, present, minutes in rows
            ],
        }

    @app.get("/api/predictions", tags=["series"])
    def predictions(
        login: Account,
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
        with as_account(login) as conn:
            flat = visible_apartment(conn, apartment)
            room_in(conn, flat, room)
            if device is not None and not api_queries.device_of(conn, flat.key, device):
                raise HTTPException(404, f"no device {device} in {flat.code}")
            rows = api_queries.predictions(conn, flat.key, MODEL_KEYS[model], first, last, room, device)
        zone = ZoneInfo(flat.timezone)
        names = ("ts", "room", "device", "value", "lower", "upper", "issued_at")
        return {
            "apartment": flat.code,
            "model": model,
            "points": [dict(zip(names, (_iso(r[0], zone), *r[1:6], _iso(r[6], zone)))) for r in rows],
        }

    @app.get("/api/weather", tags=["series"])
    def weather(
        login: Account,
        apartment: ApartmentCode,
        start: Annotated[date, Query(alias="from")],
        end: Annotated[date, Query(alias="to")],
    ) -> dict[str, Any]:
        """The apartment's weather site per local day [from, to): temperature, humidity, precipitation and
        radiation, from the latest forecast issued before each day."""
        if end <= start or (end - start).days > MAX_POINTS:
            raise _invalid("to", f"'to' must come after 'from', at most {MAX_POINTS} days later")
        with as_account(login) as conn:
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

    @app.get("/api/energy", tags=["series"])
    def energy(login: Account, window: Annotated[Window, Depends()], device: Key = None) -> dict[str, Any]:
        """kWh and CHF per period: the apartment's main meter (and what its plugs measured), a room's plugs
        or a device's plug; high and low tariff apart. The grain follows the range unless asked."""
        first, last, chosen = series_range(window.start, window.end, window.grain)
        apartment, room = window.apartment, window.room
        with as_account(login) as conn:
            flat = visible_apartment(conn, apartment)
            room_in(conn, flat, room)
            if device is not None and not api_queries.device_of(conn, flat.key, device):
                raise HTTPException(404, f"no device {device} in {flat.code}")
            rows = api_queries.energy(conn, flat.key, first, last, chosen, room, device)
        zone = ZoneInfo(flat.timezone)
        names = ("ts", "kwh", "chf", "kwh_high", "kwh_low", "plugs_kwh")
        return {
            "apartment": flat.code,
            "room": room,
            "device": device,
            "grain": chosen,
            "from": _iso(first, zone),
            "to": _iso(last, zone),
            "points": [dict(zip(names, (_iso(row[0], zone), *row[1:]))) for row in rows],
        }

    @app.post("/api/optimize", status_code=202, tags=["schedules"])
    def optimize(login: Account, request: OptimizeRequest) -> dict[str, Any]:
        """Queue an optimisation: a scenario in the `domotic optimize` format, or a household and day to
        build it from the warehouse (written to `gold.schedules`, for the controller to send, only with
        `apply`). Answered at once with the job's id; `GET /api/optimize/{job}` gives its result."""
        scenario, household = request.scenario, request.household
        if (scenario is None) == (household is None):
            raise _invalid("body", "give either a scenario or a household and day", "body")
        if scenario is not None:
            try:
                read_scenario(scenario)
            except ScenarioError as exc:
                raise _invalid("scenario", str(exc), "body") from None
        elif request.day is None:
            raise _invalid("day", "a household's job needs its day", "body")
        with as_account(login) as conn:
            if household is not None:
                visible_apartment(conn, household)
            job_id = job_tables.submit(conn, scenario, household, request.day, request.apply)
        return {"job": job_id, "status": "queued"}

    @app.get("/api/optimize/{job}", tags=["schedules"])
    def optimize_job(login: Account, job: UUID) -> dict[str, Any]:
        """A job's state (`queued`, `done` or `failed`), its result (the `domotic optimize` document) or
        error, and the schedule it wrote."""
        with as_account(login) as conn:
            found = job_tables.job(conn, str(job))
        if found is None:
            raise HTTPException(404, f"no job {job}")
        return {"job": str(job), **found}

    @app.get("/api/schedule/{schedule_id}", tags=["schedules"])
    def schedule(
        login: Account, schedule_id: Annotated[str, PathParam(max_length=128, pattern=TEXT)]
    ) -> dict[str, Any]:
        """A schedule: its KPIs (what is sent, against the rule-based strategy) and its slots."""
        with as_account(login) as conn:
            found = api_queries.schedule(conn, schedule_id)
        if found is None:
            raise HTTPException(404, f"no schedule {schedule_id!r}")
        kpis, slots = found
        return {**kpis, "slots": slots}

    return app


class Window:
    """What a series is asked for: an apartment, a range, optionally a room, and a grain (else the
    range's)."""

    def __init__(self, apartment: ApartmentCode, start: From, end: To, room: Key = None, grain: Grain = None):
        self.apartment, self.start, self.end, self.room, self.grain = apartment, start, end, room, grain


def _invalid(name: str, message: str, where: str = "query") -> HTTPException:
    """A 422 naming the parameter at fault, shaped like FastAPI's own validation errors."""
    return HTTPException(422, [{"loc": [where, name], "msg": message, "type": "value_error"}])


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise _invalid(name, "a time with its UTC offset is required")
    return value


def _iso(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat() if value is not None else None
