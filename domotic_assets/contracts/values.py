"""Reading measure values as real gateways send them: numbers, strings, decimal commas, sentinels."""

from __future__ import annotations

import math

from domotic_assets.contracts.bounds import Bounds, possible

SENTINELS = frozenset({-999.0, -9999.0, -99999.0})
"""Values gateways and the weather service write for 'no reading', where no real reading can be them."""


def read_number(raw: object, bounds: Bounds) -> tuple[float | None, str | None]:
    """Return (value, why_missing) for a value of a measure with these physical bounds (`contracts.bounds`).
    A value that cannot be read is missing, never zero.

    Booleans become 1.0/0.0; `"23,4"` reads as 23.4; `None`, `""`, `"NaN"`, infinities and
    unreadable strings give `(None, reason)`. A sentinel (-999, -9999, -99999) is missing only where
    it is impossible for the measure: -999 °C is missing, -999 W of a discharging battery is a reading.
    """
    if raw is None:
        return None, "null"
    if isinstance(raw, bool):
        return (1.0 if raw else 0.0), None
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None, "empty"
        if "," in text and "." not in text and text.count(",") == 1:
            text = text.replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            return None, "unreadable"
    else:
        return None, "unreadable"
    if math.isnan(value):
        return None, "nan"
    if math.isinf(value):
        return None, "unreadable"
    if value in SENTINELS and not possible(value, bounds):
        return None, "sentinel"
    return value, None
