"""A private Mosquitto broker with persistence (for the MQTT tests)."""

from __future__ import annotations

from domotic_assets_tests.servers.base import PrivateServer, binary

CONFIG = """listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {folder}/data/
pid_file {folder}/mosquitto.pid
user {user}
max_queued_messages 0
log_dest stdout
"""


class MosquittoServer(PrivateServer):
    kind = "Mosquitto"

    def prepare(self) -> None:
        self._mosquitto = binary("mosquitto", "mosquitto")
        (self.folder / "data").mkdir(exist_ok=True)
        (self.folder / "mosquitto.conf").write_text(CONFIG.format(port=self.port, folder=self.folder, user=self.user))

    def command(self) -> list[str]:
        return [self._mosquitto, "-c", str(self.folder / "mosquitto.conf")]

    def info(self) -> dict:
        return {**super().info(), "url": f"mqtt://127.0.0.1:{self.port}"}
