"""`domotic archive` and `domotic restore`, as an operator runs them, on two simulated days from Bronze to
Gold: the first day archived (Bronze as tar + zstd, Silver partitions and Gold minute facts as Parquet),
with a run killed half-way that leaves nothing dropped unverified; then restored, byte-identical for
Bronze and row-identical for Silver and Gold; and Gold rebuilt from the restored Silver equals the Gold
archived."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from datetime import date

import dagster as dg
import psycopg
import pyarrow.parquet as pq
import pytest

from domotic_assets.definitions import build_definitions
from domotic_assets.defs.operations.assets import archives as archives_asset
from domotic_assets.defs.resources import build_resources
from domotic_assets.defs.run_range import materialize_range
from domotic_assets.defs.selections import PIPELINE
from domotic_assets.operations import archives, retention
from domotic_assets.operations.backups import sha256_of
from domotic_assets.warehouse import archive_tables, table_digests
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets_tests.cli_helpers import domotic_command, domotic_env
from domotic_assets_tests.snapshots import warehouse_snapshot

FIRST, SECOND = date(2023, 8, 18), date(2023, 8, 19)


def _bronze_files(settings) -> dict[str, str]:
    return {
        str(p.relative_to(settings.bronze_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in settings.bronze_dir.rglob("*")
        if p.is_file() and not p.relative_to(settings.bronze_dir).parts[0].startswith(".")
    }


def _day_tables(settings) -> dict[str, table_digests.TableDigest]:
    """Each Silver and Gold table's rows and digest (exact: every column)."""
    with psycopg.connect(settings.pg_dsn) as conn:
        return table_digests.digests(conn, ("silver", "gold"))


def _run(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        domotic_command(*args), env=domotic_env(settings), capture_output=True, text=True, timeout=600
    )


def test_the_retention_cutoffs_follow_pidb_and_never_pass_an_operators_before():
    today = date(2026, 12, 7)
    limits = retention.cutoffs(today, {})
    assert (limits.bronze_default, limits.silver) == (date(2026, 9, 8), date(2025, 11, 7))
    limits = retention.cutoffs(
        today,
        {
            "retention_bronze_days": 30,
            "retention_bronze_days:jimmy": 365,
            "retention_silver_months:jimmy": 24,
        },
        before=date(2026, 1, 1),
    )
    assert limits.bronze_for("jeremie") == date(2026, 1, 1)  # 30 days would be later: --before wins
    assert limits.bronze_for("jimmy") == date(2025, 12, 7)
    assert limits.silver == date(2024, 12, 7)  # the longest any building asks
    assert retention.months_before(date(2024, 3, 31), 1) == date(2024, 2, 29)


@pytest.fixture
def two_days(settings):
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    keys = {k for k in PIPELINE.resolve(graph) if graph.get(k).group_name != "ml"}
    keys.discard(dg.AssetKey("household_schedules"))
    outcome = materialize_range(
        defs, keys, FIRST, SECOND, dg.DagsterInstance.ephemeral(), echo=lambda _: None
    )
    assert outcome.success, outcome
    return settings, defs, keys


