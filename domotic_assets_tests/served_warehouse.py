"""The warehouse the serving tests share: three simulated days from Bronze to Gold, with predictions,
anomalies, schedules and telemetry rollups of both apartments added by hand, the API role's password set and
an admin made; and the helpers that read it."""

from __future__ import annotations

import os
import socket
import subprocess
import time as clock
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from domotic_assets.definitions import build_definitions
from domotic_assets.defs.run_range import materialize_range
from domotic_assets.defs.selections import PIPELINE
from domotic_assets.ml.prediction_rows import MODEL_KEYS
from domotic_assets.optimise.plan import plan_day
from domotic_assets.optimise.scenario import read_scenario
from domotic_assets.settings import Settings
from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets.warehouse import access_tables
from domotic_assets.warehouse.schedule_tables import replace_schedule
from domotic_assets_tests.cli_helpers import domotic_command
from domotic_assets_tests.conftest import databases

FIRST, LAST = date(2023, 8, 18), date(2023, 8, 20)
"""Three days: apartment 1's renter changes on the 19th; apartment 2 stands empty that day."""
API_PASSWORD = "test-api-password"  # the API role is the cluster's: every test sets this same one
TZ = ZoneInfo("Europe/Zurich")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, pg_server_dsn):
    """Bronze to Gold of the three days, with predictions and anomalies of both apartments added by hand
    (the models need weeks of history), the roles made and the API role's password set."""
    feed = SimulationConfig(out=tmp_path_factory.mktemp("access_feed"), start=FIRST, days=3, seed=23)
    simulate(feed)
    made_roles: list[str] = []
    with databases(pg_server_dsn) as make:
        settings = Settings(
            home=tmp_path_factory.mktemp("access_home"),
            landing=str(feed.share),
            weather=str(feed.meteo),
            pidb_url=feed.pidb,
            pg_dsn=make(),
        )
        defs = build_definitions(settings)
        graph = defs.resolve_asset_graph()
        keys = {
            k
            for k in PIPELINE.resolve(graph)
            if graph.get(k).group_name != "ml" and k.path != ["household_schedules"]
        }
        outcome = materialize_range(
            defs, keys, FIRST, LAST, dg.DagsterInstance.ephemeral(), echo=lambda _: None
        )
        assert outcome.success, outcome
        with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
            _add_predictions_and_anomalies(conn)
            access_tables.set_api_password(conn, API_PASSWORD)
            access_tables.add_admin(conn, "the-data-team")
        yield settings, made_roles
    with psycopg.connect(pg_server_dsn, autocommit=True) as conn:
        for role in made_roles:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _add_predictions_and_anomalies(conn: psycopg.Connection) -> None:
    """An energy and a presence prediction per apartment and hour, telemetry rollups per hour, an anomaly and
    a schedule per apartment and day."""
    for day in (FIRST + timedelta(days=i) for i in range(3)):
        for apartment in (1, 2):
            start = datetime.combine(day, time(0), TZ)
            scenario = read_scenario(
                {
                    "start": start.isoformat(),
                    "step_minutes": 360,
                    "price_import_chf_kwh": [0.1, 0.3, 0.3, 0.1],
                    "price_export_chf_kwh": [0.0] * 4,
                    "load_kw": [1.0] * 4,
                    "pv_kw": [0.0, 1.0, 2.0, 0.0],
                }
            )
            replace_schedule(conn, apartment, str(apartment), day, scenario, plan_day(scenario), {}, {})
            for hour in range(24):
                for grain in ("15min", "hour"):
                    conn.execute(
                        f"""INSERT INTO gold.agg_household_telemetry_{grain}
                                (period_start, local_day, apartment_key, household)
                            VALUES (%s, %s, %s, %s)""",
                        (start + timedelta(hours=hour), day, apartment, str(apartment)),
                    )
        for hour in range(24):
            ts = datetime.combine(day, time(hour), TZ)
            for apartment in (1, 2):
                for model in ("energy_forecast", "presence"):
                    conn.execute(
                        """INSERT INTO gold.fact_prediction (ts, local_day, apartment_key, room_key,
                               model_key,
                               target_key, horizon_key, predicted_value, issued_at)
                           VALUES (%s, %s, %s, %s, %s, 1, 1, 0.5, %s)""",
                        (
                            ts,
                            day,
                            apartment,
                            10 * apartment if model == "presence" else None,
                            MODEL_KEYS[model],
                            ts,
                        ),
                    )
        for apartment in (1, 2):
            start = datetime.combine(day, time(3), TZ)
            conn.execute(
                """INSERT INTO gold.anomalies (model_version_key, local_day, entity, kind, apartment_key,
                       period_start,
                       period_end, score, feature, reason)
                   VALUES (1, %s, %s, 'room', %s, %s, %s, 5.0, 'co2', 'a test')""",
                (day, f"apartment:{apartment}", apartment, start, start + timedelta(hours=2)),
            )


def roles(settings: Settings) -> list[tuple]:
    with psycopg.connect(settings.pg_dsn) as conn:
        return conn.execute(
            "SELECT building_id, role, login, valid_from, valid_to FROM silver.dim_occupancy_roles"
        ).fetchall()


def api_dsn(settings: Settings) -> str:
    return make_conninfo(settings.pg_dsn, user=access_tables.API_ROLE, password=API_PASSWORD)


class Serving:
    """`domotic serve` on a free port of this machine, on the test's warehouse; started and waited for."""

    def __init__(self, settings: Settings, home):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DOMOTIC_HOME": str(home),
            "DOMOTIC_PG_DSN": settings.pg_dsn,
            "DOMOTIC_API_PASSWORD": API_PASSWORD,
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> Serving:
        self.process = subprocess.Popen(
            domotic_command("serve", "--port", str(self.port)),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for _ in range(300):
            try:
                if httpx.get(f"{self.base}/openapi.json", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                clock.sleep(0.1)
        raise AssertionError("domotic serve did not answer")

    def signal(self, number: int) -> int:
        """Send the signal to the server's process group; its exit status."""
        os.killpg(self.process.pid, number)
        return self.process.wait(60)
