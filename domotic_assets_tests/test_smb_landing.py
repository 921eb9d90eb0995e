"""Sensor files from a real Samba share: the same Bronze as from a folder, listed cheaply."""

import dataclasses
import json
import os
import time
from pathlib import Path

import dagster as dg
import smbclient

from domotic_assets.defs.bronze.sensors import sensor_files_sensor
from domotic_assets.defs.resources import build_resources
from domotic_assets_tests.bronze_helpers import bronze_snapshot, materialize_bronze
from domotic_assets_tests.real_sources import on_smb_share


def _without_mtimes(snapshot: dict) -> dict:
    """SMB gives modification times to the microsecond, a local folder to the nanosecond."""
    return {"files": snapshot["files"], "rows": [r[:2] + r[3:] for r in snapshot["rows"]]}


def test_bronze_from_the_share_equals_bronze_from_a_folder(settings, feed, samba_server, make_database, monkeypatch):
    local = dataclasses.replace(settings, home=settings.home.parent / "local", pg_dsn=make_database())
    assert materialize_bronze(local, "2023-08-18", "2023-08-19").success
    smb = on_smb_share(settings, samba_server, feed.share, monkeypatch)
    assert smb.landing.startswith("smb://") and samba_server["password"] not in smb.landing
    result = materialize_bronze(smb, "2023-08-18", "2023-08-19")
    assert result.success
    assert _without_mtimes(bronze_snapshot(smb)) == _without_mtimes(bronze_snapshot(local))


def test_a_tick_lists_each_folder_once_and_reads_only_new_files(settings, feed, samba_server, monkeypatch):
    smb = on_smb_share(settings, samba_server, feed.share, monkeypatch)
    on_share = Path(samba_server["share_path"]) / smb.landing.rsplit("/", 1)[1]
    calls = {"scandir": 0, "open_file": 0, "stat": 0, "lstat": 0}

    def spy(name):
        real = getattr(smbclient, name)

        def counted(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return counted

    with dg.instance_for_test() as instance:
        first = sensor_files_sensor(dg.build_sensor_context(instance=instance, resources=build_resources(smb)))
        # one new, complete file arrives; the second tick reads it and nothing else
        late = on_share / "jimmy" / "late.json"
        late.write_bytes((feed.share / "jimmy/2023/08/19/jimmy_20230819T235900.json").read_bytes())
        os.utime(late, (time.time() - 600, time.time() - 600))
        for name in calls:
            monkeypatch.setattr(smbclient, name, spy(name))
        second = sensor_files_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor,
                                                             resources=build_resources(smb)))
    folders = sum(1 for p in on_share.rglob("*") if p.is_dir()) + 1
    assert sum(1 for _ in on_share.rglob("*.json")) > 2000
    assert calls == {"scandir": folders, "open_file": 1, "stat": 0, "lstat": 0}
    assert json.loads(second.cursor)["registered"] == json.loads(first.cursor)["registered"] + 1
