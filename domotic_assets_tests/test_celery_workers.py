"""Steps spread over Celery workers on RabbitMQ (DOMOTIC_EXECUTOR=celery), as an operator runs them: two
`domotic worker` processes on this machine (two processes, not two network namespaces: see
docs/operations.md), the Dagster instance in PostgreSQL (deploy/dagster.yaml), a vhost and user of the
test's own on the broker, and `domotic run` over 7 days.

Both workers execute steps and the warehouse equals an in-process run of the same days; a worker killed
with SIGKILL in the middle of the Silver load leaves its step to the other, and the warehouse still equals
the clean run. The broker's password is never written to the instance, a log or the output."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from domotic_assets.settings import Settings
from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets.warehouse.connection import warehouse_password
from domotic_assets_tests.bronze_helpers import bronze_snapshot
from domotic_assets_tests.cli_helpers import BRONZE_TO_GOLD, copying, domotic_command, domotic_env
from domotic_assets_tests.conftest import databases
from domotic_assets_tests.servers.rabbitmq import vhost
from domotic_assets_tests.snapshots import differences, warehouse_snapshot

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"
FIRST, DAYS = date(2023, 8, 18), 7
WEEK = ("run", "--from", FIRST.isoformat(), "--to", (FIRST + timedelta(days=DAYS - 1)).isoformat())
RUN = domotic_command(*WEEK, *BRONZE_TO_GOLD)
TO_SILVER = domotic_command(*WEEK, "--select", "group:bronze or group:silver")
"""The kill test's run: the step killed is the Silver load, and Gold would add minutes, not evidence."""


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> SimulationConfig:
    config = SimulationConfig(out=tmp_path_factory.mktemp("week") / "feed", start=FIRST, days=DAYS, seed=11)
    simulate(config)
    return config


@pytest.fixture(scope="module")
def pg_databases(pg_server_dsn):
    with databases(pg_server_dsn) as make:
        yield make


def _settings(week: SimulationConfig, home: Path, dsn: str) -> Settings:
    return Settings(
        home=home,
        landing=str(week.share),
        weather=str(week.meteo),
        pidb_url=f"sqlite:///{week.out / 'pidb.sqlite'}",
        pg_dsn=dsn,
    )


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(RUN, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def clean_run(week, pg_databases, tmp_path_factory):
    """Bronze and the warehouse after the 7 days run in one process."""
    settings = _settings(week, tmp_path_factory.mktemp("in_process") / "home", pg_databases())
    _run(domotic_env(settings))
    return bronze_snapshot(settings)["files"], warehouse_snapshot(settings.pg_dsn)


@pytest.fixture
def cluster(week, pg_databases, test_servers, tmp_path):
    """Settings on a fresh warehouse, the environment of a deployment with the Celery executor (the
    instance in PostgreSQL, the broker's password in the environment, not in its URL), and a starter of
    workers, each a `domotic worker` process of its own, stopped at the end."""
    settings = _settings(week, tmp_path / "home", pg_databases())
    instance_dsn = pg_databases()
    parts = conninfo_to_dict(instance_dsn)
    (settings.dagster_home).mkdir(parents=True)
    shutil.copy(DEPLOY, settings.dagster_home / "dagster.yaml")
    with vhost(test_servers("rabbitmq")) as (broker, password):
        env = {
            **domotic_env(settings),
            "DOMOTIC_EXECUTOR": "celery",
            "DOMOTIC_CELERY_BROKER": broker,
            "DOMOTIC_CELERY_PASSWORD": password,
            "DAGSTER_PG_HOST": parts["host"],
            "DAGSTER_PG_PORT": str(parts["port"]),
            "DAGSTER_PG_USER": parts["user"],
            "DAGSTER_PG_PASSWORD": warehouse_password(instance_dsn) or "",
            "DAGSTER_PG_DB": parts["dbname"],
        }
        workers: dict[str, subprocess.Popen] = {}

        def start(name: str) -> subprocess.Popen:
            log = open(tmp_path / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
            workers[name] = subprocess.Popen(
                domotic_command("worker", "--concurrency", "1", "--name", f"{name}@%h"),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            _wait_for(lambda: "ready." in (tmp_path / f"{name}.log").read_text(), f"worker {name} ready")
            return workers[name]

        try:
            yield SimpleNamespace(
                settings=settings, env=env, start=start, password=password, instance=instance_dsn
            )
        finally:
            for process in workers.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in workers.values():
                process.wait(timeout=120)
        logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))
        assert password not in logs, "the broker's password was written to a worker's log"
        assert "ready." in logs


def _wait_for(condition, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def _instance(settings: Settings, env: dict[str, str]) -> Iterator[dg.DagsterInstance]:
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("DAGSTER_PG_")})
    try:
        with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            yield instance
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _steps_by_worker(instance: dg.DagsterInstance) -> list[tuple[str, str]]:
    """(step, worker) of every step a Celery worker started, in order, over the instance's runs."""
    found = []
    for record in instance.get_run_records():
        for entry in instance.all_logs(record.dagster_run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
            data = entry.dagster_event.engine_event_data
            worker = data.metadata.get("Celery worker") if data else None
            if worker is not None:
                found.append((entry.step_key, worker.value.split("@")[0]))
    return found


def _instance_text(dsn: str) -> str:
    """Every run and event the instance holds, as stored."""
    with psycopg.connect(dsn) as conn:
        return "".join(
            text
            for (text,) in conn.execute(
                "SELECT run_body FROM runs UNION ALL SELECT event FROM event_logs"
            ).fetchall()
        )


def test_a_week_backfill_spreads_over_two_workers_and_equals_one_process(cluster, clean_run):
    settings = cluster.settings
    cluster.start("left")
    cluster.start("right")
    done = _run(cluster.env)

    with _instance(settings, cluster.env) as instance:
        steps = _steps_by_worker(instance)
    workers = {worker for _, worker in steps}
    assert workers == {"left", "right"}, steps
    assert {step for step, _ in steps} >= {"pidb_dimensions", "bronze_sensor_files", "sensor_events"}
    files, expected = clean_run
    assert bronze_snapshot(settings)["files"] == files
    assert differences(warehouse_snapshot(settings.pg_dsn), expected) == {}
    assert cluster.password not in done.stdout + done.stderr + _instance_text(cluster.instance)


def test_a_worker_killed_mid_step_leaves_the_step_to_the_other(cluster, clean_run):
    """The only worker is killed (its whole process group, as a machine dies) while it writes
    silver.sensor_events; the step's message goes back to the queue and the second worker runs it again."""
    settings = cluster.settings
    doomed = cluster.start("doomed")
    run = subprocess.Popen(
        TO_SILVER, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    _wait_for(lambda: copying(settings.pg_dsn, "silver.sensor_events"), "the Silver load", timeout=600)
    cluster.start("survivor")
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    output, _ = run.communicate(timeout=1200)
    assert run.returncode == 0, output[-3000:]

    with _instance(settings, cluster.env) as instance:
        steps = _steps_by_worker(instance)
    assert [worker for step, worker in steps if step == "sensor_events"] == ["doomed", "survivor"], steps
    files, expected = clean_run
    assert bronze_snapshot(settings)["files"] == files
    assert differences(_to_silver(warehouse_snapshot(settings.pg_dsn)), _to_silver(expected)) == {}


def _to_silver(snapshot: dict) -> dict:
    """What a run of Bronze and Silver writes: the file register and the Silver tables."""
    return {t: v for t, v in snapshot.items() if t.startswith("silver.") or t == "meta.bronze_sensor_files"}
