"""Monitoring as an operator meets it: `domotic serve`'s `/metrics` on a warehouse fed through the MQTT
contract's decoder (one household talking, one silent for 40 minutes, one whose battery is held full for two
hours), with a quarantined message and a failed backup; the deployment's alert rules checked and
unit-tested by promtool; and Debian's Prometheus scraping `/metrics` until the alerts fire."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from domotic_assets.contracts.mqtt_message import RawMessage
from domotic_assets.transform.telemetry import decode_batch
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets.warehouse.telemetry_tables import TelemetryWriter
from domotic_assets_tests.cli_helpers import domotic_command, domotic_env
from domotic_assets_tests.served_warehouse import Serving
from domotic_assets_tests.servers.base import binary
from domotic_assets_tests.servers.prometheus import RULES, PrometheusServer

TOKEN = "scrape-token-for-tests"
PROMETHEUS = Path(__file__).resolve().parents[1] / "deploy" / "prometheus"


def _message(household: int, kind: str, ts: datetime, **values: float) -> RawMessage:
    body = {"household_id": household, "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"), **values}
    return RawMessage(f"home/{household}/{kind}", json.dumps(body).encode(), int(ts.timestamp() * 1e6))


def _feed(dsn: str) -> None:
    """Three hours of telemetry up to now: household 1 talking, 2 silent for the last 40 minutes, 3 with its
    battery held at 95 % (the default maximum) for the last two hours; and one message that breaks the
    contract."""
    now = datetime.now(UTC).replace(microsecond=0)
    messages = []
    for minute in range(180):
        ts = now - timedelta(minutes=minute)
        messages.append(_message(1, "meter", ts, consumption_w=400))
        messages.append(_message(1, "battery", ts, soc_pct=50.0, power_w=0))
        if minute >= 40:
            messages.append(_message(2, "meter", ts, consumption_w=300))
        messages.append(_message(3, "battery", ts, soc_pct=95.0 if minute < 120 else 60.0, power_w=0))
    messages.append(RawMessage("home/1/meter", b"{not json", int(now.timestamp() * 1e6)))
    batch = decode_batch(messages, lambda _household: "Europe/Zurich")
    assert batch.quarantine, "the broken message is quarantined"
    with psycopg.connect(dsn, autocommit=True) as conn:
        TelemetryWriter(conn).write(batch)


def _metrics(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_alert_rules_pass_promtool_and_their_unit_tests():
    promtool = binary("promtool", "prometheus")
    for args in (["check", "rules", str(RULES)], ["test", "rules", str(PROMETHEUS / "alerts_test.yml")]):
        done = subprocess.run([promtool, *args], capture_output=True, text=True, cwd=PROMETHEUS)
        assert done.returncode == 0, done.stdout + done.stderr


def test_metrics_tell_freshness_battery_limits_quarantine_and_backups_and_prometheus_fires(
    settings, tmp_path
):
    ensure_schema(settings.pg_dsn)
    _feed(settings.pg_dsn)
    # a backup that fails (no pg_dump where PostgreSQL's programs should be) is recorded, for its alert
    failed = subprocess.run(
        domotic_command("backup", str(tmp_path / "backup")),
        env={**domotic_env(settings), "DOMOTIC_PG_BIN": str(tmp_path / "no-postgresql")},
        capture_output=True,
        text=True,
    )
    assert failed.returncode != 0 and "pg_dump is not in" in failed.stderr
    server = Serving(settings, tmp_path / "home")
    server.env["DOMOTIC_METRICS_PASSWORD"] = TOKEN
    server.start()
    try:
        assert httpx.get(f"{server.base}/metrics").status_code == 401
        assert httpx.get(f"{server.base}/api/apartments").status_code == 401  # counted by route
        answer = httpx.get(f"{server.base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        metrics = _metrics(answer.text)

        def value(name: str, **labels: str) -> float:
            return metrics[(name, tuple(sorted(labels.items())))]

        assert value("domotic_silence_limit_seconds") == 900
        assert value("domotic_telemetry_last_reading_age_seconds", household="1") < 120
        assert 2400 - 5 < value("domotic_telemetry_last_reading_age_seconds", household="2") < 2400 + 120
        assert value("domotic_battery_at_soc_limit_seconds", household="1") == 0
        assert value("domotic_battery_at_soc_limit_seconds", household="3") == pytest.approx(7200, abs=60)
        assert value("domotic_battery_soc_percent", household="3") == 95
        quarantined = [
            count
            for (name, labels), count in metrics.items()
            if name == "domotic_quarantined" and ("source", "mqtt_message") in labels
        ]
        assert quarantined == [1]
        assert value("domotic_operation_last_failed", operation="backup") == 1
        assert value("domotic_optimize_queue_length") == 0
        assert value("domotic_api_requests_total", route="/api/apartments", method="GET", status="401") == 1

        prometheus = PrometheusServer(tmp_path / "prometheus", f"127.0.0.1:{server.port}", TOKEN).start()
        try:
            firing = _wait_for_alerts(prometheus, 3)
        finally:
            prometheus.stop()
        assert ("DomoticHouseholdSilent", "2") in firing
        assert ("DomoticHouseholdSilent", "1") not in firing
        assert ("DomoticBatteryHeldAtSocLimit", "3") in firing
        assert ("DomoticBatteryHeldAtSocLimit", "1") not in firing
        assert ("DomoticOperationFailed", "backup") in firing
    finally:
        server.signal(15)


def _wait_for_alerts(prometheus: PrometheusServer, count: int, timeout: float = 60) -> set[tuple[str, str]]:
    """The alerts Prometheus fires, as (name, household or operation), once `count` fire (or the timeout)."""
    deadline = time.monotonic() + timeout
    firing: set[tuple[str, str]] = set()
    while time.monotonic() < deadline:
        alerts = httpx.get(f"{prometheus.api}/alerts", timeout=5).json()["data"]["alerts"]
        firing = {
            (a["labels"]["alertname"], a["labels"].get("household") or a["labels"].get("operation", ""))
            for a in alerts
            if a["state"] == "firing"
        }
        if len(firing) >= count:
            return firing
        time.sleep(0.5)
    targets = httpx.get(f"{prometheus.api}/targets", timeout=5).json()
    raise AssertionError(f"only {firing} fired; targets: {targets}")
