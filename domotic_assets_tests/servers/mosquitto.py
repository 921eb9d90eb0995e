"""A private Mosquitto broker with persistence (for the MQTT tests), configured as the platform's own."""

from __future__ import annotations

from domotic_assets.stream.broker import broker_config, mosquitto_binary
from domotic_assets_tests.servers.base import PrivateServer


class MosquittoServer(PrivateServer):
    kind = "Mosquitto"

    def prepare(self) -> None:
        self._mosquitto = mosquitto_binary()
        (self.folder / "data").mkdir(exist_ok=True)
        (self.folder / "mosquitto.conf").write_text(broker_config(self.port, self.folder, self.user))

    def command(self) -> list[str]:
        return [self._mosquitto, "-c", str(self.folder / "mosquitto.conf")]

    def info(self) -> dict:
        return {**super().info(), "url": f"mqtt://127.0.0.1:{self.port}"}
