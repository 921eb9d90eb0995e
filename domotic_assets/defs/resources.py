"""The platform's resources, each behind one small interface, built once from the settings."""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import joblib
import pandas as pd
import psycopg

from domotic_assets.defs.dbt_project import DBT_EXECUTABLE, GoldDbt, dbt_project
from domotic_assets.ingest.landing import Landing
from domotic_assets.ingest.pidb_import import apartment_timezones
from domotic_assets.ingest.sources import open_landing
from domotic_assets.ml import ground_truth
from domotic_assets.settings import PLATFORM_TIMEZONE, Settings, source_secrets
from domotic_assets.warehouse.connection import connect
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets.warehouse.schema import ensure_schema

_schema_ready: set[str] = set()


class WarehouseResource(dg.ConfigurableResource):
    """The PostgreSQL warehouse. With no DSN, the private server in `embedded_folder` (started
    on first use if needed, and left running for the CLI or UI that owns it to stop)."""

    dsn: str = ""
    embedded_folder: str = ""

    def resolved_dsn(self) -> str:
        if self.dsn:
            return self.dsn
        return EmbeddedPostgres(Path(self.embedded_folder)).ensure_running()[0]

    def ready_dsn(self) -> str:
        """The DSN of a running warehouse whose schemas exist."""
        dsn = self.resolved_dsn()
        if dsn not in _schema_ready:
            ensure_schema(dsn)
            _schema_ready.add(dsn)
        return dsn

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with connect(self.ready_dsn(), autocommit=True) as conn:
            yield conn


class LandingResource(dg.ConfigurableResource):
    """Where files arrive: a folder, `smb://...` or `sftp://...`. Credentials are read from the
    environment or the secrets file when the source is opened (`settings.source_secrets` of
    `secrets_of`), so they never appear in the resource's configuration or the UI."""

    location: str
    secrets_of: str = "LANDING"
    patience_seconds: float = 30.0
    """How long an asset keeps retrying a source that is down (with back-off) before failing."""

    def open(self, log: Callable[[str], None] | None = None, patience: float | None = None) -> Landing:
        return open_landing(
            self.location,
            source_secrets(self.secrets_of),
            log=log,
            patience=self.patience_seconds if patience is None else patience,
        )


class PidbResource(dg.ConfigurableResource):
    """The reference database `pidb`, as a SQLAlchemy URL (SQLite, MySQL or MariaDB) without a password:
    the password is read when pidb is opened (`DOMOTIC_PIDB_PASSWORD`, `settings.source_secrets`)."""

    url: str

    def password(self) -> str | None:
        return source_secrets("PIDB").get("password")

    def apartment_timezone(self, log: dg.DagsterLogManager | None = None):
        """A lookup apartment -> time zone; the platform zone when pidb cannot be read."""
        try:
            zones = apartment_timezones(self.url, self.password())
        except Exception as exc:  # Bronze must not stop because pidb is down; say so loudly
            if log:
                log.warning(f"pidb unreadable ({exc}); wall-clock timestamps read as {PLATFORM_TIMEZONE}")
            zones = {}
        return lambda apartment: zones.get(apartment, PLATFORM_TIMEZONE)


class GroundTruthResource(dg.ConfigurableResource):
    """What really happened on a simulated feed: the simulator's manifest folder (true occupancy per room
    and minute, injected anomalies). Empty for a real feed, which has no ground truth."""

    folder: str = ""

    def manifest(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """(occupancy, anomalies), each None when absent."""
        return ground_truth.read_manifest(Path(self.folder)) if self.folder else (None, None)


class BronzeResource(dg.ConfigurableResource):
    """The Bronze file store on disk."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)


class ArchiveResource(dg.ConfigurableResource):
    """Where archived days go (`domotic archive`): Bronze as tar + zstd, Silver and Gold as Parquet."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)


class ModelStore(dg.ConfigurableIOManager):
    """Where the ML assets' training sets and fitted models live: one file per asset and partition.

    ML assets return `{partition key: object}` (a single-run backfill covers many days at once);
    each object is written with joblib to `<root>/<asset>/<day>.joblib`, atomically (a killed run
    leaves the previous file, never half of one), and a downstream asset gets the same mapping for
    the days it asks for. The model's version is its training window, in gold.model_versions."""

    root: str

    def _path(self, key: dg.AssetKey, partition: str) -> Path:
        return Path(self.root) / "/".join(key.path) / f"{partition}.joblib"

    def handle_output(self, context: dg.OutputContext, obj: dict) -> None:
        for partition, value in obj.items():
            path = self._path(context.asset_key, partition)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            joblib.dump(value, partial, compress=3)
            os.replace(partial, path)
        context.add_output_metadata(
            {"files": len(obj), "folder": str(self._path(context.asset_key, "x").parent)}
        )

    def load_input(self, context: dg.InputContext) -> dict:
        keys = context.asset_partition_keys if context.has_asset_partitions else []
        out = {}
        for partition in keys:
            path = self._path(context.asset_key, partition)
            if not path.exists():
                raise FileNotFoundError(
                    f"{context.asset_key.to_user_string()} has no {partition} ({path}): materialize it first"
                )
            out[partition] = joblib.load(path)
        return out


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "dbt": GoldDbt(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        "warehouse": WarehouseResource(
            dsn=settings.pg_dsn or "", embedded_folder=str(settings.embedded_pg_dir)
        ),
        "landing": LandingResource(location=settings.landing),
        "weather_drop": LandingResource(location=settings.weather, secrets_of="WEATHER"),
        "pidb": PidbResource(url=settings.pidb_url),
        "bronze": BronzeResource(root=str(settings.bronze_dir)),
        "archive": ArchiveResource(root=str(settings.archive_dir)),
        "model_store": ModelStore(root=str(settings.models_dir)),
        "ground_truth": GroundTruthResource(folder=settings.ground_truth or ""),
    }
