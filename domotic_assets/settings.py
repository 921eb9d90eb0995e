"""The platform's settings: environment variables with embedded defaults, read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PLATFORM_TIMEZONE = "Europe/Zurich"
"""Partitions are local calendar days here; also the default time zone of an apartment."""

PARTITIONS_START = "2023-01-01"
"""First day partition of every time-partitioned asset."""

EXECUTORS = ("in_process", "celery")
DEFAULT_CELERY_BROKER = "amqp://guest@127.0.0.1:5672//"


class SecretInLocation(ValueError):
    """A password was put where it would be shown (a URL or DSN in the environment, the resource config, the
    UI)."""


def _dsn_carries_password(dsn: str) -> bool:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return bool(conninfo_to_dict(dsn).get("password"))
    except Exception:  # noqa: BLE001 - whatever psycopg says would echo the DSN, password included
        raise ValueError(
            "DOMOTIC_PG_DSN is not a PostgreSQL connection string (postgresql://user@host:port/db)"
        ) from None


def _url_carries_password(url: str) -> bool:
    import sqlalchemy as sa

    return sa.engine.make_url(url).password is not None


def _refuse(variable: str, secret: str) -> SecretInLocation:
    return SecretInLocation(
        f"{variable} carries a password, which would be shown wherever the location is: remove it "
        f"and set {secret} in the environment or in DOMOTIC_SECRETS_FILE"
    )


@dataclass(frozen=True)
class Settings:
    """Where the platform keeps its state and finds its sources.

    * `DOMOTIC_HOME`: the state folder: Bronze, Dagster, warehouse (default `./.domotic`);
    * `DOMOTIC_LANDING`: where sensor files arrive (`$DOMOTIC_HOME/feed/share`);
    * `DOMOTIC_WEATHER`: where weather CSVs arrive (`$DOMOTIC_HOME/feed/meteo2`);
    * `DOMOTIC_PIDB_URL`: the reference database, an SQLAlchemy URL
      (`sqlite:///$DOMOTIC_HOME/feed/pidb.sqlite`);
    * `DOMOTIC_PG_DSN`: the warehouse, PostgreSQL (a private server in `$DOMOTIC_HOME/pg`);
    * `DOMOTIC_MQTT_URL`: the telemetry broker, `mqtt://[user@]host:port` or `mqtts://` for TLS (a private
      Mosquitto in `$DOMOTIC_HOME/mqtt`);
    * `DOMOTIC_GROUND_TRUTH`: a simulator's manifest folder, what really happened, to judge presence and
      anomalies by (the demo feed's manifest, when the landing is the demo feed).

    Passwords never live here: a DSN or URL that carries one is refused (`SecretInLocation`), and each
    is read when its source is opened (`source_secrets`).
    """

    home: Path
    landing: str
    weather: str
    pidb_url: str
    pg_dsn: str | None
    mqtt_url: str | None = None
    ground_truth: str | None = None
    """A simulated feed's manifest folder; the checks against the truth exist only when it is set."""
    executor: str = "in_process"
    celery_broker: str = DEFAULT_CELERY_BROKER

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"DOMOTIC_EXECUTOR is {self.executor!r}: use one of {', '.join(EXECUTORS)}")
        if _url_carries_password(self.celery_broker):
            raise _refuse("DOMOTIC_CELERY_BROKER", "DOMOTIC_CELERY_PASSWORD")
        if self.pg_dsn and _dsn_carries_password(self.pg_dsn):
            raise _refuse("DOMOTIC_PG_DSN", "DOMOTIC_PG_PASSWORD")
        if self.pidb_url and _url_carries_password(self.pidb_url):
            raise _refuse("DOMOTIC_PIDB_URL", "DOMOTIC_PIDB_PASSWORD")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("DOMOTIC_HOME") or ".domotic").expanduser().resolve()
        feed = home / "feed"
        demo_truth = (
            feed / "manifest" if not env.get("DOMOTIC_LANDING") and (feed / "manifest").is_dir() else None
        )
        return cls(
            home=home,
            landing=env.get("DOMOTIC_LANDING") or str(feed / "share"),
            weather=env.get("DOMOTIC_WEATHER") or str(feed / "meteo2"),
            pidb_url=env.get("DOMOTIC_PIDB_URL") or f"sqlite:///{feed / 'pidb.sqlite'}",
            pg_dsn=env.get("DOMOTIC_PG_DSN") or None,
            mqtt_url=env.get("DOMOTIC_MQTT_URL") or None,
            ground_truth=env.get("DOMOTIC_GROUND_TRUTH") or (str(demo_truth) if demo_truth else None),
            executor=env.get("DOMOTIC_EXECUTOR") or "in_process",
            celery_broker=env.get("DOMOTIC_CELERY_BROKER") or DEFAULT_CELERY_BROKER,
        )

    @property
    def bronze_dir(self) -> Path:
        return self.home / "bronze"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def models_dir(self) -> Path:
        """Training sets and fitted models (the ML assets' model store)."""
        return self.home / "models"

    @property
    def archive_dir(self) -> Path:
        """Archived Bronze days (tar + zstd) and Silver and Gold days (Parquet): `domotic archive`."""
        return self.home / "archive"

    @property
    def embedded_pg_dir(self) -> Path:
        return self.home / "pg"

    @property
    def embedded_broker_dir(self) -> Path:
        return self.home / "mqtt"

    @property
    def stream_buffer_dir(self) -> Path:
        """The streaming consumer's disk buffer (messages acknowledged while the warehouse was down)."""
        return self.home / "stream-buffer"

    @property
    def feed_dir(self) -> Path:
        """Where `domotic demo` writes its simulated feed (the default landing, weather and pidb)."""
        return self.home / "feed"


SECRET_KEYS = {
    "password": "PASSWORD",
    "key_file": "KEY",
    "known_hosts": "KNOWN_HOSTS",
    "ca_file": "CA_FILE",
    "cert_file": "CERT_FILE",
}


def source_secrets(source: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The credentials of a source (`LANDING`, `WEATHER`, `MQTT`, `PIDB` or `PG`, the warehouse), read when
    the source is opened.

    * `DOMOTIC_<SOURCE>_PASSWORD`: the password of the URL's user (SMB, MQTT, pidb, the warehouse);
    * `DOMOTIC_<SOURCE>_KEY`: the sFTP private key file; the MQTT TLS client key;
    * `DOMOTIC_<SOURCE>_KNOWN_HOSTS`: the sFTP known_hosts file pinning the server's key (default
      `~/.ssh/known_hosts`);
    * `DOMOTIC_<SOURCE>_CA_FILE`: MQTT TLS, the CA bundle to trust (default: the system's);
    * `DOMOTIC_<SOURCE>_CERT_FILE`: MQTT TLS, the client certificate.

    Each is taken from the environment, else from `$DOMOTIC_SECRETS_FILE` (`NAME=value` lines,
    `#` comments; keep it readable by the platform's user only). Never from the repository.
    """
    env = os.environ if environ is None else environ
    from_file: dict[str, str] = {}
    if env.get("DOMOTIC_SECRETS_FILE"):
        for line in Path(env["DOMOTIC_SECRETS_FILE"]).read_text().splitlines():
            name, sep, text = line.strip().partition("=")
            if sep and not name.startswith("#"):
                from_file[name.strip()] = text.strip()
    found = {}
    for key, suffix in SECRET_KEYS.items():
        name = f"DOMOTIC_{source}_{suffix}"
        if value := env.get(name) or from_file.get(name):
            found[key] = value
    return found
