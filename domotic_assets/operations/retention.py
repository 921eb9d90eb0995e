"""How long each layer keeps its days before they are archived (pure).

Defaults: raw Bronze files 90 days on disk, Silver minute partitions 13 months, Gold minute facts as long as
Silver, Gold aggregates forever. pidb parameters override them: `retention_bronze_days` and
`retention_silver_months` for every building, `retention_bronze_days:<apartment code>` for one. Silver
and Gold days hold every apartment at once, so they are kept as long as the longest any building asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

BRONZE_DAYS = 90
SILVER_MONTHS = 13


def months_before(day: date, months: int) -> date:
    """The same day of the month `months` earlier (the month's last day when it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Cutoffs:
    """Days before these are archived: Bronze per apartment (its own or the default), Silver and Gold
    minute facts alike."""

    bronze_default: date
    bronze: Mapping[str, date]
    silver: date

    def bronze_for(self, apartment: str) -> date:
        return self.bronze.get(apartment, self.bronze_default)


def cutoffs(today: date, parameters: Mapping[str, float], before: date | None = None) -> Cutoffs:
    """The cutoffs on `today` from pidb's `parameters` (name -> newest value); `before` (an operator's
    `--before`) moves every one of them earlier, never later."""
    from datetime import timedelta

    def bronze(days: float) -> date:
        return today - timedelta(days=int(days))

    default = bronze(parameters.get("retention_bronze_days", BRONZE_DAYS))
    own = {
        name.split(":", 1)[1]: bronze(value)
        for name, value in parameters.items()
        if name.startswith("retention_bronze_days:")
    }
    longest = max(
        [parameters.get("retention_silver_months", SILVER_MONTHS)]
        + [value for name, value in parameters.items() if name.startswith("retention_silver_months:")]
    )
    silver = months_before(today, int(longest))
    if before is not None:
        default, silver = min(default, before), min(silver, before)
        own = {apartment: min(day, before) for apartment, day in own.items()}
    return Cutoffs(default, own, silver)
