"""What every private test server shares: a folder, a port on 127.0.0.1, a process group to stop."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from domotic_assets.local_ports import free_port, port_answers, port_free  # noqa: F401 (re-exported)
from domotic_assets.system_packages import apt_install


def _find(name: str) -> str | None:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def binary(name: str, package: str) -> str:
    """The path of a server binary, installing its Debian package when it is missing."""
    if not _find(name):
        apt_install(package)
    found = _find(name)
    if not found:
        raise RuntimeError(f"{name} not found even after installing {package}")
    return found


class PrivateServer:
    """One server process on 127.0.0.1:`port` with everything it writes under `folder`.

    Subclasses write their configuration in `prepare()` and give their command line; the
    process runs in its own session, so `stop()` (SIGTERM) and `kill()` (SIGKILL) reach every
    child it forked, as a crash or an operator would."""

    kind = "server"
    start_timeout = 60.0

    def __init__(self, folder: Path, port: int | None = None):
        self.folder = Path(folder).resolve()
        self.port = port or free_port()
        self.user = getpass.getuser()
        self.process: subprocess.Popen | None = None

    def prepare(self) -> None:
        """Write configuration and initial data (idempotent)."""

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return port_answers(self.port)

    def info(self) -> dict:
        """What a client needs to reach this server (JSON-serialisable)."""
        return {"host": "127.0.0.1", "port": self.port, "folder": str(self.folder)}

    @property
    def log_path(self) -> Path:
        return self.folder / "server.log"

    def start(self) -> PrivateServer:
        if not port_free(self.port):
            raise RuntimeError(f"{self.kind}: port {self.port} is already taken")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prepare()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.folder,
            )
        (self.folder / "group.pid").write_text(str(self.process.pid))
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self.ready():
                return self
            time.sleep(0.1)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        self.kill()
        raise RuntimeError(
            f"{self.kind} did not start on port {self.port}; its log ({self.log_path}):\n{tail}"
        )

    def _signal(self, sig: int) -> None:
        pid_file = self.folder / "group.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text())
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pid_file.unlink(missing_ok=True)
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _has_live_member(pid):
            time.sleep(0.05)
        if _has_live_member(pid):
            os.killpg(pid, signal.SIGKILL)
        if self.process:
            self.process.wait()
        pid_file.unlink(missing_ok=True)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM to the whole process group)."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """A crash: SIGKILL to the whole process group."""
        self._signal(signal.SIGKILL)


def _has_live_member(pgid: int) -> bool:
    """Whether a process of the group is still running (zombies waiting to be reaped do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
