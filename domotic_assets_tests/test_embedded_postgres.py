"""The private PostgreSQL server of the embedded defaults, on a machine where ports come and go."""

import socket
from contextlib import closing

import psycopg

from domotic_assets.warehouse import embedded
from domotic_assets.warehouse.embedded import EmbeddedPostgres


def test_the_private_server_moves_to_a_free_port_when_its_own_is_taken_before_it_binds(tmp_path, monkeypatch):
    server = EmbeddedPostgres(tmp_path / "pg")
    server.ensure_running()
    server.stop()
    # Another process listens on the port the server remembers, after the check said it was free. The
    # squatter takes a port the system gives it (binding the server's old port again races with its
    # connections in TIME_WAIT and with other processes picking ports), and the server is told to use it.
    with closing(socket.socket()) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        (tmp_path / "pg" / "port").write_text(str(taken))
        monkeypatch.setattr(embedded, "port_free", lambda port: True)
        try:
            dsn, started = server.ensure_running()
            moved_to = server.running_port()
            assert started and moved_to not in (None, taken)
            assert (tmp_path / "pg" / "port").read_text() == str(moved_to)
            with psycopg.connect(dsn) as conn:
                assert conn.execute("SELECT inet_server_port()").fetchone() == (moved_to,)
        finally:
            server.stop()
