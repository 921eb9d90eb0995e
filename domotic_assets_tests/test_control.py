"""The controller against a real Mosquitto and PostgreSQL: each slot's commands sent at its start, none
sent twice across restarts, ended slots never sent late, a crash between sending and recording healed."""

import threading
import time
from datetime import UTC, datetime, timedelta

import orjson
import paho.mqtt.client as mqtt
import psycopg
import pytest

from domotic_assets.control.controller import Controller
from domotic_assets.optimise.plan import plan_day
from domotic_assets.optimise.scenario import read_scenario
from domotic_assets.stream.mqtt_client import MqttEndpoint
from domotic_assets.warehouse.schedule_tables import replace_schedule
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets_tests.cli_helpers import domotic_command

T0 = datetime(2023, 8, 18, 8, 0, tzinfo=UTC)


class Devices:
    """A household's devices: every command received on home/+/cmd."""

    def __init__(self, port: int):
        self.received: list[dict] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="devices", protocol=mqtt.MQTTv5)
        subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("home/+/cmd", qos=1)
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_message = lambda c, u, m: self.received.append(orjson.loads(m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(30)

    def keys(self) -> list[tuple]:
        return sorted((m["slot"], m["target"]) for m in self.received)

    def settle(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # and nothing more comes

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def store_schedule(
    dsn: str, start: datetime, step_minutes: float, slots: int, battery_follows_plan: bool = False
) -> str:
    """A household with a battery and a washer whose run must start in slot 1."""
    doc = {
        "start": start.isoformat(),
        "step_minutes": step_minutes,
        "price_import_chf_kwh": [0.1, 0.3] * (slots // 2),
        "price_export_chf_kwh": [0.0] * slots,
        "load_kw": [1.0] * slots,
        "pv_kw": [0.0] * slots,
        "battery": {
            "capacity_kwh": 4.0,
            "soc_init": 0.5,
            "soc_min": 0.1,
            "soc_max": 0.95,
            "soc_final": 0.5,
            "charge_kw_max": 2.0,
            "discharge_kw_max": 2.0,
            "eff_charge": 0.95,
            "eff_discharge": 0.95,
        },
        "grid": {"import_kw_max": 13, "export_kw_max": 13},
        "appliances": [{"name": "washer", "profile_kw": [2.0], "earliest_start": 1, "latest_end": 2}],
    }
    scenario = read_scenario(doc)
    plan = plan_day(scenario, battery_follows_plan)
    ensure_schema(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        stored = replace_schedule(conn, 1, "1", start.date(), scenario, plan, {}, doc)
    return stored.schedule_id


def outcomes(dsn: str) -> dict[tuple, str]:
    with psycopg.connect(dsn) as conn:
        return {(s, t): o for s, t, o in conn.execute("SELECT slot, target, outcome FROM meta.control_log")}


def test_each_slot_is_sent_once_at_its_start_and_a_restart_neither_resends_nor_skips(broker, warehouse_dsn):
    sid = store_schedule(warehouse_dsn, T0, 15, 6)
    devices = Devices(broker.port)
    endpoint = MqttEndpoint.from_url(f"mqtt://127.0.0.1:{broker.port}")
    now = {"t": T0 + timedelta(minutes=1)}

    def controller():
        return Controller(warehouse_dsn, endpoint, "controller", clock=lambda: now["t"])

    first = controller()
    assert first.tick()["sent"] == 1  # the battery's command of slot 0
    now["t"] = T0 + timedelta(minutes=16)
    assert first.tick()["sent"] == 2  # slot 1: the battery and the washer's start
    first.close()
    devices.settle(3)
    assert devices.keys() == [(0, "battery"), (1, "battery"), (1, "washer")]
    assert {m["schedule_id"] for m in devices.received} == {sid}

    now["t"] = T0 + timedelta(minutes=20)  # restarted in the middle of slot 1
    second = controller()
    assert second.tick() == {"sent": 0, "resent": 0, "acknowledged": 0, "expired": 0, "unconfirmed": 0}
    second.close()

    now["t"] = T0 + timedelta(minutes=50)  # away through slot 2, back in slot 3
    third = controller()
    counts = third.tick()
    assert counts["expired"] == 1 and counts["sent"] == 1
    third.close()
    devices.settle(4)
    assert devices.keys() == [(0, "battery"), (1, "battery"), (1, "washer"), (3, "battery")]
    log = outcomes(warehouse_dsn)
    assert log[(2, "battery")] == "expired" and all(v == "acknowledged" for k, v in log.items() if k[0] != 2)
    battery = next(m for m in devices.received if m["slot"] == 3 and m["target"] == "battery")
    # by default the battery runs its rule, keeping the reserve for the day's end (soc_final 0.5)
    assert (
        battery["action"] == "self_consumption" and 10 <= battery["setpoint"] <= 50 and battery["valid_until"]
    )
    devices.close()


def test_a_battery_told_to_follow_the_plan_gets_the_plans_setpoints(broker, warehouse_dsn):
    store_schedule(warehouse_dsn, T0, 15, 4, battery_follows_plan=True)
    devices = Devices(broker.port)
    endpoint = MqttEndpoint.from_url(f"mqtt://127.0.0.1:{broker.port}")
    with psycopg.connect(warehouse_dsn) as conn:
        planned = conn.execute(
            "SELECT battery_charge_kw, battery_discharge_kw FROM gold.schedules WHERE slot = 0"
        ).fetchone()
    controller = Controller(warehouse_dsn, endpoint, "controller", clock=lambda: T0 + timedelta(minutes=1))
    assert controller.tick()["sent"] == 1
    controller.close()
    devices.settle(1)
    (command,) = devices.received
    charge, discharge = planned
    # slot 0 is cheap (0.1 against 0.3): the plan charges for the dear slots
    assert command["action"] == "charge" and charge > 0 and discharge == 0
    assert command["setpoint"] == pytest.approx(charge, abs=1e-3)
    devices.close()


def test_a_command_recorded_but_not_confirmed_before_a_crash_is_sent_again_within_its_slot(
    broker, warehouse_dsn
):
    store_schedule(warehouse_dsn, T0, 15, 4)
    devices = Devices(broker.port)
    endpoint = MqttEndpoint.from_url(f"mqtt://127.0.0.1:{broker.port}")
    with psycopg.connect(
        warehouse_dsn, autocommit=True
    ) as conn:  # as if killed right after recording its intent
        conn.execute("""INSERT INTO meta.control_log (schedule_id, slot, target, household, topic, payload,
                            due_at, until, outcome)
                        SELECT schedule_id, slot, 'battery', household, 'home/1/cmd', '{}', slot_start,
                            slot_end, 'sending'
                        FROM gold.schedules WHERE slot IN (0, 1)""")
    controller = Controller(warehouse_dsn, endpoint, "controller", clock=lambda: T0 + timedelta(minutes=20))
    counts = controller.tick()
    controller.close()
    assert (
        counts["unconfirmed"] == 1 and counts["resent"] == 1 and counts["sent"] == 1
    )  # slot 0 over; slot 1 again + washer
    devices.settle(2)
    assert devices.keys() == [(1, "battery"), (1, "washer")]
    assert outcomes(warehouse_dsn) == {
        (0, "battery"): "unconfirmed",
        (1, "battery"): "acknowledged",
        (1, "washer"): "acknowledged",
    }
    devices.close()


def test_domotic_control_sends_live_and_stops_cleanly(broker, warehouse_dsn, tmp_path):
    import os
    import signal
    import subprocess
    import time

    devices = Devices(broker.port)
    env = {
        **os.environ,
        "DOMOTIC_HOME": str(tmp_path / "home"),
        "DOMOTIC_PG_DSN": warehouse_dsn,
        "DOMOTIC_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
    }
    said = tmp_path / "stderr"
    with said.open("w") as stderr:
        process = subprocess.Popen(
            domotic_command("control", "--interval", "0.5"),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        # the schedule starts once the controller runs: its start-up (seconds on a loaded machine) would
        # otherwise eat slot 0
        deadline = time.monotonic() + 60
        while "controlling through" not in said.read_text():
            assert process.poll() is None and time.monotonic() < deadline, said.read_text()
            time.sleep(0.1)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
        store_schedule(warehouse_dsn, start, 0.1, 4)  # four 6-second slots, from 2-3 s after now
        devices.settle(5, timeout=40)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(30) == 0
    assert devices.keys() == [(0, "battery"), (1, "battery"), (1, "washer"), (2, "battery"), (3, "battery")]
    devices.close()
