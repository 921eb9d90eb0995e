"""Household telemetry through Dagster: the day's accounts, the freshness check, the Gold 15-minute and
hourly rollups recomputed independently, on a 25-hour daylight-saving day and a normal day."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import numpy as np
import psycopg
import pytest

from domotic_assets.contracts.mqtt_message import RawMessage
from domotic_assets.contracts.timestamps import zone
from domotic_assets.definitions import build_definitions
from domotic_assets.defs.run_range import materialize_range
from domotic_assets.defs.selections import PIPELINE
from domotic_assets.settings import Settings
from domotic_assets.simulator.apartments import apartments_for
from domotic_assets.simulator.pidb import write_pidb
from domotic_assets.simulator.telemetry import simulated_households, telemetry_messages
from domotic_assets.transform.telemetry import decode_batch
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets.warehouse.telemetry_series import household_day
from domotic_assets.warehouse.telemetry_tables import TelemetryWriter
from domotic_assets_tests.conftest import databases

LOCAL = zone("Europe/Zurich")
DST_DAY, NORMAL_DAY = date(2023, 10, 29), date(2023, 10, 30)
OUTAGE = (datetime(2023, 10, 30, 10, tzinfo=LOCAL), datetime(2023, 10, 30, 10, 45, tzinfo=LOCAL))
"""Household 1 sends nothing for 45 minutes on the normal day: silent from its 09:59 reading to 10:45."""


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL).astimezone(UTC)


@pytest.fixture(scope="module")
def telemetry_built(tmp_path_factory, pg_server_dsn):
    """Two days of two households' telemetry in the warehouse (no feed files: pidb only), then the range
    materialized like `domotic run` does."""
    home = tmp_path_factory.mktemp("telemetry_home")
    write_pidb(f"sqlite:///{home / 'pidb.sqlite'}", apartments_for(["jimmy", "jeremie"]), DST_DAY, seed=9)
    with databases(pg_server_dsn) as make:
        settings = Settings(
            home=home,
            landing=str(home / "share"),
            weather=str(home / "meteo2"),
            pidb_url=f"sqlite:///{home / 'pidb.sqlite'}",
            pg_dsn=make(),
        )
        yield _build(settings)


def _build(settings: Settings):
    stream = [
        m
        for m in telemetry_messages(
            simulated_households(2),
            _local_midnight(DST_DAY),
            _local_midnight(NORMAL_DAY + timedelta(days=1)),
            60,
            seed=9,
            faults="none",
        )
        if not (m.topic.startswith("home/1/") and OUTAGE[0] <= m.ts < OUTAGE[1])
    ]
    raw = [RawMessage(m.topic, m.payload, int(m.ts.timestamp() * 1e6) + 2_000_000) for m in stream]
    ensure_schema(settings.pg_dsn)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        TelemetryWriter(conn).write(decode_batch(raw, lambda source: "Europe/Zurich"))
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    reference = {k for k in PIPELINE.resolve(graph) if graph.get(k).partitions_def is None}
    keys = reference | {
        dg.AssetKey("household_telemetry"),
        dg.AssetKey(["gold", "agg_household_telemetry_15min"]),
        dg.AssetKey(["gold", "agg_household_telemetry_hour"]),
    }
    lines: list[str] = []
    outcome = materialize_range(
        defs, keys, DST_DAY, NORMAL_DAY, dg.DagsterInstance.ephemeral(), echo=lines.append
    )
    readings = [key for m in stream for key in m.keys]
    return settings, outcome, lines, readings


def test_rollups_match_an_independent_computation_on_a_25_hour_day(telemetry_built):
    settings, outcome, lines, readings = telemetry_built
    assert outcome.success, outcome.failures
    means: dict[tuple, list[float]] = defaultdict(list)
    for household, measure, ts, value in readings:
        slot = ts.replace(minute=ts.minute - ts.minute % 15, second=0)
        means[(household, slot, measure)].append(value)
    with psycopg.connect(settings.pg_dsn) as conn:
        rows = conn.execute("""SELECT household, period_start, local_day, apartment_key, consumption_kwh,
                                   pv_kwh,
                                      battery_soc_end_pct
                                          FROM gold.agg_household_telemetry_15min""").fetchall()
        hourly = conn.execute("""SELECT household, local_day, count(*), sum(consumption_kwh)
                                     FROM gold.agg_household_telemetry_hour
                                 GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
    slots = defaultdict(int)
    for household, start, day, apartment_key, kwh, pv_kwh, soc in rows:
        slots[(household, day)] += 1
        assert apartment_key == int(household), "a household is the pidb building of that id"
        assert kwh == pytest.approx(np.mean(means[(household, start, "consumption")]) / 4000, rel=1e-9)
        if household == "1":
            assert pv_kwh == pytest.approx(
                np.mean(means[(household, start, "pv_power")]) / 4000, rel=1e-9, abs=1e-12
            )
            assert 0 <= soc <= 100
    assert slots[("2", DST_DAY)] == 100 and slots[("2", NORMAL_DAY)] == 96
    assert slots[("1", NORMAL_DAY)] == 93, "the three silent quarter-hours have no row"
    totals = {(h, d): kwh for h, d, _, kwh in hourly}
    for (household, day), _count in slots.items():
        assert totals[(household, day)] == pytest.approx(
            sum(r[4] for r in rows if r[0] == household and r[2] == day), rel=1e-9
        )
    assert {(h, d): n for h, d, n, _ in hourly}[("2", DST_DAY)] == 25


def test_the_freshness_check_names_the_household_that_fell_silent(telemetry_built):
    _settings, outcome, lines, _readings = telemetry_built
    warnings = [line for line in lines if "household_telemetry.telemetry_freshness: warning" in line]
    assert len(warnings) == 1 and "'1': '46 min from 2023-10-30 08:59 UTC'" in warnings[0]
    summary = outcome.materialized["household_telemetry"]
    assert summary["households"] == "2" and summary["outliers"] == "0"


def test_the_optimiser_reads_every_slot_of_a_day_with_the_silent_ones_marked(telemetry_built):
    settings, _outcome, _lines, _readings = telemetry_built
    with psycopg.connect(settings.pg_dsn) as conn:
        long_day = household_day(conn, "1", DST_DAY)
        normal = household_day(conn, "1", NORMAL_DAY)
    assert len(long_day) == 100 and long_day["covered"].all()
    assert long_day["period_start"].is_monotonic_increasing
    assert len(normal) == 96 and (~normal["covered"]).sum() == 3
    assert normal.loc[~normal["covered"], "load_kw"].isna().all()
    assert (normal.loc[normal["covered"], "load_kw"] > 0).all() and (
        normal["battery_soc_pct"].dropna() <= 100
    ).all()
