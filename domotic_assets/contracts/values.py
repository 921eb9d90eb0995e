"""Reading measure values as real gateways send them: numbers, strings, decimal commas, sentinels."""

from __future__ import annotations

import math

SENTINELS = frozenset({-999.0, -9999.0, -99999.0})
"""Values gateways and the weather service write for 'no reading'. Never a real measurement."""


def read_number(raw: object) -> tuple[float | None, str | None]:
    """Return (value, why_missing). A value that cannot be read is missing, never zero.

    Booleans become 1.0/0.0; `"23,4"` reads as 23.4; `None`, `""`, `"NaN"`, infinities,
    sentinels and unreadable strings give `(None, reason)`.
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
    if value in SENTINELS:
        return None, "sentinel"
    return value, None