def test_a_day_is_archived_even_through_a_killed_run_then_restored_identical_and_gold_rebuilt(two_days):
    settings, defs, keys = two_days
    bronze_before = _bronze_files(settings)
    tables_before = _day_tables(settings)
    snapshot_before = warehouse_snapshot(settings.pg_dsn, ("silver", "gold"))
    sources_before = _first_day_sources(settings)
    assert len(sources_before) == 4, "the day's sensor partition and its three minute facts"
    first_day_files = {name for name in bronze_before if f"/{FIRST:%Y/%m/%d}/" in f"/{name}"}
    assert first_day_files and len(first_day_files) < len(bronze_before)

    # a run killed as its first Silver archive is being written (its Bronze days archived and deleted by
    # then): nothing is gone that is not archived and verified
    killed = subprocess.Popen(
        domotic_command("archive", "--before", str(SECOND)),
        env=domotic_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while (
        time.monotonic() < deadline
        and killed.poll() is None
        and not _any_file(settings.archive_dir / "silver")
    ):
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL, "killed mid-run, not finished"
    assert set(_bronze_files(settings)) == set(bronze_before) - first_day_files, "Bronze was done"
    _assert_nothing_dropped_unverified(settings, bronze_before, sources_before)

    done = _run(settings, "archive", "--before", str(SECOND))  # finishes what the killed run began
    assert done.returncode == 0, done.stderr
    assert not any(settings.archive_dir.rglob("*.partial"))
    # the first day is gone from the hot layers, the second is untouched
    assert set(_bronze_files(settings)) == set(bronze_before) - first_day_files
    with psycopg.connect(settings.pg_dsn) as conn:
        assert conn.execute("SELECT to_regclass('silver.sensor_events_20230818')").fetchone()[0] is None
        assert (
            conn.execute(
                "SELECT count(*) FROM gold.fact_energy_minute WHERE local_day = %s", (FIRST,)
            ).fetchone()[0]
            == 0
        )
        assert (
            conn.execute(
                "SELECT count(*) FROM gold.fact_energy_minute WHERE local_day = %s", (SECOND,)
            ).fetchone()[0]
            > 0
        )
        entries = archive_tables.archived(conn)
        assert {e["layer"] for e in entries} == {"bronze", "silver", "gold"}
        assert all(e["day"] == FIRST and e["removed_at"] is not None for e in entries)
    silver = next(e for e in entries if e["relation"] == "silver.sensor_events")
    parquet = pq.ParquetFile(settings.archive_dir / silver["path"])
    assert parquet.metadata.num_rows == silver["rows"] > 10_000
    assert parquet.metadata.row_group(0).column(0).statistics is not None, "with statistics"
    # the Bronze archive is a plain tar compressed with zstd, its manifest inside
    bronze_entry = next(e for e in entries if e["layer"] == "bronze" and e["relation"] != "weather")
    members = archives.read_bronze_archive(settings.archive_dir / bronze_entry["path"])
    assert archives.MANIFEST in members and len(members) == bronze_entry["rows"] + 1
    # an archived day is not rebuilt from nothing: the step says to restore it first
    graph = defs.resolve_asset_graph()
    silver = {k for k in keys if graph.get(k).group_name == "silver" and k.path[-1] == "sensor_events"}
    refused = materialize_range(
        defs, silver, FIRST, FIRST, dg.DagsterInstance.ephemeral(), echo=lambda _: None
    )
    assert not refused.success and "domotic restore --from 2023-08-18" in " ".join(refused.failures)
    # running it again archives nothing more
    again = _run(settings, "archive", "--before", str(SECOND))
    assert again.returncode == 0 and "bronze 0 (0), silver 0 (0), gold 0 (0)" in again.stdout

    restored = _run(settings, "restore", "--from", str(FIRST), "--to", str(FIRST))
    assert restored.returncode == 0, restored.stderr
    assert _bronze_files(settings) == bronze_before, "Bronze byte-identical"
    assert _day_tables(settings) == tables_before, "Silver and Gold row-identical"

    # Gold rebuilt from the restored Silver equals the Gold that was archived
    gold = {k for k in keys if graph.get(k).group_name == "gold"}
    outcome = materialize_range(defs, gold, FIRST, FIRST, dg.DagsterInstance.ephemeral(), echo=lambda _: None)
    assert outcome.success, outcome
    assert warehouse_snapshot(settings.pg_dsn, ("silver", "gold")) == snapshot_before

    # the nightly asset archives both days (years past the 13 months); its check reads every archive back
    resources = build_resources(settings)
    result = dg.materialize([archives_asset], resources=resources, instance=dg.DagsterInstance.ephemeral())
    [verified] = result.get_asset_check_evaluations()
    assert verified.passed
    metadata = result.asset_materializations_for_node("archives")[0].metadata
    assert metadata["dropped_silver_days"].value == 2 and metadata["dropped_gold_days"].value == 6
    assert not _bronze_files(settings)
    damaged = next(settings.archive_dir.rglob("*.parquet"))
    damaged.write_bytes(damaged.read_bytes()[:-16])
    result = dg.materialize([archives_asset], resources=resources, instance=dg.DagsterInstance.ephemeral())
    [verified] = result.get_asset_check_evaluations()
    assert not verified.passed and damaged.name in verified.metadata["problems"].value


def test_each_night_finds_every_archive_and_reads_back_those_not_read_for_the_period(warehouse_dsn, tmp_path):
    """The nightly check stats every archive (a missing or resized one fails at once) and reads back the
    sha256 of those last read back `every_days` ago or more (or never): a scrub, not every archive ever
    made every night. A damaged archive fails every night until it is mended."""
    ensure_schema(warehouse_dsn)
    days = [date(2023, 8, d) for d in (1, 2, 3, 4)]
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        for day in days:
            path = tmp_path / f"{day}.parquet"
            path.write_bytes(day.isoformat().encode() * 100)
            archive_tables.record(
                conn, "silver", "silver.sensor_events", day, path.name, 1, "d", sha256_of(path), 1000
            )
        # an archive recorded before sizes and read-backs were kept
        conn.execute(
            "UPDATE meta.archives SET file_bytes = NULL, verified_at = NULL WHERE day = %s", (days[3],)
        )

        def verify() -> archives.Verification:
            return archives.verify(conn, tmp_path, every_days=30)

        def age(day: date, days_ago: int) -> None:
            conn.execute(
                "UPDATE meta.archives SET verified_at = now() - %s * interval '1 day' WHERE day = %s",
                (days_ago, day),
            )

        first = verify()
        assert (first.problems, first.present, first.read_back) == ([], 4, 1)  # only the one never read back
        assert (
            conn.execute("SELECT file_bytes FROM meta.archives WHERE day = %s", (days[3],)).fetchone()[0]
            == 1000
        )
        assert verify().read_back == 0

        damaged = tmp_path / f"{days[0]}.parquet"
        data = bytearray(damaged.read_bytes())
        data[10] ^= 0xFF  # same size: only reading it back finds it
        damaged.write_bytes(bytes(data))
        assert verify().problems == []  # read back 0 days ago: not due
        age(days[0], 31)
        age(days[1], 29)
        found = verify()
        assert found.read_back == 1 and found.problems == [
            f"{damaged.name}: its sha256 differs from the one recorded"
        ]
        again = verify()
        assert again.read_back == 1 and again.problems == found.problems  # until it is mended

        (tmp_path / f"{days[2]}.parquet").unlink()
        (tmp_path / f"{days[3]}.parquet").write_bytes(b"short")
        last = verify()
        assert last.present == 2 and last.problems[1:] == [
            f"{days[2]}.parquet: missing",
            f"{days[3]}.parquet: 5 bytes, 1000 when it was made",
        ]


def _any_file(folder) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


def _first_day_sources(settings) -> set[tuple[str, str, date]]:
    """The Silver partitions and Gold facts holding rows of the first day."""
    found = set()
    with psycopg.connect(settings.pg_dsn) as conn:
        for table in archive_tables.SILVER_DAY_TABLES:
            partition = f"silver.{table}_{FIRST:%Y%m%d}"
            if conn.execute("SELECT to_regclass(%s)", (partition,)).fetchone()[0] is not None:
                found.add(("silver", f"silver.{table}", FIRST))
        for fact in archive_tables.GOLD_MINUTE_FACTS:
            query = f"SELECT count(*) FROM gold.{fact} WHERE local_day = %s"
            if conn.execute(query, (FIRST,)).fetchone()[0]:
                found.add(("gold", f"gold.{fact}", FIRST))
    return found


def _assert_nothing_dropped_unverified(settings, bronze_before: dict[str, str], sources_before: set) -> None:
    """Whatever a killed run removed is in an archive it recorded, whose file is the one recorded and holds
    the very bytes or rows."""
    with psycopg.connect(settings.pg_dsn) as conn:
        entries = {(e["layer"], e["relation"], e["day"]): e for e in archive_tables.archived(conn)}
    for key in sources_before - _first_day_sources(settings):
        entry = entries.get(key)
        assert entry is not None, f"{key} dropped without an archive"
        path = settings.archive_dir / entry["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["file_sha256"]
        assert pq.ParquetFile(path).metadata.num_rows == entry["rows"]
    members: dict[str, dict[str, bytes]] = {}  # each apartment's archive, read once
    for name in set(bronze_before) - set(_bronze_files(settings)):
        apartment = name.split("/")[0]
        entry = entries.get(("bronze", apartment, FIRST))
        assert entry is not None, f"{name} deleted without an archive"
        if apartment not in members:
            members[apartment] = archives.read_bronze_archive(settings.archive_dir / entry["path"])
        assert hashlib.sha256(members[apartment][name]).hexdigest() == bronze_before[name]
