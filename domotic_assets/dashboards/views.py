"""What a dashboard shows, from its URL (pure): the apartment, room and device, and the period, either a
preset (today, yesterday, this week, this month) or custom days. Everything a view needs is in the URL, so a
link can be bookmarked and shared; the receiver still sees only what their own account may see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

PRESETS = ("today", "yesterday", "week", "month")
DEFAULT_DAYS = 7
"""Without a period in the URL: the last 7 days up to the apartment's last reading."""
MAX_DAYS = 5000


@dataclass(frozen=True)
class View:
    apartment: str | None
    room: int | None
    device: int | None
    range: str | None
    """A preset of PRESETS, or None for custom days."""
    first: date
    last: date
    """Included."""

    def window(self, timezone: str) -> tuple[datetime, datetime]:
        """The period as instants: local midnight of `first` to local midnight after `last`."""
        zone = ZoneInfo(timezone)
        return (
            datetime.combine(self.first, time(0), zone),
            datetime.combine(self.last + timedelta(days=1), time(0), zone),
        )

    def query(self, **changes: object) -> str:
        """The URL query of this view (with `changes`), for links between dashboards."""
        state = {
            "apartment": self.apartment,
            "room": self.room,
            "device": self.device,
            "range": self.range,
            "from": None if self.range else self.first.isoformat(),
            "to": None if self.range else self.last.isoformat(),
        } | changes
        kept = {k: v for k, v in state.items() if v not in (None, "")}
        return "?" + urlencode(kept) if kept else ""


def _key(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def preset_days(preset: str, today: date) -> tuple[date, date]:
    if preset == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if preset == "week":
        return today - timedelta(days=today.weekday()), today
    if preset == "month":
        return today.replace(day=1), today
    return today, today


def view_of(params: Mapping[str, str], today: date, last_reading: date | None) -> View:
    """The view a URL asks for; what it does not say (or says wrongly) takes its default."""
    apartment = params.get("apartment") or None
    room, device = _key(params.get("room")), _key(params.get("device"))
    preset = params.get("range")
    if preset in PRESETS:
        return View(apartment, room, device, preset, *preset_days(preset, today))
    first, last = _day(params.get("from")), _day(params.get("to"))
    if first and last and first <= last and (last - first).days < MAX_DAYS:
        return View(apartment, room, device, None, first, last)
    end = last_reading or today
    return View(apartment, room, device, None, end - timedelta(days=DEFAULT_DAYS - 1), end)
