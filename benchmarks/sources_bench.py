"""Benchmark of the real sources: the landing over SMB and the weather over sFTP, each beside the
same work on a local folder measured in the same run (the baseline).

  1. listing the whole landing (what every sensor tick does) over SMB vs a local folder;
  2. a sensor tick with nothing new over SMB vs the same tick on the local folder;
  3. Bronze intake of every file over SMB vs from the local folder;
  4. fetching every weather file over sFTP vs reading it locally.
The Samba and OpenSSH servers are the tests' own (started if missing, stopped if started here).
Usage: python benchmarks/sources_bench.py [--days 14]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
from measure import line, timed

from domotic_assets.ingest.landing import LocalFolder
from domotic_assets.ingest.sensor_files import ingest_sensor_files
from domotic_assets.ingest.sources import open_landing
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.simulator.feed import SimulationConfig, simulate
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets_tests import servers


def intake(landing, dsn: str, bronze: Path, days) -> tuple[float, float]:
    """Seconds to take in every file, then seconds of a tick that finds nothing new."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE meta.bronze_sensor_files")
        shutil.rmtree(bronze, ignore_errors=True)
        seconds, _ = timed(
            lambda: ingest_sensor_files(
                landing, conn, bronze, lambda a: PLATFORM_TIMEZONE, store_days=days, settle_seconds=0
            )
        )
        idle, _ = timed(
            lambda: ingest_sensor_files(landing, conn, bronze, lambda a: PLATFORM_TIMEZONE, limit=20_000)
        )
    return seconds, idle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="domotic-sources-bench-"))
    samba, sftp = servers.ensure("samba"), servers.ensure("sftp")
    folder = f"bench-{uuid.uuid4().hex[:8]}"
    on_share, on_sftp = Path(samba["share_path"]) / folder, Path(sftp["root"]) / folder
    server = EmbeddedPostgres(work / "pg")
    dsn, _ = server.ensure_running()
    try:
        feed = SimulationConfig(out=work / "feed", days=args.days)
        simulate(feed)
        shutil.copytree(feed.share, on_share)
        shutil.copytree(feed.meteo, on_sftp)
        ensure_schema(dsn)
        local = LocalFolder(on_share)
        smb = open_landing(f"{samba['url']}/{folder}", {"password": samba["password"]})
        files = sum(1 for _ in local.list(".json"))
        print(f"landing: {files:,} files, {args.days} days, 2 apartments; Samba {samba['url']}")
        timed(lambda: sum(1 for _ in smb.list(".json")))  # connect and warm up
        local_list, _ = timed(lambda: sum(1 for _ in local.list(".json")))
        smb_list, listed = timed(lambda: sum(1 for _ in smb.list(".json")))
        assert listed == files
        line("list the landing over SMB", smb_list, local_list, files, "files")
        days = [feed.start + timedelta(days=i) for i in range(-1, args.days + 4)]
        local_intake, local_idle = intake(local, dsn, work / "bronze", days)
        smb_intake, smb_idle = intake(smb, dsn, work / "bronze", days)
        line("sensor tick over SMB, nothing new", smb_idle, local_idle, files, "files listed")
        line("Bronze intake over SMB, every file", smb_intake, local_intake, files, "files")

        weather = sorted(on_sftp.glob("*.csv"))
        drop = open_landing(
            f"{sftp['url'].rsplit('/', 1)[0]}/{folder}",
            {"key_file": sftp["key"], "known_hosts": sftp["known_hosts"]},
        )
        local_read, _ = timed(lambda: [p.read_bytes() for p in weather])
        fetch, fetched = timed(lambda: [drop.read(e.relpath) for e in drop.list(".csv")])
        drop.close()
        assert len(fetched) == len(weather)
        size = sum(len(b) for b in fetched) / 1e6
        line(
            f"fetch {len(weather)} weather files over sFTP ({size:.1f} MB)",
            fetch,
            local_read,
            len(weather),
            "files",
        )
    finally:
        server.stop()
        shutil.rmtree(on_share, ignore_errors=True)
        shutil.rmtree(on_sftp, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        servers.stop_started(os.getpid())


if __name__ == "__main__":
    main()
