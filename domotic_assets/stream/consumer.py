"""`domotic stream`: the durable consumer of live telemetry (shared/contracts/mqtt.md).

How it keeps every message exactly once:

* **Persistent session, QoS 1**: a fixed client id, MQTT 5 with a session expiry, `clean_start`
  off. The broker keeps what is published while the consumer is away, and sends again whatever
  it has not acknowledged.
* **Acknowledged only once durable**: messages are acknowledged by hand, after their batch was
  committed to PostgreSQL, or appended and fsync'ed to the disk buffer while the warehouse is
  unreachable. The buffer is replayed in order, and emptied, as soon as the warehouse answers;
  new batches wait behind it so the order holds.
* **Stored once**: every reading has a natural key and is inserted with `ON CONFLICT DO NOTHING`;
  redeliveries, duplicates and a replay after a crash change nothing.
* **Bounded**: the MQTT 5 receive maximum caps the messages in flight, hence the memory.

Batches flush when `batch_size` messages wait or `flush_seconds` after the previous flush, so a
quiet stream is not held back. A malformed message goes to quarantine and the stream carries on.
A batch the warehouse rejects for its content (not for being down) is written message by message
so that only the culprit is quarantined. SIGTERM: the messages received are flushed and
acknowledged, then the session is left for the next start.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg

from domotic_assets.contracts.mqtt_message import SUBSCRIPTIONS, RawMessage
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.stream.disk_buffer import DiskBuffer
from domotic_assets.stream.health import StreamHealth
from domotic_assets.stream.mqtt_client import MqttEndpoint, connect_properties, new_client
from domotic_assets.transform.telemetry import decode_batch, rejected
from domotic_assets.warehouse import reference_tables
from domotic_assets.warehouse.connection import connect
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets.warehouse.telemetry_tables import TelemetryWriter, WriteResult

log = logging.getLogger("domotic.stream")


@dataclass(frozen=True)
class StreamOptions:
    client_id: str = "domotic-stream"
    """The session's identity at the broker: the same id resumes the same session."""
    share_group: str | None = None
    """Subscribe as a member of this MQTT 5 shared subscription (several consumers split the stream)."""
    batch_size: int = 5000
    flush_seconds: float = 0.2
    receive_maximum: int = 20_000
    """Unacknowledged messages the broker may send at once (MQTT 5 Receive Maximum, at most 65535)."""
    session_expiry_seconds: int = 14 * 24 * 3600
    """How long the broker keeps the session (and its queued messages) while the consumer is away."""
    retry_seconds: float = 2.0
    """How often to try the warehouse again while it is down."""
    health_seconds: float = 10.0
    keepalive_seconds: int = 30


