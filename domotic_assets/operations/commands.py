"""`domotic backup DIR` and `domotic restore-backup DIR --to DSN`: the deployment's backups
(`operations.backups`); `domotic archive` and `domotic restore`: old days out of the hot layers and back
(`operations.archives`). Backups, archives and restores are recorded in `meta.operation_runs`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from domotic_assets.command_settings import settings_from_env
from domotic_assets.settings import Settings

if TYPE_CHECKING:
    import psycopg

    from domotic_assets.operations.backups import Database

T = TypeVar("T")


@contextmanager
def _warehouse(settings: Settings) -> Iterator[tuple[str, psycopg.Connection]]:
    """The warehouse of these settings (the embedded one started if it is the default), its schema
    ensured: (its DSN, an autocommit connection)."""
    from domotic_assets.warehouse.connection import connect
    from domotic_assets.warehouse.embedded import warehouse_dsn
    from domotic_assets.warehouse.schema import ensure_schema

    with warehouse_dsn(settings.pg_dsn, settings.embedded_pg_dir) as dsn:
        ensure_schema(dsn)
        with connect(dsn, autocommit=True) as conn:
            yield dsn, conn


def _recorded(
    conn: psycopg.Connection, operation: str, work: Callable[[], T], summary: Callable[[T], str]
) -> T:
    """Run `work` as a recorded operation (`meta.operation_runs`, which monitoring alerts on when it
    failed) and print its summary; an expected failure exits non-zero with its reason."""
    from domotic_assets.operations.archives import ArchiveError
    from domotic_assets.operations.backups import BackupError
    from domotic_assets.warehouse.operation_runs import recorded

    try:
        with recorded(conn, operation) as outcome:
            done = work()
            outcome.detail = summary(done)
    except (BackupError, ArchiveError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(outcome.detail)
    return done


def _target(dsn: str, option: str) -> Database:
    """A database to restore into; its password from `DOMOTIC_RESTORE_PASSWORD` (environment or secrets
    file) or the DSN's own `passfile`, never from the DSN."""
    from psycopg.conninfo import conninfo_to_dict

    from domotic_assets.operations.backups import Database
    from domotic_assets.settings import source_secrets

    try:
        carries = bool(conninfo_to_dict(dsn).get("password"))
    except Exception:  # noqa: BLE001 - psycopg's message would echo the DSN
        raise click.BadParameter("not a PostgreSQL connection string", param_hint=option) from None
    if carries:
        raise click.BadParameter(
            "carries a password: remove it and set DOMOTIC_RESTORE_PASSWORD in the environment or in "
            "DOMOTIC_SECRETS_FILE",
            param_hint=option,
        )
    return Database(dsn, source_secrets("RESTORE").get("password"))


@click.command(
    help="Back up the warehouse (pg_dump, one snapshot), the Dagster instance's database when it is "
    "PostgreSQL, and the Bronze manifest into FOLDER, with a manifest of checksums and table digests."
)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def backup(folder: Path) -> None:
    from domotic_assets.operations.backups import Database, dagster_database, make_backup

    settings = settings_from_env()
    with _warehouse(settings) as (dsn, conn):
        _recorded(
            conn,
            "backup",
            lambda: make_backup(Database.of_warehouse(dsn), folder, dagster_database(settings.dagster_home)),
            lambda made: (
                f"backed up {len(made['tables'])} tables "
                f"({sum(t['rows'] for t in made['tables'].values())} rows) and the list of "
                f"{made['bronze_files']} Bronze files into {folder}; Dagster instance: {made['dagster']}"
            ),
        )


@click.command(
    "restore-backup",
    help="Restore the backup in FOLDER into an empty database, check every table against the backup's "
    "digests, and make the platform's roles, grants and row-level security again.",
)
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--to", "target", required=True, help="DSN of the empty warehouse database.")
@click.option("--dagster-to", default=None, help="DSN of an empty database for the Dagster instance.")
def restore_backup(folder: Path, target: str, dagster_to: str | None) -> None:
    from domotic_assets.operations.backups import BackupError
    from domotic_assets.operations.backups import restore_backup as restore

    warehouse = _target(target, "--to")
    dagster = _target(dagster_to, "--dagster-to") if dagster_to else None
    try:
        done = restore(folder, warehouse, dagster)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    dagster_done = "; and the Dagster instance" if done.dagster else ""
    click.echo(f"restored {done.tables} tables, each equal to the backup{dagster_done}")
    if done.sql_logins:
        click.echo(
            "BI logins to issue again (`domotic accounts sql-login LOGIN`): " + ", ".join(done.sql_logins)
        )
    click.echo("the API role's password is set on this server by `domotic serve`, from DOMOTIC_API_PASSWORD")


@click.command(
    help="Archive the days older than their retention: Bronze apartment-days as tar + zstd, Silver day "
    "partitions and Gold minute facts as Parquet, each verified before its source is dropped."
)
@click.option(
    "--before",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Archive nothing from this day on, whatever the retention allows.",
)
def archive(before: datetime | None) -> None:
    from domotic_assets.contracts.timestamps import zone
    from domotic_assets.operations import archives, retention
    from domotic_assets.settings import PLATFORM_TIMEZONE
    from domotic_assets.warehouse.reference_tables import parameters_named

    settings = settings_from_env()
    today = datetime.now(zone(PLATFORM_TIMEZONE)).date()
    with _warehouse(settings) as (_, conn):
        limits = retention.cutoffs(
            today, parameters_named(conn, "retention_"), before.date() if before else None
        )
        _recorded(
            conn,
            "archive",
            lambda: archives.archive(conn, settings.bronze_dir, settings.archive_dir, limits),
            lambda done: (
                "archived (dropped) days: "
                + ", ".join(
                    f"{layer} {done.archived[layer]} ({done.dropped[layer]})" for layer in done.archived
                )
                + f", into {settings.archive_dir}"
                + "".join(f"\nleft for the next run: {left}" for left in done.left)
            ),
        )


@click.command(help="Put archived days back: Bronze byte-identical, Silver and Gold rows identical.")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True)
def restore(first: datetime, last: datetime) -> None:
    from domotic_assets.operations import archives

    settings = settings_from_env()
    with _warehouse(settings) as (_, conn):
        _recorded(
            conn,
            "restore",
            lambda: archives.restore(
                conn, settings.bronze_dir, settings.archive_dir, first.date(), last.date()
            ),
            lambda done: "restored days: " + ", ".join(f"{layer} {n}" for layer, n in done.items()),
        )
