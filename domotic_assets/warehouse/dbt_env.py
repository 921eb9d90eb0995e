"""The dbt profile (dbt/profiles.yml) reads its connection from DOMOTIC_PG_* variables; these are
derived from the warehouse DSN and its password (`connection.warehouse_password`), so dbt always writes
to the same database as the rest of the platform. They live in dbt's environment only, never in a log."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

from domotic_assets.warehouse.connection import warehouse_password


def dbt_connection_env(dsn: str) -> dict[str, str]:
    parts = conninfo_to_dict(dsn)
    return {
        "DOMOTIC_PG_HOST": str(parts.get("host") or "127.0.0.1"),
        "DOMOTIC_PG_PORT": str(parts.get("port") or 5432),
        "DOMOTIC_PG_USER": str(parts.get("user") or "postgres"),
        "DOMOTIC_PG_PASSWORD": warehouse_password(dsn) or "",
        "DOMOTIC_PG_DATABASE": str(parts.get("dbname") or "postgres"),
    }
