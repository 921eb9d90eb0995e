"""The platform's settings: environment variables with embedded defaults, read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PLATFORM_TIMEZONE = "Europe/Zurich"
"""Partitions are local calendar days here; also the default time zone of an apartment."""

PARTITIONS_START = "2023-01-01"
"""First day partition of every time-partitioned asset."""


@dataclass(frozen=True)
class Settings:
    """Where the platform keeps its state and finds its sources.

    | variable            | meaning                                   | default                            |
    |---------------------|-------------------------------------------|------------------------------------|
    | `DOMOTIC_HOME`      | state folder: Bronze, Dagster, warehouse  | `./.domotic`                       |
    | `DOMOTIC_LANDING`   | where sensor files arrive                 | `$DOMOTIC_HOME/feed/share`         |
    | `DOMOTIC_WEATHER`   | where weather CSVs arrive                 | `$DOMOTIC_HOME/feed/meteo2`        |
    | `DOMOTIC_PIDB_URL`  | reference database (SQLAlchemy URL)       | `sqlite:///$DOMOTIC_HOME/feed/pidb.sqlite` |
    | `DOMOTIC_PG_DSN`    | the warehouse (PostgreSQL)                | a private server in `$DOMOTIC_HOME/pg` |
    """

    home: Path
    landing: str
    weather: str
    pidb_url: str
    pg_dsn: str | None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        home = Path(env.get("DOMOTIC_HOME") or ".domotic").expanduser().resolve()
        feed = home / "feed"
        return cls(
            home=home,
            landing=env.get("DOMOTIC_LANDING") or str(feed / "share"),
            weather=env.get("DOMOTIC_WEATHER") or str(feed / "meteo2"),
            pidb_url=env.get("DOMOTIC_PIDB_URL") or f"sqlite:///{feed / 'pidb.sqlite'}",
            pg_dsn=env.get("DOMOTIC_PG_DSN") or None,
        )

    @property
    def bronze_dir(self) -> Path:
        return self.home / "bronze"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def embedded_pg_dir(self) -> Path:
        return self.home / "pg"

    @property
    def feed_dir(self) -> Path:
        """Where `domotic demo` writes its simulated feed (the default landing, weather and pidb)."""
        return self.home / "feed"
