"""Weather files from a real OpenSSH sftp server: outages retried with back-off, refusals not retried."""

import subprocess
import threading
import time

import dagster as dg
import psycopg

from domotic_assets.defs.bronze.assets import bronze_weather_files
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.silver.assets import pidb_dimensions, weather_clean
from domotic_assets_tests.real_sources import failure_message, on_sftp_server, retries
from domotic_assets_tests.servers.sshd import SftpServer

DAY = {"dagster/asset_partition_range_start": "2023-08-18", "dagster/asset_partition_range_end": "2023-08-18"}


def _fetch(settings):
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [bronze_weather_files, weather_clean],
        resources=build_resources(settings),
        tags=DAY,
        raise_on_error=False,
        instance=instance,
    )
    result.messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    return result


def test_a_server_down_at_schedule_time_is_retried_and_a_reissued_file_picked_up(
    settings, feed, tmp_path, monkeypatch
):
    server = SftpServer(tmp_path / "sftp")
    server.prepare()  # keys and the pinned host key exist; the server is not running yet
    sftp, folder = on_sftp_server(settings, server.info(), feed.meteo, monkeypatch)
    assert dg.materialize([pidb_dimensions], resources=build_resources(sftp)).success
    comes_back = threading.Timer(4.0, server.start)
    comes_back.start()
    try:
        began = time.monotonic()
        result = _fetch(sftp)
        waited = time.monotonic() - began
        assert result.success, failure_message(result)
        assert waited > 4.0
        retried = [m for m in result.messages if "retrying in" in m]
        assert retried and "cannot connect" in retried[0] and sftp.weather in retried[0]

        issued = folder / "Pred_2023-08-18.csv"
        lines = issued.read_bytes().decode("utf-8-sig").splitlines()
        lines = [
            line.replace(line.split(",")[1], "30.5", 1) if ",3,Sion,PRED_T_2M_ctrl," in line else line
            for line in lines
        ]
        issued.write_text("\n".join(lines) + "\n")  # re-issued later the same day
        assert _fetch(sftp).success
        with psycopg.connect(settings.pg_dsn) as conn:
            value, path = conn.execute(
                "SELECT value, bronze_path FROM silver.weather_clean WHERE site = 'Sion' "
                "AND measure = 'air_temperature' AND lead_hours = 3"
            ).fetchone()
        assert value == 30.5 and path.endswith("Pred_2023-08-18.v2.csv")
    finally:
        comes_back.cancel()
        server.stop()


def _connections(sftp_server: dict) -> int:
    log = sftp_server["folder"] + "/server.log"
    return open(log).read().count("Connection from 127.0.0.1")


def test_an_unknown_host_key_is_refused_once_naming_the_source(
    settings, feed, sftp_server, tmp_path, monkeypatch
):
    sftp, _ = on_sftp_server(settings, sftp_server, feed.meteo, monkeypatch)
    other = tmp_path / "known_hosts"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "impostor")], check=True
    )
    port = sftp_server["port"]
    other.write_text(
        f"[127.0.0.1]:{port} " + " ".join((tmp_path / "impostor.pub").read_text().split()[:2]) + "\n"
    )
    for known_hosts, says in ((other, "does not match"), (tmp_path / "empty_known_hosts", "not pinned")):
        known_hosts.touch()
        monkeypatch.setenv("DOMOTIC_WEATHER_KNOWN_HOSTS", str(known_hosts))
        before = _connections(sftp_server)
        result = _fetch(sftp)
        assert not result.success and retries(result) == 0
        assert says in failure_message(result) and sftp.weather in failure_message(result)
        assert _connections(sftp_server) - before == 1, "one attempt, no retry storm"


def test_a_wrong_key_is_refused_once_naming_the_source(settings, feed, sftp_server, tmp_path, monkeypatch):
    sftp, _ = on_sftp_server(settings, sftp_server, feed.meteo, monkeypatch)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "stranger")], check=True
    )
    monkeypatch.setenv("DOMOTIC_WEATHER_KEY", str(tmp_path / "stranger"))
    before = _connections(sftp_server)
    began = time.monotonic()
    result = _fetch(sftp)
    assert not result.success and retries(result) == 0 and time.monotonic() - began < 20
    assert "authentication failed" in failure_message(result) and sftp.weather in failure_message(result)
    assert _connections(sftp_server) - before == 1
