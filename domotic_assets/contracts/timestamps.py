"""Turning document timestamps into exact instants, with the daylight-saving rule.

A timestamp with an offset is exact. One without an offset is wall-clock time in the
apartment's time zone, and at daylight-saving changes that wall time can be ambiguous or
not exist. The rule, applied everywhere:

* **ambiguous** (the repeated hour in autumn): the *earlier* instant (summer time, `fold=0`),
  flagged `ambiguous_local_time`.
* **non-existent** (the skipped hour in spring): read with the offset in force *before* the
  change, which shifts it forward by the gap (02:30 becomes 03:30 summer time), flagged
  `nonexistent_local_time`.

Both are kept, never dropped; the flag travels with every reading of the document.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

AMBIGUOUS = "ambiguous_local_time"
NONEXISTENT = "nonexistent_local_time"


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def resolve_timestamp(text: str, tz_name: str) -> tuple[datetime, str | None]:
    """Return (instant in UTC, flag). Raises ValueError for text that is not ISO 8601."""
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC), None
    return resolve_wall_time(parsed, tz_name)


def resolve_wall_time(wall: datetime, tz_name: str) -> tuple[datetime, str | None]:
    """Apply the daylight-saving rule to a naive local wall-clock time."""
    tz = zone(tz_name)
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    instant = first.astimezone(UTC)
    if first.utcoffset() != second.utcoffset():
        # zoneinfo gives a non-existent time the pre-change offset at fold=0: shift-forward.
        round_trip = instant.astimezone(tz).replace(tzinfo=None)
        return instant, (AMBIGUOUS if round_trip == wall else NONEXISTENT)
    return instant, None


def local_day(instant: datetime, tz_name: str) -> date:
    """The local calendar day an instant belongs to (partitions are local days)."""
    return instant.astimezone(zone(tz_name)).date()
