"""What every route of the API shares: the caller's account (bearer token, failed attempts counted), a
connection reading as that account, the parameters' types, and the answers to bad or unknown input.

The app keeps its connection pool and the count of failed attempts in `app.state` (`serving/api.py`)."""

import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import psycopg
from fastapi import Depends, HTTPException, Query, Request

from domotic_assets.dashboards.sign_in import CSRF_HEADER, SESSION_COOKIE, csrf_of, same
from domotic_assets.serving.grain import GrainError, grain_for
from domotic_assets.warehouse import access_tables, api_queries

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
        return self.recent(client) >= self.allowed

    def recent(self, client: str) -> int:
        """Failed attempts from the address within the window."""
        return len(self._recent(client))

    def failed(self, client: str) -> None:
        self._recent(client).append(time.monotonic())


TEXT = r"^[^\x00-\x1f]*$"
"""Names and ids are printable: a control character (a NUL above all, which PostgreSQL refuses) is a 422."""
ApartmentCode = Annotated[str, Query(max_length=64, pattern=TEXT, description="The apartment's code or key")]
From = Annotated[datetime, Query(alias="from", description="ISO 8601 with its UTC offset")]
To = Annotated[datetime, Query(alias="to", description="ISO 8601 with its UTC offset, after `from`")]
Key = Annotated[int | None, Query(ge=0, le=2**31 - 1)]
Grain = Annotated[str | None, Query(pattern="^(minute|15min|hour|day)$")]


def bearer_or_session(request: Request) -> tuple[str | None, bool]:
    """The request's token: its bearer token, else its dashboard session cookie (True: it is the cookie)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), False
    return request.cookies.get(SESSION_COOKIE), True


async def reader(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    """A connection whose transaction carries the account of the request's bearer token or dashboard
    session (401 without a valid one, 429 after too many failures from one address; a POST with the session
    cookie also needs its CSRF token); committed, and the account forgotten, when the route is done."""
    failures: Failures = request.app.state.failures
    client = request.client.host if request.client else "?"
    if failures.blocked(client):
        raise HTTPException(429, "too many failed attempts: try again in a minute", {"Retry-After": "60"})
    token, from_cookie = bearer_or_session(request)
    unsafe = request.method not in ("GET", "HEAD")
    if from_cookie and token and unsafe and not same(request.headers.get(CSRF_HEADER), csrf_of(token)):
        raise HTTPException(403, f"a form of this site is required ({CSRF_HEADER})")
    async with request.app.state.pool.connection() as conn:
        if not token or await access_tables.sign_in(conn, token) is None:
            failures.failed(client)
            raise HTTPException(401, "a valid token is required", {"WWW-Authenticate": "Bearer"})
        yield conn


Reader = Annotated[psycopg.AsyncConnection, Depends(reader, scope="function")]
"""Committed before the answer is sent (scope `function`): FastAPI's default ends a dependency after the
response, which answered 202 for a job whose row was not committed yet (a kill then lost it, and an
immediate GET did not find it)."""


async def visible_apartment(conn: psycopg.AsyncConnection, code: str) -> api_queries.Apartment:
    found = await api_queries.apartment(conn, code)
    if found is None:
        raise HTTPException(404, f"no apartment {code!r}")
    return found


async def room_in(conn: psycopg.AsyncConnection, flat: api_queries.Apartment, room: int | None) -> None:
    if room is not None and not await api_queries.part_of(conn, flat.key, "room", room):
        raise HTTPException(404, f"no room {room} in {flat.code}")


async def device_in(conn: psycopg.AsyncConnection, flat: api_queries.Apartment, device: int | None) -> None:
    if device is not None and not await api_queries.part_of(conn, flat.key, "device", device):
        raise HTTPException(404, f"no device {device} in {flat.code}")


def series_range(start: datetime, end: datetime, grain: str | None) -> tuple[datetime, datetime, str]:
    """The range with its offsets checked, and its grain (asked, or the range's own)."""
    first, last = aware(start, "from"), aware(end, "to")
    try:
        return first, last, grain_for(first, last, grain)
    except GrainError as exc:
        raise invalid("grain", str(exc)) from None


@dataclass(frozen=True)
class Window:
    """What a series is asked for: an apartment, a range, optionally a room, and a grain (else the
    range's)."""

    apartment: str
    start: datetime
    end: datetime
    room: int | None
    grain: str | None


async def window(
    apartment: ApartmentCode, start: From, end: To, room: Key = None, grain: Grain = None
) -> Window:
    return Window(apartment, start, end, room, grain)


SeriesWindow = Annotated[Window, Depends(window)]
"""A dependency (a coroutine, as every one of the API's: none waits in a thread)."""


def invalid(name: str, message: str, where: str = "query") -> HTTPException:
    """A 422 naming the parameter at fault, shaped like FastAPI's own validation errors."""
    return HTTPException(422, [{"loc": [where, name], "msg": message, "type": "value_error"}])


def aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise invalid(name, "a time with its UTC offset is required")
    return value


def iso(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).isoformat() if value is not None else None
