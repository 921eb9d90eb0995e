"""The dbt profile (dbt/profiles.yml) reads its connection from DOMOTIC_PG_* variables; these are
derived from the warehouse DSN, so dbt always writes to the same database as the rest of the platform."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict


def dbt_connection_env(dsn: str) -> dict[str, str]:
    parts = conninfo_to_dict(dsn)
    return {
        "DOMOTIC_PG_HOST": str(parts.get("host") or "127.0.0.1"),
        "DOMOTIC_PG_PORT": str(parts.get("port") or 5432),
        "DOMOTIC_PG_USER": str(parts.get("user") or "postgres"),
        "DOMOTIC_PG_PASSWORD": str(parts.get("password") or ""),
        "DOMOTIC_PG_DATABASE": str(parts.get("dbname") or "postgres"),
    }
