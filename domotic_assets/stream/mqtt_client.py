"""Reaching the telemetry broker: the endpoint of `DOMOTIC_MQTT_URL`, and paho clients built from it.

`mqtt://[user@]host[:port]` or `mqtts://...` (TLS, port 8883 by default). The password, the CA
bundle and a client certificate come from `settings.source_secrets("MQTT")`, never from the URL.

`BulkClient` is paho's client with two changes that matter at thousands of messages a second:
socket reads are buffered (paho reads every packet in three or more `recv` calls, one syscall
each), and `ack_many` sends the acknowledgements of a whole batch in one write. Everything else
(the protocol, sessions, reconnection, TLS) is paho's own.
"""

from __future__ import annotations

import ssl
import struct
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SCHEMES = {"mqtt": (False, 1883), "mqtts": (True, 8883)}
READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class MqttEndpoint:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @classmethod
    def from_url(cls, url: str, secrets: dict[str, str] | None = None) -> MqttEndpoint:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise ValueError(
                f"broker URL must start with mqtt:// or mqtts://, not {url.split('://')[0]!r}://"
            )
        if parts.password is not None:
            raise ValueError(
                "a password in the broker URL is refused: set DOMOTIC_MQTT_PASSWORD or the secrets file"
            )
        if not parts.hostname:
            raise ValueError(f"no host in broker URL {url!r}")
        tls, default_port = SCHEMES[parts.scheme]
        secrets = secrets or {}
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=secrets.get("password"),
            ca_file=secrets.get("ca_file"),
            cert_file=secrets.get("cert_file"),
            key_file=secrets.get("key_file"),
        )

    @property
    def url(self) -> str:
        """The endpoint for messages and logs (never with a secret)."""
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


class BulkClient(mqtt.Client):
    """paho's MQTT client, reading the socket in large chunks and acknowledging many messages at once."""

    _read_buffer = b""
    _read_position = 0
    _read_socket = None

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._sock is not self._read_socket:  # a new connection: nothing buffered belongs to it
            self._read_socket, self._read_buffer, self._read_position = self._sock, b"", 0
        if self._read_position >= len(self._read_buffer):
            data = super()._sock_recv(READ_CHUNK)
            if not data:
                return data
            self._read_buffer, self._read_position = data, 0
        start = self._read_position
        self._read_position = start + bufsize
        return self._read_buffer[start : self._read_position]

    def _buffered(self) -> bool:
        return (
            self._sock is not None
            and self._sock is self._read_socket
            and self._read_position < len(self._read_buffer)
        )

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        # select() cannot see what is already buffered: handle it before waiting on the socket again
        rc = super().loop_read(max_packets)
        while rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS and self._buffered():
            rc = super().loop_read(max_packets)
        return rc

    def ack_many(self, mids: list[int]) -> None:
        """PUBACK every message id (QoS 1, manual acknowledgement), in one socket write."""
        if mids:
            packet = b"".join(struct.pack("!BBH", 0x40, 2, mid) for mid in mids)
            self._packet_queue(0x40, packet, 0, 0)


def connect_properties(session_expiry: int | None = None, receive_maximum: int | None = None) -> Properties:
    """MQTT 5 CONNECT properties: how long the broker keeps the session, how many unacknowledged
    messages it may send at once (the consumer's memory bound)."""
    properties = Properties(PacketTypes.CONNECT)
    if session_expiry is not None:
        properties.SessionExpiryInterval = session_expiry
    if receive_maximum is not None:
        properties.ReceiveMaximum = receive_maximum
    return properties


def new_client(
    endpoint: MqttEndpoint, client_id: str, *, manual_ack: bool = False, bulk: bool = False
) -> mqtt.Client:
    """A paho client (MQTT 5) with the endpoint's credentials and TLS set; not connected yet."""
    kind = BulkClient if bulk else mqtt.Client
    client = kind(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack
    )
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set(
            ca_certs=endpoint.ca_file,
            certfile=endpoint.cert_file,
            keyfile=endpoint.key_file,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    return client
