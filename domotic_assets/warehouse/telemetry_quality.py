"""What a day of household telemetry holds, and whether every household kept talking.

Plain SQL over `silver.household_telemetry`; each rule returns (passed, facts for an operator).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg

from domotic_assets.warehouse.silver_tables import day_bounds, range_bounds

SILENCE_LIMIT_MINUTES = 15.0
"""A household silent for longer than this has lost its meter or its gateway (pidb parameter
`telemetry_silence_minutes` overrides it)."""
LATE_MINUTES = 15
"""A reading received this long after its time counts as late."""


def day_summary(conn: psycopg.Connection, days: list[date]) -> dict:
    """Rows per measure, households, outliers, late readings and quarantined messages of these days."""
    low, high = range_bounds(days)
    measures = dict(
        conn.execute(
            """SELECT measure, count(*) FROM silver.household_telemetry
                                    WHERE ts >= %s AND ts < %s GROUP BY 1 ORDER BY 1""",
            (low, high),
        ).fetchall()
    )
    households, outliers, late = conn.execute(
        """SELECT count(DISTINCT household), count(*) FILTER (WHERE is_outlier),
                  count(*) FILTER (WHERE received_at - ts > make_interval(mins => %s))
           FROM silver.household_telemetry WHERE ts >= %s AND ts < %s""",
        (LATE_MINUTES, low, high),
    ).fetchone()
    quarantined = dict(
        conn.execute(
            """SELECT reason, count(*) FROM meta.stream_quarantine
                                       WHERE received_at >= %s AND received_at < %s GROUP BY 1 ORDER BY 1""",
            (low, high),
        ).fetchall()
    )
    return {
        "rows": sum(measures.values()),
        "rows_by_measure": measures,
        "households": households,
        "outliers": outliers,
        "late_readings": late,
        "quarantined_messages_received": quarantined,
    }


def longest_silences(
    conn: psycopg.Connection, day: date, now: datetime
) -> list[tuple[str, datetime, datetime]]:
    """Per household that sent anything that day: its longest silence (from, until), the end of the
    day (or now, for today) counting as the end of the last silence."""
    low, high = day_bounds(day)
    until = min(now, high)
    return conn.execute(
        """
        WITH instants AS (SELECT household, ts FROM silver.household_telemetry
                          WHERE ts >= %s AND ts < %s GROUP BY household, ts),
             gaps AS (SELECT household, ts AS silent_from, coalesce(lead(ts) OVER w,
                 greatest(%s::timestamptz, ts)) AS silent_until
                      FROM instants WINDOW w AS (PARTITION BY household ORDER BY ts))
        SELECT DISTINCT ON (household) household, silent_from, silent_until FROM gaps
        ORDER BY household, silent_until - silent_from DESC""",
        (low, high, until),
    ).fetchall()


def freshness(
    conn: psycopg.Connection, days: list[date], limit_minutes: float, now: datetime | None = None
) -> tuple[bool | None, dict]:
    """No household that streamed on these days fell silent for longer than `limit_minutes` (None: no
    household streamed, nothing to judge)."""
    now = now or datetime.now(UTC)
    silences = {}
    for day in days:
        for household, silent_from, silent_until in longest_silences(conn, day, now):
            minutes = (silent_until - silent_from).total_seconds() / 60
            if minutes > silences.get(household, (-1.0,))[0]:
                silences[household] = (minutes, silent_from)
    if not silences:
        return None, {"why": f"no household streamed on {days[0]} .. {days[-1]}"}
    too_long = {
        h: f"{m:.0f} min from {t:%Y-%m-%d %H:%M} UTC"
        for h, (m, t) in sorted(silences.items())
        if m > limit_minutes
    }
    return not too_long, {
        "households": len(silences),
        "silent_too_long": too_long,
        "limit_minutes": limit_minutes,
        "longest_silence_minutes": round(max((m for m, _ in silences.values()), default=0.0), 1),
    }
