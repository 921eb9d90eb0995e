"""RabbitMQ for the Celery tests: the machine's broker when it answers and `rabbitmqctl` reaches it, otherwise
Debian's `rabbitmq-server` on a port, node name, cookie and data folder of its own.

Each test takes a vhost of its own, with a user of its own (`vhost()`): Dagster's Celery app declares its
queue with `x-max-priority`, which clashes with a queue of the same name declared otherwise, and a vhost
of its own leaves no message of an earlier test behind.
"""

from __future__ import annotations

import secrets
import subprocess
from contextlib import contextmanager
from pathlib import Path

from domotic_assets_tests.servers.base import PrivateServer, binary, port_answers

MACHINE_PORT = 5672
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
"""The real rabbitmqctl (Debian's /usr/sbin wrapper switches to the rabbitmq user and the machine's node)."""


class RabbitMqServer(PrivateServer):
    kind = "RabbitMQ"
    start_timeout = 120.0

    @property
    def node(self) -> str:
        return f"domotic-test-{self.port}@localhost"

    def _env(self) -> dict[str, str]:
        """Everything of the node in its folder: the machine's rabbitmq-env.conf (node name, cookie) is
        not read."""
        return {
            "HOME": str(self.folder),
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.port + 20000),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def prepare(self) -> None:
        binary("rabbitmq-server", "rabbitmq-server")
        (self.folder / "rabbitmq-env.conf").write_text("")
        (self.folder / "enabled_plugins").write_text("[].\n")
        # a step may run for hours: RabbitMQ's 30-minute consumer_timeout would close a worker's channel
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\nconsumer_timeout = 86400000\n"
        )

    def command(self) -> list[str]:
        return ["env", *(f"{k}={v}" for k, v in self._env().items()), "/usr/lib/rabbitmq/bin/rabbitmq-server"]

    def ready(self) -> bool:
        return port_answers(self.port) and _ctl(self.ctl(), "status").returncode == 0

    def ctl(self) -> list[str]:
        return ["env", *(f"{k}={v}" for k, v in self._env().items()), CTL, "-n", self.node]

    def info(self) -> dict:
        return {**super().info(), "ctl": self.ctl()}


def _ctl(ctl: list[str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*ctl, *args], input=stdin, capture_output=True, text=True, timeout=60)


def machine_broker() -> dict | None:
    """The machine's RabbitMQ, when it answers on 5672 and its rabbitmqctl can make vhosts."""
    if not port_answers(MACHINE_PORT) or not Path("/usr/sbin/rabbitmqctl").exists():
        return None
    ctl = ["/usr/sbin/rabbitmqctl"]
    if _ctl(ctl, "list_vhosts").returncode != 0:
        return None
    return {"host": "127.0.0.1", "port": MACHINE_PORT, "ctl": ctl}


@contextmanager
def vhost(info: dict):
    """A vhost and a user of its own on this broker, removed afterwards: (broker URL without the password,
    the password)."""
    name = f"domotic-test-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(18)
    ctl = info["ctl"]
    for args, stdin in (
        (("add_vhost", name), None),
        (("add_user", name), password),  # the password on stdin, never on a command line
        (("set_permissions", "-p", name, name, ".*", ".*", ".*"), None),
    ):
        done = _ctl(ctl, *args, stdin=stdin)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {args[0]} failed: {done.stderr.strip()}")
    try:
        yield f"amqp://{name}@127.0.0.1:{info['port']}/{name}", password
    finally:
        _ctl(ctl, "delete_vhost", name)
        _ctl(ctl, "delete_user", name)
