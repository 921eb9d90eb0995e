"""The pipeline from the sources to Gold, configured only by environment, against Samba, OpenSSH sftp, MariaDB
and PostgreSQL: the same Silver and Gold as from the embedded defaults."""

import dataclasses
import subprocess
import uuid

import sqlalchemy as sa

from domotic_assets.simulator.apartments import apartments_for
from domotic_assets.simulator.pidb import write_pidb
from domotic_assets_tests.cli_helpers import BRONZE_TO_GOLD, domotic_command, domotic_env
from domotic_assets_tests.real_sources import on_sftp_server, on_smb_share
from domotic_assets_tests.snapshots import differences, warehouse_snapshot


def test_the_pipeline_on_real_servers_equals_the_pipeline_on_local_sources(
    settings, feed, samba_server, sftp_server, mariadb_admin_url, make_database, tmp_path, monkeypatch
):
    command = domotic_command("run", "--from", "2023-08-18", "--to", "2023-08-18", *BRONZE_TO_GOLD)
    local = dataclasses.replace(settings, home=tmp_path / "local", pg_dsn=make_database())
    done = subprocess.run(command, env=domotic_env(local), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    database = f"pidb_{uuid.uuid4().hex[:10]}"
    with sa.create_engine(mariadb_admin_url).begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {database}"))
    write_pidb(
        mariadb_admin_url + database, apartments_for(["jimmy", "jeremie"]), feed.start, feed.seed, feed.days
    )
    remote = on_smb_share(settings, samba_server, feed.share, monkeypatch)
    remote, _ = on_sftp_server(remote, sftp_server, feed.meteo, monkeypatch)
    remote = dataclasses.replace(remote, pidb_url=mariadb_admin_url + database)
    secrets = tmp_path / "secrets.env"
    secrets.write_text(
        "# credentials of the "
        f"sources\nDOMOTIC_LANDING_PASSWORD={samba_server['password']}\nDOMOTIC_WEATHER_KEY={sftp_server['key']}\nDOMOTIC_WEATHER_KNOWN_HOSTS={sftp_server['known_hosts']}\n"
    )
    secrets.chmod(0o600)
    env = {
        k: v
        for k, v in domotic_env(remote).items()
        if not k.startswith(("DOMOTIC_LANDING_", "DOMOTIC_WEATHER_"))
    }
    try:
        done = subprocess.run(
            command,
            env={**env, "DOMOTIC_SECRETS_FILE": str(secrets)},
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        with sa.create_engine(mariadb_admin_url).begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {database}"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert remote.landing.startswith("smb://") and remote.weather.startswith("sftp://")

    expected = warehouse_snapshot(local.pg_dsn, ("silver", "gold"))
    assert expected["silver.sensor_events"][0] > 0 and expected["silver.weather_clean"][0] > 0
    assert expected["gold.fact_energy_minute"][0] > 0
    assert differences(warehouse_snapshot(remote.pg_dsn, ("silver", "gold")), expected) == {}
