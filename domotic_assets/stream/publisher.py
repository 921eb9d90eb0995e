"""Publishing at QoS 1 without losing a message: the simulator's meters and the schedule controller.

The client keeps a persistent session and a bounded window of unacknowledged messages (paho
sends those again itself after a reconnect, and queues what is published while the broker is
away); `close()` returns once the broker has acknowledged everything, so the caller knows what
the broker really holds.
"""

from __future__ import annotations

import threading
import time

from domotic_assets.stream.mqtt_client import MqttEndpoint, connect_properties, new_client

WINDOW = 500
"""Messages in flight at once. paho rescans its outgoing queue on every acknowledgement, so a much
larger window costs more than it gains (measured: 20,000 in flight made publishing 3x slower)."""


class Publisher:
    def __init__(
        self, endpoint: MqttEndpoint, client_id: str, session_expiry: int = 3600, window: int = WINDOW
    ):
        self.window = window
        self.published = 0
        self.acknowledged = 0
        self._outstanding: set[int] = set()
        self._early: set[int] = set()  # acknowledged before publish() had noted them
        self._changed = threading.Condition()
        self.client = new_client(endpoint, client_id)
        self.client.max_inflight_messages_set(window)
        self.client.reconnect_delay_set(min_delay=0.5, max_delay=10)
        self.client.on_publish = self._on_publish
        self.client.connect_async(
            endpoint.host,
            endpoint.port,
            keepalive=30,
            clean_start=False,
            properties=connect_properties(session_expiry),
        )
        self.client.loop_start()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._changed:
            if mid in self._outstanding:
                self._outstanding.discard(mid)
            else:
                self._early.add(mid)
            self.acknowledged += 1
            self._changed.notify_all()

    def _wait(self, most: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._outstanding) > most:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"the broker acknowledged {self.acknowledged} of {self.published} messages "
                        f"within {timeout:.0f} s"
                    )
                self._changed.wait(min(left, 1.0))

    def publish(self, topic: str, payload: bytes, qos: int = 1, timeout: float = 600) -> None:
        """Queue one message; waits while the window is full (the broker is slow or away)."""
        self._wait(self.window - 1, timeout)
        # never hold our lock while paho works: its network thread calls _on_publish under its own
        mid = self.client.publish(topic, payload, qos=qos).mid
        with self._changed:
            if mid in self._early:
                self._early.discard(mid)
            else:
                self._outstanding.add(mid)
        self.published += 1

    def wait(self, timeout: float) -> bool:
        """Whether the broker acknowledged everything published so far within `timeout` seconds."""
        try:
            self._wait(0, timeout)
            return True
        except TimeoutError:
            return False

    def close(self, timeout: float = 600) -> None:
        """Wait until the broker has acknowledged every message, then disconnect."""
        try:
            self._wait(0, timeout)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
