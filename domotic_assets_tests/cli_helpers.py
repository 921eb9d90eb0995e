"""Helpers for tests that run the `domotic` command as a real process (and sometimes kill it)."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from domotic_assets.settings import Settings
from domotic_assets_tests.servers.base import free_port


def domotic_env(settings: Settings) -> dict[str, str]:
    """The environment that points a `domotic` process at a test's settings."""
    env = {
        **os.environ,
        "DOMOTIC_HOME": str(settings.home),
        "DOMOTIC_LANDING": settings.landing,
        "DOMOTIC_WEATHER": settings.weather,
        "DOMOTIC_PIDB_URL": settings.pidb_url,
        "DOMOTIC_PG_DSN": settings.pg_dsn,
    }
    if settings.ground_truth:
        env["DOMOTIC_GROUND_TRUTH"] = settings.ground_truth
    return env


BRONZE_TO_GOLD = ("--select", "not group:ml and not key:household_schedules")
"""`domotic run`'s selection of the layers a source feeds (models and schedules left out), for tests whose
subject is how data lands, not what is learnt from it: 6 of a two-day run's 37 s."""


def domotic_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "domotic_assets.cli", *args]


def kill_when(command: list[str], env: dict[str, str], ready, timeout: float = 120) -> None:
    """Start `command`, SIGKILL its whole process group as soon as `ready()` is true."""
    victim = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + timeout
    while time.time() < deadline and victim.poll() is None and not ready():
        time.sleep(0.01)
    assert victim.poll() is None, "the run ended before it could be killed"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()


@contextmanager
def running_ui(env: dict[str, str], timeout: float = 600) -> Iterator[str]:
    """`domotic ui` (webserver and daemon) on a state folder; yields its base URL once it answers,
    stops it after. Its output goes to `ui.log` in the state folder, and a UI that exits or never
    answers fails the test with the end of that log."""
    port = free_port()
    log_path = Path(env["DOMOTIC_HOME"]) / "ui.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            domotic_command("ui", "--port", str(port)),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_answering(f"{base}/server_info", process, log_path, timeout)
            yield base
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
            process.wait(
                timeout=180
            )  # about 2 s when the machine is quiet; a run the sensor started must stop too


def _wait_until_answering(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    # loading the definitions takes 10-60 s, longer while the other test workers load the machine
    deadline = time.time() + timeout
    while process.poll() is None and time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    state = (
        f"exited with {process.returncode}"
        if process.poll() is not None
        else f"did not answer in {timeout:.0f} s"
    )
    tail = log_path.read_text(errors="replace")[-4000:]
    raise AssertionError(f"`domotic ui` {state}; the end of {log_path}:\n{tail}")


def ui_query(env: dict, graphql: str, *more: str):
    """Start `domotic ui` on a state folder, ask its GraphQL for the asset nodes (and the answers of `more`
    queries), stop it."""
    answers = []
    with running_ui(env) as base:
        for query in (graphql, *more):
            request = urllib.request.Request(
                f"{base}/graphql",
                data=json.dumps({"query": query}).encode(),
                headers={"Content-Type": "application/json"},
            )
            answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
            assert "errors" not in answer, answer.get("errors")
            answers.append(answer["data"])
    return (answers[0]["assetNodes"], *answers[1:]) if more else answers[0]["assetNodes"]


def copying(dsn: str, into: str) -> bool:
    """Whether a COPY into `into` is running on the server of `dsn`."""
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            return bool(
                conn.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE query ILIKE %s AND pid <> pg_backend_pid() "
                    "AND datname = current_database()",
                    (f"COPY {into}%",),
                ).fetchone()
            )
    except psycopg.OperationalError:
        return False
