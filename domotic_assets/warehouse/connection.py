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


NO_JIT = "-c jit=off"
"""JIT compiles a plan's expressions for every partition it touches: over a range of day partitions that costs
more than it saves (the stuck-sensor check over 70 days took 24 s with JIT, 13 s without)."""


def connect(dsn: str, **options) -> psycopg.Connection:
    """A psycopg connection to the warehouse of `dsn` (options as psycopg.connect's), JIT off unless the DSN
    says otherwise."""
    password = warehouse_password(dsn)
    given = conninfo_to_dict(dsn).get("options") or ""
    if "jit" not in given and "options" not in options:
        options["options"] = f"{given} {NO_JIT}".strip()
    return psycopg.connect(dsn, **({"password": password} if password else {}), **options)
