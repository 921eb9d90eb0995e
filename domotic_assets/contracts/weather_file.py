"""Naming rules of the weather drop (shared/contracts/weather-csv.md)."""

from __future__ import annotations

import re
from datetime import date

WEATHER_FILE = re.compile(r"^Pred_(\d{4}-\d{2}-\d{2})\.csv$")


def issue_day(name: str) -> date | None:
    """The day a forecast file was issued, from its name `Pred_YYYY-MM-DD.csv`; None if not one."""
    match = WEATHER_FILE.match(name)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def file_name(day: date) -> str:
    return f"Pred_{day.isoformat()}.csv"
