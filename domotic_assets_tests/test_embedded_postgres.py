"""The private PostgreSQL server of the embedded defaults, on a machine where ports come and go."""

import socket
from contextlib import closing

import psycopg

from domotic_assets.warehouse import embedded
from domotic_assets.warehouse.embedded import EmbeddedPostgres


def test_the_private_server_moves_to_a_free_port_when_its_own_is_taken_before_it_binds(tmp_path, monkeypatch):
    server = EmbeddedPostgres(tmp_path / "pg")
    first, _ = server.ensure_running()
    try:
        taken = server.running_port()
        server.stop()
        with closing(socket.socket()) as squatter:
            squatter.bind(("127.0.0.1", taken))
            squatter.listen()
            # another process binds the port after the check said it was free
            monkeypatch.setattr(embedded, "port_free", lambda port: True)
            dsn, started = server.ensure_running()
            assert started and server.running_port() != taken
            assert (tmp_path / "pg" / "port").read_text() == str(server.running_port())
            with psycopg.connect(dsn) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()
    assert first != dsn
