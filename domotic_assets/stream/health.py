"""What the streaming consumer reports about itself: Prometheus metrics and a structured log line.

Counters are kept as plain integers on the hot path and published once per batch, so reporting
costs nothing per message.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import UTC, datetime

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

OUTCOMES = ("stored", "buffered", "replayed")
"""A message's batch was committed to the warehouse, kept in the disk buffer, or replayed from it."""


class StreamHealth:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._messages = Counter(
            "domotic_stream_messages", "Messages made durable, by how", ["outcome"], registry=self.registry
        )
        self._readings = Counter(
            "domotic_stream_readings",
            "Readings written, new or already stored",
            ["outcome"],
            registry=self.registry,
        )
        self._quarantined = Counter(
            "domotic_stream_quarantined", "Messages put in quarantine", registry=self.registry
        )
        self._batch = Histogram(
            "domotic_stream_batch_seconds",
            "From a batch's first message to its acknowledgement",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self._buffer = Gauge(
            "domotic_stream_buffer_messages", "Messages waiting in the disk buffer", registry=self.registry
        )
        self._last = Gauge(
            "domotic_stream_last_message_timestamp_seconds",
            "When the newest message arrived",
            registry=self.registry,
        )
        self._warehouse = Gauge(
            "domotic_stream_warehouse_up", "1 while the warehouse accepts writes", registry=self.registry
        )
        self._broker = Gauge(
            "domotic_stream_broker_connected", "1 while connected to the broker", registry=self.registry
        )
        self.totals = {
            "received": 0,
            **{o: 0 for o in OUTCOMES},
            "new_readings": 0,
            "duplicate_readings": 0,
            "quarantined": 0,
        }
        self.buffer_messages = 0
        self.last_message_us = 0
        self.warehouse_up = False
        self.broker_connected = False
        self._latencies: deque[float] = deque(maxlen=2000)
        self._since = (time.monotonic(), 0)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose the metrics at http://host:port/metrics."""
        start_http_server(port, addr=host, registry=self.registry)

    def batch(
        self,
        outcome: str,
        messages: int,
        latency_s: float,
        newest_us: int,
        new_readings: int = 0,
        duplicates: int = 0,
        quarantined: int = 0,
    ) -> None:
        self.totals[outcome] += messages
        self.totals["new_readings"] += new_readings
        self.totals["duplicate_readings"] += duplicates
        self.totals["quarantined"] += quarantined
        self._messages.labels(outcome).inc(messages)
        self._readings.labels("new").inc(new_readings)
        self._readings.labels("duplicate").inc(duplicates)
        self._quarantined.inc(quarantined)
        if latency_s >= 0:
            self._batch.observe(latency_s)
            self._latencies.append(latency_s)
        if newest_us > self.last_message_us:
            self.last_message_us = newest_us
            self._last.set(newest_us / 1e6)

    def state(
        self,
        *,
        buffer_messages: int | None = None,
        warehouse_up: bool | None = None,
        broker_connected: bool | None = None,
    ) -> None:
        if buffer_messages is not None:
            self.buffer_messages = buffer_messages
            self._buffer.set(buffer_messages)
        if warehouse_up is not None:
            self.warehouse_up = warehouse_up
            self._warehouse.set(int(warehouse_up))
        if broker_connected is not None:
            self.broker_connected = broker_connected
            self._broker.set(int(broker_connected))

    def snapshot(self) -> dict:
        """The figures of the health log line; the rate is over the time since the previous snapshot."""
        now, received = time.monotonic(), self.totals["received"]
        then, before = self._since
        self._since = (now, received)
        latencies = np.array(self._latencies) if self._latencies else np.zeros(1)
        last = (
            datetime.fromtimestamp(self.last_message_us / 1e6, UTC).isoformat(timespec="seconds")
            if self.last_message_us
            else None
        )
        return {
            "event": "stream_health",
            "messages_per_s": round((received - before) / max(now - then, 1e-9), 1),
            **self.totals,
            "batch_p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 1),
            "batch_p95_ms": round(float(np.percentile(latencies, 95)) * 1000, 1),
            "buffer_messages": self.buffer_messages,
            "last_message_at": last,
            "warehouse": "up" if self.warehouse_up else "down",
            "broker": "connected" if self.broker_connected else "disconnected",
        }
