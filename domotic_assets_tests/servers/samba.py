"""A private Samba server: one share, one user, SMB3 only, signing and encryption required."""

from __future__ import annotations

import secrets
import subprocess

from domotic_assets_tests.servers.base import PrivateServer, binary

SHARE = "landing"

CONFIG = """[global]
  server role = standalone server
  interfaces = 127.0.0.1
  bind interfaces only = yes
  smb ports = {port}
  disable netbios = yes
  server min protocol = SMB3
  server signing = mandatory
  server smb encrypt = required
  map to guest = never
  passdb backend = tdbsam:{folder}/passdb.tdb
  private dir = {folder}/private
  lock directory = {folder}/lock
  state directory = {folder}/state
  cache directory = {folder}/cache
  pid directory = {folder}/run
  ncalrpc dir = {folder}/ncalrpc
  binddns dir = {folder}/bind-dns
  log file = {folder}/smbd.log
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes

[{share}]
  path = {folder}/share
  read only = no
  valid users = {user}
"""


class SambaServer(PrivateServer):
    """`smbd` in the foreground with its own smb.conf; files of the share live in `share_path`."""

    kind = "Samba"

    @property
    def share_path(self):
        return self.folder / "share"

    @property
    def conf(self):
        return self.folder / "smb.conf"

    @property
    def password(self) -> str:
        secret = self.folder / "password"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(18))
            secret.chmod(0o600)
        return secret.read_text()

    def prepare(self) -> None:
        smbd = binary("smbd", "samba")
        for sub in ("private", "lock", "state", "cache", "run", "ncalrpc", "bind-dns", "share"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(CONFIG.format(port=self.port, folder=self.folder, share=SHARE, user=self.user))
        self._smbd = smbd
        password = self.password
        subprocess.run(
            [binary("smbpasswd", "samba"), "-c", str(self.conf), "-s", "-a", self.user],
            input=f"{password}\n{password}\n",
            text=True,
            check=True,
            capture_output=True,
        )

    def command(self) -> list[str]:
        return [
            self._smbd,
            "--foreground",
            "--no-process-group",
            "--debug-stdout",
            "-d",
            "1",
            f"--configfile={self.conf}",
        ]

    def url(self, path: str = "") -> str:
        return f"smb://{self.user}@127.0.0.1:{self.port}/{SHARE}" + (f"/{path}" if path else "")

    def info(self) -> dict:
        return {
            **super().info(),
            "url": self.url(),
            "user": self.user,
            "password": self.password,
            "share_path": str(self.share_path),
        }
