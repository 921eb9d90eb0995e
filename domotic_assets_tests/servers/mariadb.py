"""A private MariaDB server (root without password, on 127.0.0.1 only)."""

from __future__ import annotations

import shutil
import subprocess

import sqlalchemy as sa

from domotic_assets_tests.servers.base import PrivateServer, binary


def answers(url: str) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:  # refused, or a server still starting that drops the handshake
        return False
    finally:
        engine.dispose()


class MariaDbServer(PrivateServer):
    kind = "MariaDB"

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/"

    def prepare(self) -> None:
        self._mariadbd = binary("mariadbd", "mariadb-server")
        data = self.folder / "data"
        if not (data / "mysql").exists():
            shutil.rmtree(data, ignore_errors=True)  # a half-made data folder
            subprocess.run(
                [
                    binary("mariadb-install-db", "mariadb-server"),
                    "--no-defaults",
                    f"--datadir={data}",
                    f"--user={self.user}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ],
                check=True,
                capture_output=True,
            )

    def command(self) -> list[str]:
        return [
            self._mariadbd,
            "--no-defaults",
            f"--datadir={self.folder / 'data'}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.folder / 'mysqld.sock'}",
            f"--pid-file={self.folder / 'mysqld.pid'}",
            f"--user={self.user}",
            "--skip-name-resolve",
        ]

    def ready(self) -> bool:
        return answers(self.url)

    def info(self) -> dict:
        return {**super().info(), "url": self.url}
