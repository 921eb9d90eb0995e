"""The demo's reader of the dashboards: the current renter of the first apartment, given a password kept in
the state folder (readable by its user only, never printed), so that `make demo` says whom to sign in as."""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
from argon2 import PasswordHasher

from domotic_assets.warehouse import access_tables


def demo_reader(conn: psycopg.Connection, home: Path) -> tuple[str, Path] | None:
    """(login, the file holding its password); the password is made once, and kept on later runs."""
    login = access_tables.open_tenancy(conn)
    if login is None:
        return None
    kept = home / "demo-password"
    if not kept.exists() or not access_tables.has_password(conn, login):
        kept.touch(mode=0o600)
        kept.write_text(secrets.token_urlsafe(12) + "\n")
        access_tables.set_password(conn, login, PasswordHasher().hash(kept.read_text().strip()))
    return login, kept
