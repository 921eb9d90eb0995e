"""A private Mosquitto broker inside `DOMOTIC_HOME`, for when no `DOMOTIC_MQTT_URL` is given.

It runs Debian's `mosquitto` (installed when missing and we are root) on 127.0.0.1, on a port it
chose itself and keeps across restarts, with persistence in its own folder. Unlike Mosquitto's
defaults it never drops a QoS 1 message of an offline persistent session (`max_queued_messages`
is 1000 by default) and saves its store every 30 s as well as on shutdown.
"""

from __future__ import annotations

import fcntl
import getpass
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from domotic_assets.local_ports import free_port, port_answers, port_free
from domotic_assets.system_packages import apt_install


def broker_config(port: int, folder: Path, user: str) -> str:
    """The configuration of a private broker listening on 127.0.0.1:`port`, state in `folder`."""
    return f"""# domotic: a private broker for the telemetry stream
listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {folder}/data/
autosave_interval 30
pid_file {folder}/mosquitto.pid
user {user}
# an offline persistent session keeps every QoS 1 message (the default, 1000, drops the rest)
max_queued_messages 0
max_queued_bytes 0
persistent_client_expiration 14d
log_dest stdout
log_type error
log_type warning
log_type notice
"""


def mosquitto_binary() -> str:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    apt_install("mosquitto")
    return "/usr/sbin/mosquitto"


class EmbeddedBroker:
    """One private broker in `folder` (`mosquitto.conf`, `data/`, `broker.log`, `port`)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()

    @property
    def _pid_file(self) -> Path:
        return self.folder / "group.pid"

    def _pid(self) -> int | None:
        try:
            pid = int(self._pid_file.read_text())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def running_port(self) -> int | None:
        port_file = self.folder / "port"
        if self._pid() and port_file.exists() and port_answers(int(port_file.read_text())):
            return int(port_file.read_text())
        return None

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def ensure_running(self) -> tuple[str, bool]:
        """Start the broker if it is not running. Returns (its mqtt:// URL, whether this call started it)."""
        with self._lock():
            port = self.running_port()
            if port:
                return f"mqtt://127.0.0.1:{port}", False
            (self.folder / "data").mkdir(parents=True, exist_ok=True)
            port_file = self.folder / "port"
            port = int(port_file.read_text()) if port_file.exists() else 0
            if not port or not port_free(port):
                port = free_port()
            config = self.folder / "mosquitto.conf"
            config.write_text(broker_config(port, self.folder, getpass.getuser()))
            with open(self.folder / "broker.log", "ab") as log:
                process = subprocess.Popen(
                    [mosquitto_binary(), "-c", str(config)],
                    stdout=log,
                    stderr=log,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            self._pid_file.write_text(str(process.pid))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and process.poll() is None and not port_answers(port):
                time.sleep(0.05)
            if process.poll() is not None or not port_answers(port):
                tail = (self.folder / "broker.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the private Mosquitto broker did not start on port {port}:\n{tail}")
            port_file.write_text(str(port))
            return f"mqtt://127.0.0.1:{port}", True

    def stop(self) -> None:
        """A clean shutdown: Mosquitto saves its store, so queued messages survive."""
        with self._lock():
            pid = self._pid()
            if not pid:
                return
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self._pid():
                time.sleep(0.05)
                with suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
            if self._pid():
                os.killpg(pid, signal.SIGKILL)
            self._pid_file.unlink(missing_ok=True)


@contextmanager
def broker_url(configured_url: str | None, folder: Path) -> Iterator[str]:
    """The broker to use: the configured one, or the private broker, stopped on exit if we started it."""
    if configured_url:
        yield configured_url
        return
    broker = EmbeddedBroker(folder)
    url, started = broker.ensure_running()
    try:
        yield url
    finally:
        if started:
            broker.stop()
