"""`domotic accounts ...`: the accounts that may read the warehouse through the API, the dashboards or a BI
tool. Residents come from pidb's occupancy roles (refreshed with the dimensions); admins are made here."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from domotic_assets.command_settings import settings_from_env
from domotic_assets.settings import Settings


@contextmanager
def _connection(settings: Settings) -> Iterator:
    """The warehouse of these settings (the embedded one started if it is the default), schema ensured and
    grants refreshed from Silver's occupancy roles; an account command that cannot be done exits with 2 and
    its reason."""
    from domotic_assets.warehouse.access_tables import AccountError, refresh_grants
    from domotic_assets.warehouse.connection import connect
    from domotic_assets.warehouse.embedded import warehouse_dsn
    from domotic_assets.warehouse.schema import ensure_schema

    with warehouse_dsn(settings.pg_dsn, settings.embedded_pg_dir) as dsn:
        ensure_schema(dsn)
        with connect(dsn, autocommit=True) as conn:
            refresh_grants(conn)
            try:
                yield conn
            except AccountError as exc:
                _fail(str(exc))


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.group(help="Accounts: residents from pidb's occupancy roles, admins made here; tokens and logins.")
@click.pass_context
def accounts(ctx: click.Context) -> None:
    ctx.obj = settings_from_env()


def _as_dict(account) -> dict:
    return {
        "login": account.login,
        "kind": account.kind,
        "revoked": account.revoked,
        "grants": [
            {"apartment": apt, "scope": scope, "from": str(first), "to": str(last) if last else None}
            for apt, scope, first, last in account.grants
        ],
    }


@accounts.command("list", help="Each login with its kind and what it may see (apartment, scope, days).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@click.pass_obj
def list_accounts(settings: Settings, as_json: bool) -> None:
    from domotic_assets.warehouse.access_tables import accounts as all_accounts

    with _connection(settings) as conn:
        found = all_accounts(conn)
    if as_json:
        click.echo(json.dumps([_as_dict(a) for a in found], indent=2))
        return
    for a in found:
        state = " (revoked)" if a.revoked else ""
        seen = "; ".join(f"{apt} {scope} {first}..{last or ''}" for apt, scope, first, last in a.grants) or (
            "everything" if a.kind == "admin" else "nothing"
        )
        click.echo(f"{a.login:24} {a.kind:8}{state} {seen}")


@accounts.command("add", help="Make an admin account (the operator's data team): it sees everything.")
@click.argument("login")
@click.option("--admin", is_flag=True, required=True, help="Required: residents come from pidb.")
@click.pass_obj
def add(settings: Settings, login: str, admin: bool) -> None:
    from domotic_assets.warehouse.access_tables import add_admin

    with _connection(settings) as conn:
        add_admin(conn, login)
    click.echo(f"{login}: admin")


@accounts.command(help="Print a new API token of the account, once (only its hash is kept).")
@click.argument("login")
@click.option("--expires", "days", type=click.FloatRange(min=0, min_open=True), help="Days it is valid.")
@click.pass_obj
def token(settings: Settings, login: str, days: float | None) -> None:
    from domotic_assets.warehouse.access_tables import issue_token

    with _connection(settings) as conn:
        click.echo(issue_token(conn, login, days))


@accounts.command(help="Read the account's dashboard password from stdin; stored as an argon2 hash.")
@click.argument("login")
@click.pass_obj
def password(settings: Settings, login: str) -> None:
    from argon2 import PasswordHasher

    from domotic_assets.warehouse.access_tables import set_password

    secret = sys.stdin.readline().rstrip("\n")
    if len(secret) < 8:
        _fail("a password has at least 8 characters")
    with _connection(settings) as conn:
        set_password(conn, login, PasswordHasher().hash(secret))
    click.echo(f"{login}: password set")


@accounts.command(help="Revoke the account: its tokens, its sessions and its PostgreSQL logins stop working.")
@click.argument("login")
@click.pass_obj
def revoke(settings: Settings, login: str) -> None:
    from domotic_assets.warehouse.access_tables import revoke as revoke_account

    with _connection(settings) as conn:
        revoke_account(conn, login)
    click.echo(f"{login}: revoked")


@accounts.command("sql-login", help="A PostgreSQL login for a BI tool, seeing exactly what the account sees.")
@click.argument("login")
@click.pass_obj
def sql_login(settings: Settings, login: str) -> None:
    from domotic_assets.warehouse.access_tables import sql_login as make_login

    with _connection(settings) as conn:
        role, secret = make_login(conn, login)
    click.echo(
        f"role: {role}\npassword: {secret}\n(shown once; connect to the warehouse's database as this role)"
    )


def _api_password(settings: Settings, dsn: str) -> str:
    """The API role's password: `DOMOTIC_API_PASSWORD` (environment or secrets file), else, on the embedded
    warehouse, one generated once and kept in its folder (readable by the platform's user only). Set on
    the role when this platform may (it made the role)."""
    import secrets as random_secrets

    from domotic_assets.settings import source_secrets
    from domotic_assets.warehouse.access_tables import may_make_roles, set_api_password
    from domotic_assets.warehouse.connection import connect

    password = source_secrets("API").get("password")
    if password is None and settings.pg_dsn is None:
        kept = settings.embedded_pg_dir / "api-password"
        if not kept.exists():
            kept.touch(mode=0o600)
            kept.write_text(random_secrets.token_urlsafe(24) + "\n")
        password = kept.read_text().strip()
    if password is None:
        raise click.ClickException(
            "the API role's password is needed: set DOMOTIC_API_PASSWORD in the environment or the secrets "
            "file"
        )
    with connect(dsn, autocommit=True) as conn:
        if may_make_roles(conn):
            set_api_password(conn, password)
    return password


@click.command(help="Serve the HTTP API on the warehouse (the embedded default included); SIGTERM stops it.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    import signal

    import uvicorn
    from psycopg.conninfo import make_conninfo

    from domotic_assets.defs.run_history import failed_runs_counter
    from domotic_assets.serving.api import create_app
    from domotic_assets.settings import source_secrets
    from domotic_assets.warehouse.access_tables import API_ROLE
    from domotic_assets.warehouse.embedded import warehouse_dsn
    from domotic_assets.warehouse.schema import ensure_schema

    settings = settings_from_env()
    with warehouse_dsn(settings.pg_dsn, settings.embedded_pg_dir) as dsn:
        ensure_schema(dsn)
        password = _api_password(settings, dsn)
        app = create_app(
            make_conninfo(dsn, user=API_ROLE, password=password, passfile=""),
            jobs_dsn=dsn,
            metrics_password=source_secrets("METRICS").get("password"),
            failed_runs=failed_runs_counter(settings.dagster_home),
        )
        click.echo(
            f"serving the API on http://{host}:{port} (OpenAPI at /openapi.json, pages at /docs)", err=True
        )
        # uvicorn shuts down gracefully on SIGTERM, then raises the signal again to the handler it found:
        # this one, so that a requested stop ends with status 0
        signal.signal(signal.SIGTERM, lambda *_: None)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
