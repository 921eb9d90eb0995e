"""The real servers the tests talk to: reuse what runs on the machine, start privately what does not.

| name      | reused when it answers                     | otherwise started here (127.0.0.1)        |
|-----------|--------------------------------------------|-------------------------------------------|
| postgres  | `$DOMOTIC_TEST_PG_DSN`                     | the platform's private PostgreSQL          |
| mariadb   | `$DOMOTIC_TEST_MYSQL_URL`, root on :3306   | `mariadbd`, port 33307                     |
| mosquitto | never (it needs the platform's queue limits) | `mosquitto`, port 11883                  |
| samba     | never (it needs our share and user)        | `smbd`, port 14445, share `landing`        |
| sftp      | never (it needs our keys)                  | `sshd` + `internal-sftp`, port 12222       |
| rabbitmq  | :5672 when `rabbitmqctl` reaches it          | `rabbitmq-server`, port 15673, own node   |

What was started is recorded in `<state>/servers.json` with the pid of the process that started
it, which is the one to stop it: `scripts/test_servers.py` around `make test`, or the pytest
session itself when run alone. Missing Debian packages are installed (as root) on first use.
A machine's Mosquitto is not reused: with its defaults (`max_queued_messages 1000`) it drops the
QoS 1 messages of an offline persistent session, which the stream tests rely on.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets_tests.servers.base import free_port, port_answers, port_free
from domotic_assets_tests.servers.mariadb import MariaDbServer, answers
from domotic_assets_tests.servers.mosquitto import MosquittoServer
from domotic_assets_tests.servers.rabbitmq import RabbitMqServer, machine_broker
from domotic_assets_tests.servers.samba import SambaServer
from domotic_assets_tests.servers.sshd import SftpServer

STATE = Path(
    os.environ.get("DOMOTIC_TEST_STATE", Path(__file__).resolve().parents[2] / ".domotic-test")
).resolve()
NAMES = ("postgres", "mariadb", "mosquitto", "samba", "sftp", "rabbitmq")
PRIVATE = {
    "mariadb": (MariaDbServer, 33307),
    "mosquitto": (MosquittoServer, 11883),
    "samba": (SambaServer, 14445),
    "sftp": (SftpServer, 12222),
    "rabbitmq": (RabbitMqServer, 15673),
}


@contextmanager
def _registry():
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "servers.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = STATE / "servers.json"
        entries = json.loads(path.read_text()) if path.exists() else {}
        yield entries
        path.write_text(json.dumps(entries, indent=2))


def _alive(name: str, info: dict) -> bool:
    if name == "postgres":
        return (
            EmbeddedPostgres(Path(info["folder"])).running_port() == info["port"]
            if info.get("folder")
            else True
        )
    if name == "mariadb":
        return answers(info["url"])
    return port_answers(info["port"])


def _reuse(name: str) -> dict | None:
    """A server of the machine (or given by the environment) to use as it is."""
    if name == "postgres" and os.environ.get("DOMOTIC_TEST_PG_DSN"):
        return {"dsn": os.environ["DOMOTIC_TEST_PG_DSN"]}
    if name == "mariadb":
        for url in filter(
            None, (os.environ.get("DOMOTIC_TEST_MYSQL_URL"), "mysql+pymysql://root@127.0.0.1:3306/")
        ):
            if answers(url):
                return {"url": url}
    if name == "rabbitmq":
        return machine_broker()
    return None


def _start(name: str) -> dict:
    if name == "postgres":
        server = EmbeddedPostgres(STATE / "pg")
        dsn, _ = server.ensure_running()
        return {"dsn": dsn, "folder": str(server.folder), "port": server.running_port()}
    kind, port = PRIVATE[name]
    server = kind(STATE / name, port if port_free(port) else free_port()).start()
    return server.info()


def ensure(name: str, owner: int | None = None) -> dict:
    """Connection details of a running `name` server, starting a private one if needed; `owner` is
    the process that will stop what this starts (this one by default)."""
    with _registry() as entries:
        entry = entries.get(name)
        if entry and _alive(name, entry):
            return entry
        entry = _reuse(name)
        if entry is None:
            entry = {**_start(name), "started_by": owner or os.getpid()}
        entries[name] = entry
        return entry


def stop_started(by: int | None = None) -> list[str]:
    """Stop the private servers started by process `by` (all of them if None); returns their names."""
    stopped = []
    with _registry() as entries:
        for name, entry in list(entries.items()):
            if "started_by" not in entry or by not in (None, entry["started_by"]):
                continue
            if name == "postgres":
                EmbeddedPostgres(Path(entry["folder"])).stop()
            else:
                kind, _ = PRIVATE[name]
                kind(Path(entry["folder"]), entry["port"]).stop()
            del entries[name]
            stopped.append(name)
    return stopped