class StreamConsumer:
    """One consumer: paho's network thread receives, a writer thread stores and acknowledges."""

    def __init__(
        self,
        endpoint: MqttEndpoint,
        dsn: str,
        buffer_dir: Path,
        options: StreamOptions = StreamOptions(),
        health: StreamHealth | None = None,
        report: Callable[[dict], None] | None = None,
    ):
        self.endpoint, self.dsn, self.options = endpoint, dsn, options
        self.buffer = DiskBuffer(buffer_dir)
        self.health = health or StreamHealth()
        self.report = report or (lambda figures: log.info(json.dumps(figures)))
        self._pending: deque = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.subscribed = threading.Event()
        """Set once the broker confirmed the subscriptions of the current connection."""
        self._generation = 0
        self._conn: psycopg.Connection | None = None
        self._writer: TelemetryWriter | None = None
        self._zones: dict[str, str] = {}
        self._retry_at = 0.0
        self._schema_ready = False
        self._client = new_client(endpoint, options.client_id, manual_ack=True, bulk=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._thread = threading.Thread(target=self._write_loop, name="stream-writer", daemon=True)
        self.health.state(buffer_messages=self.buffer.messages)

    # -- broker side (paho's network thread) -------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning(
                json.dumps(
                    {"event": "broker_refused", "broker": self.endpoint.url, "reason": str(reason_code)}
                )
            )
            return
        self._generation += 1
        prefix = f"$share/{self.options.share_group}/" if self.options.share_group else ""
        client.subscribe([(prefix + topic, 1) for topic in SUBSCRIPTIONS])
        self.health.state(broker_connected=True)
        log.info(
            json.dumps(
                {
                    "event": "broker_connected",
                    "broker": self.endpoint.url,
                    "session_present": bool(flags.session_present),
                }
            )
        )

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            log.warning(json.dumps({"event": "subscription_refused", "reasons": refused}))
            return
        self.subscribed.set()
        log.info(json.dumps({"event": "subscribed", "topics": len(reason_codes)}))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.subscribed.clear()
        self.health.state(broker_connected=False)
        if not self._stopping.is_set():
            log.warning(
                json.dumps(
                    {"event": "broker_disconnected", "broker": self.endpoint.url, "reason": str(reason_code)}
                )
            )

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        self._pending.append(
            (
                self._generation,
                message.mid,
                message.qos,
                RawMessage(message.topic, message.payload, time.time_ns() // 1000),
            )
        )
        self.health.totals["received"] += 1
        if len(self._pending) >= self.options.batch_size:
            self._wake.set()

    # -- warehouse side (the writer thread) ---------------------------------------------------

    def _connected_writer(self) -> TelemetryWriter | None:
        """The warehouse writer, reconnecting at most every `retry_seconds` while it is down."""
        if self._writer is not None:
            return self._writer
        if time.monotonic() < self._retry_at:
            return None
        try:
            if not self._schema_ready:
                ensure_schema(self.dsn)
                self._schema_ready = True
            self._conn = connect(self.dsn, autocommit=True, connect_timeout=5)
            self._writer = TelemetryWriter(self._conn)
            self._zones = reference_tables.building_zones(self._conn)
        except psycopg.OperationalError as exc:
            self._warehouse_down(exc)
            return None
        self.health.state(warehouse_up=True)
        log.info(json.dumps({"event": "warehouse_up"}))
        return self._writer

    def _warehouse_down(self, exc: Exception) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = self._writer = None
        self._retry_at = time.monotonic() + self.options.retry_seconds
        if self.health.warehouse_up or not self._schema_ready:
            log.warning(json.dumps({"event": "warehouse_down", "error": str(exc).strip()[:300]}))
        self.health.state(warehouse_up=False)

    def _tz_of(self, source: str) -> str:
        return self._zones.get(source, PLATFORM_TIMEZONE)

    def _store(self, messages: list[RawMessage]) -> WriteResult:
        """Write messages to the warehouse (raises OperationalError when it is unreachable)."""
        writer = self._connected_writer()
        if writer is None:
            raise psycopg.OperationalError("warehouse unreachable")
        try:
            return writer.write(decode_batch(messages, self._tz_of))
        except psycopg.OperationalError as exc:
            self._warehouse_down(exc)
            raise
        except psycopg.Error:
            if len(messages) == 1:  # its readings were refused (a NUL in a text, say): quarantined instead
                return writer.write(rejected(messages[0], "rejected_by_warehouse"))
            results = [self._store([one]) for one in messages]
            return WriteResult(
                *(sum(getattr(r, f) for r in results) for f in WriteResult.__dataclass_fields__)
            )

    def _replay(self) -> bool:
        """Move the disk buffer into the warehouse, oldest first; False if the warehouse is down."""
        for path, messages in self.buffer.segments():
            started = time.monotonic()
            try:
                result = self._store(messages)
            except psycopg.OperationalError:
                return False
            self.buffer.remove(path, len(messages))
            self.health.batch(
                "replayed",
                len(messages),
                -1,
                0,
                result.household_rows + result.sensor_rows,
                result.duplicates,
                result.quarantined,
            )
            log.info(
                json.dumps(
                    {
                        "event": "buffer_replayed",
                        "messages": len(messages),
                        "seconds": round(time.monotonic() - started, 3),
                        "left": self.buffer.messages,
                    }
                )
            )
        self.health.state(buffer_messages=self.buffer.messages)
        return True

    def _persist(self, batch: list[tuple]) -> None:
        messages = [item[3] for item in batch]
        oldest, newest = messages[0].received_us, max(m.received_us for m in messages)
        result = None
        if self.buffer.empty or self._replay():
            try:
                result = self._store(messages)
            except psycopg.OperationalError:
                result = None
        if result is None:
            self.buffer.append(messages)
            self.health.state(buffer_messages=self.buffer.messages)
        latency = time.time() - oldest / 1e6
        if result:
            self.health.batch(
                "stored",
                len(messages),
                latency,
                newest,
                result.household_rows + result.sensor_rows,
                result.duplicates,
                result.quarantined,
            )
        else:
            self.health.batch("buffered", len(messages), latency, newest)
        # acknowledgements of an earlier connection are void: the broker sends those messages again
        self._client.ack_many(
            [mid for generation, mid, qos, _ in batch if qos and generation == self._generation]
        )

    def _take(self) -> list[tuple]:
        return [self._pending.popleft() for _ in range(len(self._pending))]

    def _write_loop(self) -> None:
        next_report = time.monotonic() + self.options.health_seconds
        self._connected_writer()
        while True:
            self._wake.wait(self.options.flush_seconds)
            self._wake.clear()
            stopping = self._stopping.is_set()
            batch = self._take()
            try:
                if batch:
                    self._persist(batch)
                elif not self.buffer.empty and self._connected_writer() is not None:
                    self._replay()
            except Exception:  # never die silently: what was not acknowledged comes again
                log.exception(
                    "stream writer failed on a batch of %d messages; they will be redelivered", len(batch)
                )
            if time.monotonic() >= next_report:
                self.report(self.health.snapshot())
                next_report = time.monotonic() + self.options.health_seconds
            if stopping:
                return

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> StreamConsumer:
        o = self.options
        self._client.connect_async(
            self.endpoint.host,
            self.endpoint.port,
            keepalive=o.keepalive_seconds,
            clean_start=False,
            properties=connect_properties(o.session_expiry_seconds, o.receive_maximum),
        )
        self._client.loop_start()
        self._thread.start()
        return self

    @property
    def connections(self) -> int:
        """Successful connections to the broker so far (a reconnect adds one)."""
        return self._generation

    def wait_until_durable(self, messages: int, timeout: float) -> bool:
        """Wait until at least `messages` messages were stored or buffered (True) or `timeout` passed."""
        deadline = time.monotonic() + timeout
        while self.health.totals["stored"] + self.health.totals["buffered"] < messages:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        """Flush and acknowledge what was received, then leave (the session stays at the broker)."""
        self._stopping.set()
        self._wake.set()
        self._thread.join()
        self._client.disconnect()
        self._client.loop_stop()
        if self._conn is not None:
            self._conn.close()
        self.report(self.health.snapshot())
