"""What a change of tariffs or energy profiles in pidb means for Gold: the priced days to build again."""

from __future__ import annotations

from datetime import date

import psycopg

from domotic_assets.transform.tariffs import PriceChange


def pricing_state(conn: psycopg.Connection) -> tuple[set[tuple], set[tuple]]:
    """(tariff rows, (building, tariff code) pairs) as Silver holds them now; empty before the first
    import."""
    if not conn.execute(
        "SELECT to_regclass('silver.dim_tariffs') IS NOT NULL AND "
        "to_regclass('silver.dim_energy_profiles') IS NOT NULL"
    ).fetchone()[0]:
        return set(), set()
    tariffs = conn.execute("""SELECT id, tariff_code, valid_from, valid_to, period, weekday_mask, start_time,
                                  end_time,
                                     price_chf_kwh::float8 FROM silver.dim_tariffs""").fetchall()
    profiles = conn.execute("SELECT building_id, tariff_code FROM silver.dim_energy_profiles").fetchall()
    return set(tariffs), set(profiles)


def days_to_reprice(conn: psycopg.Connection, change: PriceChange | None) -> tuple[date, date] | None:
    """The first and last day of Gold's energy facts that the change reaches (None: none is built yet)."""
    if (
        change is None
        or not conn.execute("SELECT to_regclass('gold.fact_energy_minute') IS NOT NULL").fetchone()[0]
    ):
        return None
    first, last = conn.execute(
        """SELECT min(local_day), max(local_day) FROM gold.fact_energy_minute
                                  WHERE (%(first)s::date IS NULL OR local_day >= %(first)s)
                                    AND (%(last)s::date IS NULL OR local_day <= %(last)s)""",
        {"first": change.first, "last": change.last},
    ).fetchone()
    return (first, last) if first else None
