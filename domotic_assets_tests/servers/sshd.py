"""A private OpenSSH server offering only SFTP (`internal-sftp`), key authentication only."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from domotic_assets_tests.servers.base import PrivateServer, binary

CONFIG = """Port {port}
ListenAddress 127.0.0.1
HostKey {folder}/host_key
PidFile {folder}/sshd.pid
AuthorizedKeysFile {folder}/authorized_keys
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
MaxStartups 50
LogLevel VERBOSE
Subsystem sftp internal-sftp
ForceCommand internal-sftp -d {root}
"""


class SftpServer(PrivateServer):
    """`sshd -D -e` with its own config and host key. Relative paths start in `root`, like the
    login folder of a weather service's account; the client key and pinned host key are files here."""

    kind = "OpenSSH sftp"

    @property
    def root(self) -> Path:
        return self.folder / "root"

    @property
    def client_key(self) -> Path:
        return self.folder / "client_key"

    @property
    def known_hosts(self) -> Path:
        return self.folder / "known_hosts"

    def _keygen(self, path: Path) -> None:
        if not path.exists():
            subprocess.run(
                [binary("ssh-keygen", "openssh-client"), "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                check=True,
                capture_output=True,
            )

    def prepare(self) -> None:
        self._sshd = binary("sshd", "openssh-server")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # the privilege separation folder
        self.root.mkdir(parents=True, exist_ok=True)
        self._keygen(self.folder / "host_key")
        self._keygen(self.client_key)
        (self.folder / "authorized_keys").write_text(Path(f"{self.client_key}.pub").read_text())
        host_key = Path(self.folder / "host_key.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_key[0]} {host_key[1]}\n")
        (self.folder / "sshd_config").write_text(
            CONFIG.format(port=self.port, folder=self.folder, user=self.user, root=self.root)
        )

    def command(self) -> list[str]:
        return [self._sshd, "-D", "-e", "-f", str(self.folder / "sshd_config")]

    def url(self, path: str = "Meteo2") -> str:
        return f"sftp://{self.user}@127.0.0.1:{self.port}/{path}"

    def info(self) -> dict:
        return {
            **super().info(),
            "url": self.url(),
            "user": self.user,
            "key": str(self.client_key),
            "known_hosts": str(self.known_hosts),
            "root": str(self.root),
        }
