"""Connections to the warehouse: the DSN names the server, the password comes from elsewhere.

A DSN never carries a password (`settings.refuse_password`). The password is `DOMOTIC_PG_PASSWORD` (the
environment or `DOMOTIC_SECRETS_FILE`), or, for the private server, the libpq password file its DSN
names (`passfile=`, readable by the platform's user only): a path, not a secret, so the DSN may be shown.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from domotic_assets.settings import source_secrets


def warehouse_password(dsn: str) -> str | None:
    """The password for `dsn`: its password file's entry, else the platform's secret."""
    passfile = conninfo_to_dict(dsn).get("passfile")
    if passfile and Path(passfile).is_file():
        for line in Path(passfile).read_text().splitlines():
            fields = line.split(":")
            if len(fields) == 5 and not line.startswith("#"):
                return fields[4]
    return source_secrets("PG").get("password")


def connect(dsn: str, **options) -> psycopg.Connection:
    """A psycopg connection to the warehouse of `dsn` (options as psycopg.connect's)."""
    password = warehouse_password(dsn)
    return psycopg.connect(dsn, **({"password": password} if password else {}), **options)
