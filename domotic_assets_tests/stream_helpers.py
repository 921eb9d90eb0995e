"""Helpers for the stream tests: a simulated stream, what it must leave in the warehouse, the consumer as a
process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import psycopg

from domotic_assets.simulator.telemetry import (
    MALFORMED,
    SimMessage,
    publish_telemetry,
    simulated_households,
    telemetry_messages,
)
from domotic_assets.stream.mqtt_client import MqttEndpoint
from domotic_assets.stream.publisher import Publisher
from domotic_assets_tests.cli_helpers import domotic_command

START = datetime(2025, 9, 12, tzinfo=UTC)


def simulated_stream(
    messages: int, step_seconds: int = 10, faults: str = "default", households: int = 2, seed: int = 5
) -> list[SimMessage]:
    """The first `messages` messages of a simulated stream (meter, PV and battery, with its faults)."""
    stream = telemetry_messages(
        simulated_households(households, seed=seed),
        START,
        START + timedelta(days=30),
        step_seconds,
        seed,
        faults,
    )
    return list(islice(stream, messages))


def expected_readings(messages: list[SimMessage]) -> set[tuple]:
    return {key for m in messages if m.kind not in MALFORMED for key in m.keys}


def stored_readings(dsn: str) -> Counter:
    """(household, measure, ts, value) -> how many rows hold it (a natural key is unique: always 1)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT household, measure, ts, value FROM silver.household_telemetry").fetchall()
    return Counter(rows)


def quarantine_reasons(dsn: str) -> Counter:
    with psycopg.connect(dsn) as conn:
        return Counter(r for (r,) in conn.execute("SELECT reason FROM meta.stream_quarantine"))


def wait_for_readings(dsn: str, expected: set, timeout: float) -> Counter:
    """Poll the warehouse until it holds every expected reading (or `timeout` passed); returns what it
    holds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            stored = stored_readings(dsn)
        except psycopg.Error:
            stored = Counter()
        if expected <= set(stored) or time.monotonic() > deadline:
            return stored
        time.sleep(0.5)


class BackgroundPublisher:
    """Publishes a stream at a steady rate from a thread, like a building's meters."""

    def __init__(self, url: str, messages: list[SimMessage], rate: float, client_id: str = "test-meters"):
        self.summary = None
        self.error: BaseException | None = None
        self._publisher = Publisher(MqttEndpoint.from_url(url), client_id)
        self._thread = threading.Thread(target=self._run, args=(messages, rate), daemon=True)
        self._thread.start()

    def _run(self, messages, rate):
        try:
            self.summary = publish_telemetry(self._publisher, messages, rate=rate, burst=10)
        except BaseException as exc:  # reported by join()
            self.error = exc

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def published(self) -> int:
        return self._publisher.published

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"publishing did not finish within {timeout} s"
        if self.error:
            raise self.error


class StreamProcess:
    """`domotic stream` as a real process, its JSON log lines in a file."""

    def __init__(self, home: Path, dsn: str, broker_url: str, log: Path, client_id: str = "test-stream"):
        self.log = log
        env = {**os.environ, "DOMOTIC_HOME": str(home), "DOMOTIC_PG_DSN": dsn, "DOMOTIC_MQTT_URL": broker_url}
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                domotic_command("stream", "--client-id", client_id, "--health-seconds", "1"),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def events(self) -> list[dict]:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for(self, predicate, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"domotic stream exited: {self.log.read_text()[-2000:]}"
            for event in self.events():
                if predicate(event):
                    return event
            time.sleep(0.1)
        raise AssertionError(f"no such log line within {timeout} s: {self.log.read_text()[-2000:]}")

    def wait_subscribed(self, since: int = 0, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len([e for e in self.events() if e.get("event") == "subscribed"]) <= since:
            assert time.monotonic() < deadline, (
                f"not subscribed within {timeout} s: {self.log.read_text()[-2000:]}"
            )
            assert self.process.poll() is None, f"domotic stream exited: {self.log.read_text()[-2000:]}"
            time.sleep(0.1)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout: float = 60) -> int:
        os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout)


def broker_url(server) -> str:
    """The URL of a test's private Mosquitto (`conftest.broker`)."""
    return f"mqtt://127.0.0.1:{server.port}"


def assert_exactly_once(stored: dict, expected: set) -> None:
    """Every expected reading stored once, and nothing else."""
    missing, extra = expected - set(stored), set(stored) - expected
    assert not missing, f"{len(missing)} readings lost, e.g. {sorted(missing)[:3]}"
    assert not extra, f"{len(extra)} readings that were never sent, e.g. {sorted(extra)[:3]}"
    assert set(stored.values()) == {1}
