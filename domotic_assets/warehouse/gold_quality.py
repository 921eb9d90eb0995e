"""Checks of Gold that dbt tests cannot express: each recomputes a figure independently of the
dbt SQL and compares (energy against the main meter's own counter, cost against the tariff rule in
Python, presence against the simulator's ground truth). It owns `meta.gold_energy_basis`, the meter
energy each Gold day was built from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import psycopg
from psycopg.pq import TransactionStatus

from domotic_assets.contracts.timestamps import zone
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.transform.tariffs import TariffRow, tariff_at
from domotic_assets.warehouse.silver_tables import range_bounds

RECONCILIATION_TOLERANCE = 0.005

DDL = """
-- what Gold's energy of an apartment-day was built from: the main meter's kWh in Silver then
CREATE TABLE IF NOT EXISTS meta.gold_energy_basis (
    apartment  text             NOT NULL,
    day        date             NOT NULL,
    meter_kwh  double precision NOT NULL,
    built_at   timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (apartment, day)
);
"""


def meter_energy(conn: psycopg.Connection, days: list[date]) -> dict[tuple[str, date], float]:
    """The main meters' kWh per apartment and day from their own counters in Silver: the sum over the
    day of (last - first plausible reading) per run between resets, plus each reset's reading (the
    counter restarted from zero)."""
    low, high = range_bounds(days)
    rows = conn.execute(
        """
        WITH readings AS (
            SELECT e.apartment, (e.ts AT TIME ZONE %(tz)s)::date AS day, e.ts, e.value, e.counter_reset,
                   count(*) FILTER (WHERE e.counter_reset) OVER (PARTITION BY e.apartment,
                       (e.ts AT TIME ZONE %(tz)s)::date
                                                                ORDER BY e.ts) AS segment
            FROM silver.sensor_events e
            WHERE e.category = 'consumptions' AND e.measure = 'total' AND NOT e.is_outlier
                AND e.ts >= %(low)s AND e.ts < %(high)s
        ), segments AS (
            SELECT apartment, day, segment, (array_agg(value ORDER BY ts))[1] AS first_value,
                (array_agg(value ORDER BY ts DESC))[1] AS last_value,
                   bool_or(counter_reset) AS starts_with_reset
            FROM readings GROUP BY 1, 2, 3
        )
        SELECT apartment, day, sum(last_value - first_value + CASE WHEN starts_with_reset THEN first_value
            ELSE 0 END)
        FROM segments GROUP BY 1, 2""",
        {"tz": PLATFORM_TIMEZONE, "low": low, "high": high},
    ).fetchall()
    return {(apartment, day): float(kwh or 0) for apartment, day, kwh in rows}


def _same_kwh(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a))


def forget_energy_basis(conn: psycopg.Connection, days: list[date]) -> dict[tuple[str, date], float]:
    """Before Gold's energy of `days` is rebuilt: drop what it was built from, and return the meters'
    kWh as Silver has them now (the build's basis if Silver holds still while it runs)."""
    conn.execute("DELETE FROM meta.gold_energy_basis WHERE day = ANY(%s)", (days,))
    return meter_energy(conn, days)


def record_energy_basis(
    conn: psycopg.Connection, days: list[date], before: dict[tuple[str, date], float]
) -> int:
    """After Gold's energy of `days` was rebuilt: record the meters' kWh it was built from, for the
    apartment-days whose Silver meter readings did not change while it ran (the others stay unknown:
    the run that changed them rebuilds them). Returns the apartment-days recorded."""
    after = meter_energy(conn, days)
    stable = [(a, d, kwh) for (a, d), kwh in after.items() if _same_kwh(before.get((a, d)), kwh)]
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO meta.gold_energy_basis (apartment, day, meter_kwh) VALUES (%s, %s, %s)
                           ON CONFLICT (apartment, day) DO UPDATE SET meter_kwh = EXCLUDED.meter_kwh,
                               built_at = now()""",
            stable,
        )
    return len(stable)


@contextmanager
def snapshot(conn: psycopg.Connection) -> Iterator[None]:
    """Read Silver and Gold as of one instant (REPEATABLE READ), unless a transaction is already open."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        yield
        return
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def energy_reconciliation(conn: psycopg.Connection, days: list[date]) -> tuple[bool, dict]:
    """Gold kWh per apartment and day (main meter rows) against the main meter's counter in Silver
    (`meter_energy`). The two differ by the first minute's delta only.

    An apartment-day is judged only where Gold was built from the Silver meter readings there are now
    (`meta.gold_energy_basis`): where a later load changed them, Gold is behind, not wrong, and the run
    that changed them rebuilds and judges the day. Those are listed as `superseded`."""
    with snapshot(conn):
        counter = meter_energy(conn, days)
        basis = dict(
            ((a, d), kwh)
            for a, d, kwh in conn.execute(
                "SELECT apartment, day, meter_kwh FROM meta.gold_energy_basis WHERE day = ANY(%s)", (days,)
            ).fetchall()
        )
        gold = conn.execute(
            """
            SELECT a.code, f.local_day, sum(f.energy_kwh)
            FROM gold.fact_energy_minute f JOIN gold.dim_apartment a USING (apartment_key)
            WHERE f.is_main_meter AND f.local_day BETWEEN %s AND %s GROUP BY 1, 2""",
            (days[0], days[-1]),
        ).fetchall()
    gold_by_key = {(a, d): float(v or 0) for a, d, v in gold}
    worst, details, superseded = 0.0, {}, {}
    for (apartment, day), meter in sorted(counter.items()):
        if not _same_kwh(basis.get((apartment, day)), meter):
            built = basis.get((apartment, day))
            superseded[f"{day} {apartment}"] = (
                f"Silver's meter now gives {meter:.3f} kWh, Gold was built from "
                + (f"{built:.3f} kWh" if built is not None else "an unknown state")
            )
            continue
        ours = gold_by_key.get((apartment, day), 0.0)
        gap = abs(ours - meter) / meter if meter > 0 else (0.0 if ours == 0 else 1.0)
        worst = max(worst, gap)
        details[f"{day} {apartment}"] = f"gold {ours:.3f} kWh, meter {meter:.3f} kWh, {100 * gap:.3f} %"
    return worst <= RECONCILIATION_TOLERANCE and bool(details), {
        "apartment_days": len(counter),
        "judged": len(details),
        "worst_gap_pct": round(100 * worst, 4),
        "tolerance_pct": 100 * RECONCILIATION_TOLERANCE,
        "per_apartment_day": details,
        "superseded": superseded,
    }


def cost_against_tariffs(conn: psycopg.Connection, days: list[date]) -> tuple[bool, dict]:
    """Every Gold energy row's tariff and cost, recomputed with the Python tariff rule."""
    rows = [
        TariffRow(*r)
        for r in conn.execute("""
        SELECT id, tariff_code, valid_from, valid_to, period, weekday_mask, start_time, end_time,
            price_chf_kwh::float8
        FROM silver.dim_tariffs""").fetchall()
    ]
    facts = conn.execute(
        """
        SELECT f.ts, a.timezone, a.tariff_code, f.tariff_key, f.energy_kwh, f.cost_chf
        FROM gold.fact_energy_minute f JOIN gold.dim_apartment a USING (apartment_key)
        WHERE f.local_day BETWEEN %s AND %s""",
        (days[0], days[-1]),
    ).fetchall()
    wrong_tariff = wrong_cost = 0
    examples: list[str] = []
    cache: dict[tuple, TariffRow | None] = {}
    for ts, tz, code, tariff_key, kwh, cost in facts:
        local = ts.astimezone(zone(tz))
        key = (code, local.date(), local.hour, local.minute)
        if key not in cache:
            cache[key] = tariff_at(rows, code, local)
        expected = cache[key]
        if expected is None or expected.tariff_key != tariff_key:
            wrong_tariff += 1
            if len(examples) < 5:
                examples.append(
                    f"{local:%Y-%m-%d %H:%M} {code}: gold row {tariff_key}, rule "
                    f"{expected and expected.tariff_key}"
                )
        elif kwh is not None and abs((cost or 0) - kwh * expected.price_chf_kwh) > 1e-9:
            wrong_cost += 1
    return bool(facts) and wrong_tariff == 0 and wrong_cost == 0, {
        "rows": len(facts),
        "wrong_tariff": wrong_tariff,
        "wrong_cost": wrong_cost,
        "examples": examples,
    }


def occupancy_file(ground_truth: str | None) -> Path | None:
    """The true occupancy in a simulator's manifest folder (none without a ground truth)."""
    path = Path(ground_truth) / "occupancy.parquet" if ground_truth else None
    return path if path and path.exists() else None


def presence_accuracy(conn: psycopg.Connection, days: list[date], truth_file: Path) -> dict:
    """Precision and recall of Gold's presence_flag against who really was in each room and minute."""
    low, high = range_bounds(days)
    truth = pd.read_parquet(truth_file)
    truth = truth[(truth["ts"] >= low) & (truth["ts"] < high)]
    gold = pd.DataFrame(
        conn.execute(
            """
        SELECT a.code AS apartment, f.ts, r.name AS room, f.presence_flag
        FROM gold.fact_presence_minute f JOIN gold.dim_room r USING (room_key) JOIN gold.dim_apartment a
            ON a.apartment_key = f.apartment_key
        WHERE f.local_day BETWEEN %s AND %s""",
            (days[0], days[-1]),
        ).fetchall(),
        columns=["apartment", "ts", "room", "presence_flag"],
    )
    if gold.empty:
        return {"minutes": 0}
    gold["ts"] = pd.to_datetime(gold["ts"], utc=True)
    both = gold.merge(truth, on=["apartment", "ts", "room"], how="inner")
    actual = both["people"] > 0
    predicted = both["presence_flag"].astype(bool)
    true_positive = int((actual & predicted).sum())
    precision = true_positive / max(int(predicted.sum()), 1)
    recall = true_positive / max(int(actual.sum()), 1)
    return {
        "minutes": len(both),
        "occupied_minutes": int(actual.sum()),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / max(precision + recall, 1e-9), 4),
    }


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def newest_day(conn: psycopg.Connection, table: str, day_column: str = "local_day") -> date | None:
    """The newest day a Gold table holds (None: empty)."""
    return conn.execute(f"SELECT max({day_column}) FROM gold.{table}").fetchone()[0]
