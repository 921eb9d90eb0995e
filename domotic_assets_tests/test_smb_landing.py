"""Sensor files from a real Samba share: the same Bronze as from a folder, listed cheaply."""

import dataclasses
import json
import os
import threading
import time
from pathlib import Path

import dagster as dg
import smbclient

from domotic_assets.defs.bronze.sensors import sensor_files_sensor
from domotic_assets.defs.resources import build_resources
from domotic_assets.ingest import sensor_files, smb_share
from domotic_assets.ingest.sources import open_landing
from domotic_assets_tests.bronze_helpers import bronze_snapshot, materialize_bronze
from domotic_assets_tests.real_sources import failure_message, on_smb_share, retries
from domotic_assets_tests.servers.samba import SambaServer


def _without_mtimes(snapshot: dict) -> dict:
    """SMB gives modification times in 100 ns steps, a local folder to the nanosecond."""
    return {"files": snapshot["files"], "rows": [r[:2] + r[3:] for r in snapshot["rows"]]}


def test_bronze_from_the_share_equals_bronze_from_a_folder(
    settings, feed, samba_server, make_database, monkeypatch
):
    local = dataclasses.replace(settings, home=settings.home.parent / "local", pg_dsn=make_database())
    assert materialize_bronze(local, "2023-08-18", "2023-08-19").success
    smb = on_smb_share(settings, samba_server, feed.share, monkeypatch)
    assert smb.landing.startswith("smb://") and samba_server["password"] not in smb.landing
    monkeypatch.setattr(sensor_files, "PARALLEL_FROM", 1)  # worker processes, each with its own session
    result = materialize_bronze(smb, "2023-08-18", "2023-08-19")
    assert result.success
    assert _without_mtimes(bronze_snapshot(smb)) == _without_mtimes(bronze_snapshot(local))


def test_a_tick_lists_each_folder_once_and_reads_only_new_files(settings, feed, samba_server, monkeypatch):
    smb = on_smb_share(settings, samba_server, feed.share, monkeypatch)
    on_share = Path(samba_server["share_path"]) / smb.landing.rsplit("/", 1)[1]
    calls = {"folder listings": 0, "open_file": 0, "stat": 0, "lstat": 0, "scandir": 0}

    def spy(name):
        real = getattr(smbclient, name)

        def counted(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return counted

    class CountedDirectory(smb_share.SMBDirectoryIO):
        def __init__(self, *args, **kwargs):
            calls["folder listings"] += 1
            super().__init__(*args, **kwargs)

    with dg.instance_for_test() as instance:
        first = sensor_files_sensor(
            dg.build_sensor_context(instance=instance, resources=build_resources(smb))
        )
        # one new, complete file arrives; the second tick reads it and nothing else
        late = on_share / "jimmy" / "late.json"
        late.write_bytes((feed.share / "jimmy/2023/08/19/jimmy_20230819T235900.json").read_bytes())
        os.utime(late, (time.time() - 600, time.time() - 600))
        for name in ("open_file", "stat", "lstat", "scandir"):
            monkeypatch.setattr(smbclient, name, spy(name))
        monkeypatch.setattr(smb_share, "SMBDirectoryIO", CountedDirectory)
        second = sensor_files_sensor(
            dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=build_resources(smb))
        )
    folders = sum(1 for p in on_share.rglob("*") if p.is_dir()) + 1
    assert sum(1 for _ in on_share.rglob("*.json")) > 2000
    assert calls == {"folder listings": folders, "open_file": 1, "stat": 0, "lstat": 0, "scandir": 0}
    assert json.loads(second.cursor)["registered"] == json.loads(first.cursor)["registered"] + 1


def test_the_share_stopping_mid_copy_loses_and_doubles_nothing(
    settings, feed, make_database, tmp_path, monkeypatch
):
    local = dataclasses.replace(settings, home=settings.home.parent / "local", pg_dsn=make_database())
    assert materialize_bronze(local, "2023-08-18", "2023-08-19").success
    expected = _without_mtimes(bronze_snapshot(local))
    server = SambaServer(tmp_path / "samba").start()
    try:
        smb = on_smb_share(settings, server.info(), feed.share, monkeypatch)
        outcome = {}

        def first_run():
            with dg.DagsterInstance.ephemeral() as instance:  # made, used and closed in this thread
                outcome["first"] = materialize_bronze(smb, "2023-08-18", "2023-08-19", instance=instance)

        run = threading.Thread(target=first_run)
        run.start()
        copied = smb.bronze_dir / "jimmy"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
            copied.is_dir() and sum(1 for _ in copied.rglob("*.json")) > 300
        ):
            time.sleep(0.01)
        server.kill()  # smbd and its children die in the middle of the copy
        in_bronze = sum(1 for _ in smb.bronze_dir.rglob("*.json"))
        time.sleep(1)
        server.start()
        run.join(timeout=300)
        first = outcome["first"]
        assert 300 < in_bronze < len(expected["files"]), "the server stopped mid-copy"
        assert retries(first) >= 1 or not first.success, "the outage was noticed"
        with dg.instance_for_test() as instance:  # the next tick, then its run
            sensor_files_sensor(dg.build_sensor_context(instance=instance, resources=build_resources(smb)))
        assert materialize_bronze(smb, "2023-08-18", "2023-08-19").success
        assert _without_mtimes(bronze_snapshot(smb)) == expected
    finally:
        server.stop()


def test_a_wrong_password_fails_once_and_the_sensor_backs_off(settings, feed, samba_server, monkeypatch):
    smb = on_smb_share(settings, samba_server, feed.share, monkeypatch)
    # a session opened with the right password earlier in this process must not let a wrong one in
    assert next(open_landing(smb.landing, {"password": samba_server["password"]}).list(".json"))
    monkeypatch.setenv("DOMOTIC_LANDING_PASSWORD", "not-the-password")
    result = materialize_bronze(smb, "2023-08-18")
    assert not result.success and retries(result) == 0
    assert f"{smb.landing}: connecting: access refused for user {samba_server['user']}" in failure_message(
        result
    )
    assert "not-the-password" not in failure_message(result)

    attempts = []
    real = smbclient.register_session
    monkeypatch.setattr(smbclient, "register_session", lambda *a, **k: attempts.append(1) or real(*a, **k))
    with dg.instance_for_test() as instance:

        def tick(cursor):
            return sensor_files_sensor(
                dg.build_sensor_context(instance=instance, cursor=cursor, resources=build_resources(smb))
            )

        refused = tick(None)
        assert "access refused" in refused.skip_reason.skip_message and attempts == [1]
        waiting = tick(refused.cursor)
        assert "next attempt in" in waiting.skip_reason.skip_message and attempts == [1], "no retry storm"
        monkeypatch.setenv("DOMOTIC_LANDING_PASSWORD", samba_server["password"])  # the operator fixes it
        state = json.loads(waiting.cursor)
        assert state["refused"]["wait"] == 60
        state["refused"]["until"] = time.time()  # ... and the back-off has passed
        recovered = tick(json.dumps(state))
    assert recovered.run_requests and "refused" not in json.loads(recovered.cursor)
