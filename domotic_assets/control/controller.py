"""`domotic control`: sends each due slot of the current schedules in `gold.schedules` at its start.

Idempotent by schedule, slot and target (`meta.control_log`):

* a command is recorded (`sending`) before it is published at QoS 1 and marked `acknowledged`
  when the broker has it: a restart never sends again what was acknowledged;
* a command still `sending` after a crash is sent again while its slot lasts (a device sees the
  same schedule id and slot twice at most), and becomes `unconfirmed` once the slot is over;
* a slot that ended while no controller ran is recorded `expired`, never sent late: a battery
  setpoint of 10:00 is wrong at 10:20. The slot in progress is always sent, even late in the slot.

Only one controller acts at a time (it holds a PostgreSQL advisory lock while it runs), so a standby can
run beside it and takes over when it dies.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg

from domotic_assets.control.commands import Command, slot_commands
from domotic_assets.stream.mqtt_client import MqttEndpoint
from domotic_assets.stream.publisher import Publisher
from domotic_assets.warehouse import schedule_tables
from domotic_assets.warehouse.connection import connect
from domotic_assets.warehouse.schema import ensure_schema

log = logging.getLogger("domotic.control")
LOOKBACK = timedelta(days=1)
"""How far back ended slots are looked at to record them as expired."""


class Controller:
    def __init__(
        self,
        dsn: str,
        endpoint: MqttEndpoint,
        client_id: str = "domotic-controller",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ack_timeout: float = 30.0,
    ):
        ensure_schema(dsn)
        self.dsn, self.clock, self.ack_timeout = dsn, clock, ack_timeout
        self.publisher = Publisher(endpoint, client_id, session_expiry=24 * 3600)
        self._published: set[tuple] = set()  # sent by this process, acknowledgement pending
        self._lock_conn: psycopg.Connection | None = None
        self._leading = False

    def _leader(self) -> bool:
        """Whether this controller acts: it holds a session advisory lock for as long as it runs, so a
        standby waits until the active one is gone."""
        if self._lock_conn is None or self._lock_conn.closed or self._lock_conn.broken:
            self._lock_conn, self._leading = connect(self.dsn, autocommit=True), False
        if not self._leading:
            self._leading = self._lock_conn.execute(
                "SELECT pg_try_advisory_lock(hashtext('domotic.controller'))"
            ).fetchone()[0]
        return self._leading

    @staticmethod
    def _commands(conn: psycopg.Connection, now: datetime, ended: bool) -> list[Command]:
        """Commands of the current plans whose slot is in progress, or (ended) ended within LOOKBACK."""
        rows = schedule_tables.slot_rows(conn, now, now - LOOKBACK if ended else None)
        return [c for *slot, appliance_starts in rows for c in slot_commands(*slot, list(appliance_starts))]

    def tick(self) -> dict[str, int]:
        """Send what is due now; record what can no longer be sent. Returns counts by what happened."""
        now = self.clock()
        counts = {"sent": 0, "resent": 0, "acknowledged": 0, "expired": 0, "unconfirmed": 0}
        if not self._leader():
            return counts  # another controller is acting
        with connect(self.dsn, autocommit=True) as conn:
            with conn.transaction():
                counts["unconfirmed"] = schedule_tables.mark_unconfirmed(conn, now)
                for c in self._commands(conn, now, ended=True):
                    counts["expired"] += schedule_tables.record_expired(conn, c.log_values)
                due = []
                for c in self._commands(conn, now, ended=False):
                    first = schedule_tables.record_sending(conn, c.log_values)
                    if first is None or (c.schedule_id, c.slot, c.target) in self._published:
                        continue  # acknowledged before, or sent by this process and on its way
                    due.append(c)
                    counts["sent" if first else "resent"] += 1
            for c in due:
                self.publisher.publish(c.topic, c.payload)
                self._published.add((c.schedule_id, c.slot, c.target))
            if self._published and self.publisher.wait(self.ack_timeout):
                counts["acknowledged"] = schedule_tables.mark_acknowledged(conn, sorted(self._published))
                self._published.clear()
        if any(counts.values()):
            log.info(json.dumps({"event": "control_tick", "at": now.isoformat(timespec="seconds"), **counts}))
        return counts

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Tick every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                self.tick()
            except psycopg.OperationalError as exc:  # the warehouse is away: try again next tick
                log.warning(json.dumps({"event": "warehouse_down", "error": str(exc).strip()[:200]}))
            stop.wait(interval)

    def close(self) -> None:
        self.publisher.close(timeout=self.ack_timeout)
        if self._lock_conn is not None:
            self._lock_conn.close()
