"""What real gateway feeds contain, injected deterministically at rates set by `--faults`.

Every case of the table in shared/contracts/sensor-file.md has a kind here; each injection is
recorded in the ground-truth manifest with where it went, so tests and model evaluation can
check the pipeline against what was really done to the feed.
"""

from __future__ import annotations

from dataclasses import dataclass

FILE_FAULTS = (
    "malformed_json",
    "truncated",
    "empty_file",
    "not_utf8",
    "bom",
    "duplicate_document",
    "conflicting_duplicate",
    "late_file",
    "unknown_category",
    "apartment_mismatch",
)
VALUE_FAULTS = (
    "string_number",
    "decimal_comma",
    "null",
    "nan_string",
    "empty_string",
    "sentinel",
    "impossible",
    "spike",
)


@dataclass(frozen=True)
class FaultRates:
    """Per-file, per-reading and per-apartment-day probabilities."""

    per_file: dict[str, float]
    per_value: dict[str, float]
    per_day: dict[str, float]
    per_weather_file: dict[str, float]


def _scale(rates: dict[str, float], factor: float) -> dict[str, float]:
    return {k: min(v * factor, 0.9) for k, v in rates.items()}


_DEFAULT = FaultRates(
    per_file={
        "malformed_json": 4e-4,
        "truncated": 4e-4,
        "empty_file": 2e-4,
        "not_utf8": 2e-4,
        "bom": 2e-3,
        "duplicate_document": 1e-3,
        "conflicting_duplicate": 5e-4,
        "late_file": 2e-3,
        "unknown_category": 5e-4,
        "apartment_mismatch": 1e-4,
    },
    per_value={
        "string_number": 8e-3,
        "decimal_comma": 3e-3,
        "null": 2e-3,
        "nan_string": 1e-3,
        "empty_string": 1e-3,
        "sentinel": 1e-3,
        "impossible": 4e-4,
        "spike": 4e-4,
    },
    per_day={
        "gap": 0.2,
        "stuck_sensor": 0.1,
        "counter_reset": 0.07,
        "unknown_sensor": 0.05,
        "room_mismatch": 0.05,
    },
    per_weather_file={
        "duplicate_rows": 0.3,
        "missing_value": 0.3,
        "unknown_site": 0.15,
        "reissued": 0.1,
        "bom": 0.2,
    },
)

PROFILES = {
    "none": FaultRates(
        {k: 0.0 for k in _DEFAULT.per_file},
        {k: 0.0 for k in _DEFAULT.per_value},
        {k: 0.0 for k in _DEFAULT.per_day},
        {k: 0.0 for k in _DEFAULT.per_weather_file},
    ),
    "default": _DEFAULT,
    "heavy": FaultRates(
        _scale(_DEFAULT.per_file, 8),
        _scale(_DEFAULT.per_value, 5),
        _scale(_DEFAULT.per_day, 3),
        _scale(_DEFAULT.per_weather_file, 2.5),
    ),
}

IMPOSSIBLE = {
    "humidity": 140.0,
    "temperature": 850.0,
    "co2": -5.0,
    "power": -300.0,
    "light": -40.0,
    "noise": 250.0,
    "pressure": 20.0,
    "battery": 180.0,
    "total": -1.0,
}
"""A physically impossible value per measure (the outlier rules must flag these)."""
