"""Helpers for tests that run the `domotic` command as a real process (and sometimes kill it)."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from typing import Iterator

from domotic_assets.settings import Settings
from domotic_assets_tests.servers.base import free_port


def domotic_env(settings: Settings) -> dict[str, str]:
    """The environment that points a `domotic` process at a test's settings."""
    return {**os.environ, "DOMOTIC_HOME": str(settings.home), "DOMOTIC_LANDING": settings.landing,
            "DOMOTIC_WEATHER": settings.weather, "DOMOTIC_PIDB_URL": settings.pidb_url, "DOMOTIC_PG_DSN": settings.pg_dsn}


def domotic_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "domotic_assets.cli", *args]


def kill_when(command: list[str], env: dict[str, str], ready, timeout: float = 120) -> None:
    """Start `command`, SIGKILL its whole process group as soon as `ready()` is true."""
    victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout
    while time.time() < deadline and victim.poll() is None and not ready():
        time.sleep(0.01)
    assert victim.poll() is None, "the run ended before it could be killed"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()


@contextmanager
def running_ui(env: dict[str, str]) -> Iterator[str]:
    """`domotic ui` (webserver and daemon) on a state folder; yields its base URL, stops it after."""
    port = free_port()
    process = subprocess.Popen(domotic_command("ui", "--port", str(port)), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=180)  # about 2 s when the machine is quiet; a run the sensor started must stop too
