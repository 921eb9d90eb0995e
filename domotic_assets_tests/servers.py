"""Test servers: use what runs on the machine, otherwise start a private one (installing it if needed).

`python -m domotic_assets_tests.servers mariadb` prints a MariaDB SQLAlchemy URL usable by tests,
starting a private `mariadbd` on 127.0.0.1 (own port, own data folder) when none answers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa

from domotic_assets.system_packages import apt_install

STATE = Path(os.environ.get("DOMOTIC_TEST_STATE", Path(__file__).resolve().parent.parent / ".domotic-test"))
PRIVATE_MARIADB_PORT = 33307
started_here = False
"""Whether this process started the private MariaDB (and so should stop it)."""


def _answers(url: str) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:  # refused, or a server still starting that drops the handshake
        return False
    finally:
        engine.dispose()


def _free(port: int) -> bool:
    with closing(socket.socket()) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT from a past server is fine
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def mariadb_admin_url() -> str:
    """A root URL of a running MariaDB: $DOMOTIC_TEST_MYSQL_URL, the machine's, or a private one."""
    if os.environ.get("DOMOTIC_TEST_MYSQL_URL"):
        return os.environ["DOMOTIC_TEST_MYSQL_URL"]
    for url in ("mysql+pymysql://root@127.0.0.1:3306/", f"mysql+pymysql://root@127.0.0.1:{PRIVATE_MARIADB_PORT}/"):
        if _answers(url):
            return url
    return start_private_mariadb()


def start_private_mariadb() -> str:
    global started_here
    if not shutil.which("mariadbd") and not Path("/usr/sbin/mariadbd").exists():
        apt_install("mariadb-server")
    daemon = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    folder = STATE / "mariadb"
    data = folder / "data"
    folder.mkdir(parents=True, exist_ok=True)
    if not (data / "mysql").exists():
        shutil.rmtree(data, ignore_errors=True)
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True)
    if not _free(PRIVATE_MARIADB_PORT):
        raise RuntimeError(f"port {PRIVATE_MARIADB_PORT} is taken by something that is not a usable MariaDB")
    log = open(folder / "server.log", "ab")
    subprocess.Popen([daemon, "--no-defaults", f"--datadir={data}", f"--port={PRIVATE_MARIADB_PORT}",
                      "--bind-address=127.0.0.1", f"--socket={folder / 'mysqld.sock'}", f"--pid-file={folder / 'mysqld.pid'}",
                      "--user=root", "--skip-name-resolve"], stdout=log, stderr=log, start_new_session=True)
    url = f"mysql+pymysql://root@127.0.0.1:{PRIVATE_MARIADB_PORT}/"
    for _ in range(120):
        if _answers(url):
            started_here = True
            return url
        time.sleep(0.5)
    raise RuntimeError(f"private MariaDB did not start; see {folder / 'server.log'}")


def stop_private_mariadb() -> None:
    pid_file = STATE / "mariadb" / "mysqld.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), 15)
        except (ProcessLookupError, ValueError):
            pass


if __name__ == "__main__":
    if sys.argv[1:] == ["mariadb"]:
        print(mariadb_admin_url())
    elif sys.argv[1:] == ["stop"]:
        stop_private_mariadb()
    else:
        sys.exit("usage: python -m domotic_assets_tests.servers mariadb|stop")
