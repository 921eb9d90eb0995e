"""Time-of-use tariff maths: which tariff row applies at a local minute (shared/contracts/pidb.md).

The same rule as Gold's `tariff_calendar` model, written once more in Python so a check can verify
the SQL independently:
* a row applies from `valid_from` (included) to `valid_to` (excluded, null = open);
* its `weekday_mask` (7 characters, Monday first) is read for the calendar day of the minute;
* `start_time == end_time` is the whole day; `end_time < start_time` crosses midnight (the evening
  part and the morning part of the same calendar day both belong to the row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


@dataclass(frozen=True)
class TariffRow:
    tariff_key: int
    tariff_code: str
    valid_from: date
    valid_to: date | None
    period: str
    weekday_mask: str
    start_time: time
    end_time: time
    price_chf_kwh: float

    def applies(self, local: datetime) -> bool:
        day = local.date()
        if day < self.valid_from or (self.valid_to is not None and day >= self.valid_to):
            return False
        if self.weekday_mask[local.weekday()] != "1":
            return False
        moment = local.time().replace(second=0, microsecond=0)
        if self.start_time == self.end_time:
            return True
        if self.start_time < self.end_time:
            return self.start_time <= moment < self.end_time
        return moment >= self.start_time or moment < self.end_time


def tariff_at(rows: list[TariffRow], tariff_code: str, local: datetime) -> TariffRow | None:
    """The one row of this tariff that applies at a local wall-clock minute (None: pidb has none)."""
    matches = [r for r in rows if r.tariff_code == tariff_code and r.applies(local)]
    if len(matches) > 1:
        raise ValueError(f"tariff {tariff_code} has {len(matches)} rows for {local:%Y-%m-%d %H:%M}")
    return matches[0] if matches else None


@dataclass(frozen=True)
class PriceChange:
    """The local days whose prices a change of the reference data may alter (None: unbounded on that side)."""

    first: date | None
    last: date | None


def price_change(
    old_tariffs: set[tuple], new_tariffs: set[tuple], old_profiles: set[tuple], new_profiles: set[tuple]
) -> PriceChange | None:
    """Which days must be priced again after pidb changed. Tariff rows are `TariffRow` fields in order; a
    row added, removed or altered affects its validity (both versions of an altered row). Profiles are
    (building_id, tariff_code): an apartment moved to another tariff affects all of its days."""
    if old_profiles != new_profiles:
        return PriceChange(None, None)
    changed = [TariffRow(*row) for row in old_tariffs ^ new_tariffs]
    if not changed:
        return None
    ends = [row.valid_to for row in changed if row.valid_to is not None]
    return PriceChange(
        min(row.valid_from for row in changed),
        max(ends) - timedelta(days=1) if len(ends) == len(changed) else None,
    )
