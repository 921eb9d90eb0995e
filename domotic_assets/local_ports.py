"""Ports on 127.0.0.1 for the private servers the platform and its tests start."""

from __future__ import annotations

import socket
from contextlib import closing


def free_port() -> int:
    """A port nobody listens on now (the system picks it)."""
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    """Whether a server could bind `port`, as servers bind: connections of a server just stopped
    (TIME_WAIT) do not hold it."""
    with closing(socket.socket()) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with closing(socket.socket()) as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0
