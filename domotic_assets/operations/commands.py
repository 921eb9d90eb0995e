"""`domotic backup DIR` and `domotic restore-backup DIR --to DSN`: the deployment's backups (see
`operations.backups`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from domotic_assets.serving.commands import settings_from_env

if TYPE_CHECKING:
    from domotic_assets.operations.backups import Database


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
    from domotic_assets.operations.backups import BackupError, Database, dagster_database, make_backup
    from domotic_assets.warehouse import operation_runs
    from domotic_assets.warehouse.connection import connect
    from domotic_assets.warehouse.embedded import warehouse_dsn
    from domotic_assets.warehouse.schema import ensure_schema

    settings = settings_from_env()
    with warehouse_dsn(settings.pg_dsn, settings.embedded_pg_dir) as dsn:
        ensure_schema(dsn)
        with connect(dsn, autocommit=True) as conn:
            run = operation_runs.started(conn, "backup")
        try:
            made = make_backup(Database.of_warehouse(dsn), folder, dagster_database(settings.dagster_home))
        except (BackupError, OSError) as exc:
            with connect(dsn, autocommit=True) as conn:
                operation_runs.finished(conn, run, False, str(exc))
            raise click.ClickException(str(exc)) from None
        rows = sum(table["rows"] for table in made["tables"].values())
        summary = (
            f"backed up {len(made['tables'])} tables ({rows} rows) and the list of {made['bronze_files']} "
            f"Bronze files into {folder}; Dagster instance: {made['dagster']}"
        )
        with connect(dsn, autocommit=True) as conn:
            operation_runs.finished(conn, run, True, summary)
    click.echo(summary)


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
