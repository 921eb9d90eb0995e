"""Row-level security in the warehouse, and every statement on its tables: accounts (`meta.accounts`), what
each may see (`meta.access_grants`, from pidb's occupancy roles through `access.grants`), API tokens
(`meta.api_tokens`, hashes only) and the PostgreSQL logins mapped to accounts (`meta.sql_logins`).

PostgreSQL decides, so the API, the dashboards and a BI tool get the same rows:

* `domotic_reader` (no login) may read Gold; every Gold relation with apartment data carries the policy
  `apartment_rows`, which lets a row through only when its time lies in the current account's spans of
  its apartment (`meta.my_spans`, `meta.my_days`), or the account is an admin.
  `meta.apply_row_security` decides a relation's policy from its columns; dbt's post-hook calls it on every
  model it builds, inside the model's own transaction (a `--full-refresh` included), and `secure_gold`
  on every Gold relation when the schema is ensured (the tables written in Python among them).
* The current account is `meta.current_account()`: for the API's role (`domotic_api`), the login its
  request set inside its own transaction (`set_config('domotic.login', login, true)`); for a role made by
  `domotic accounts sql-login`, the account it is mapped to. A revoked or unknown account, or none, is
  NULL, and every policy then gives no row (fail closed). `session_user` is what counts: `SET ROLE`
  cannot borrow another account.
* Neither role owns a table, and neither can bypass row-level security.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg import sql

from domotic_assets.access.grants import Role, grants
from domotic_assets.ml.prediction_rows import MODEL_KEYS
from domotic_assets.settings import PLATFORM_TIMEZONE

READER = "domotic_reader"
API_ROLE = "domotic_api"
SQL_LOGIN_PREFIX = "domotic_account_"

SPANS_FUNCTION = """
CREATE OR REPLACE FUNCTION meta.{name}(text) RETURNS {kind}[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who text := meta.current_account();
    lo integer;
    hi integer;
    out {kind}[] := '{{}}';
    r record;
BEGIN
    SELECT min(apartment_key), max(apartment_key) INTO lo, hi
    FROM meta.access_grants WHERE login = who AND scope = $1;
    IF lo IS NULL THEN
        RETURN out;
    END IF;
    out := array_fill(NULL::{kind}, ARRAY[hi - lo + 1], ARRAY[lo]);
    FOR r IN SELECT apartment_key, range_agg({span}) AS spans FROM meta.access_grants
             WHERE login = who AND scope = $1 GROUP BY apartment_key LOOP
        out[r.apartment_key] := r.spans;
    END LOOP;
    RETURN out;
END $$;"""
"""One function per kind of span (instants, local days); see `DDL`."""

DDL = """
CREATE TABLE IF NOT EXISTS meta.accounts (
    login      text PRIMARY KEY,             -- opaque (pidb occupancy_roles.login, or an admin's name)
    kind       text NOT NULL CHECK (kind IN ('admin', 'resident')),
    password_hash text,                       -- argon2, for the dashboards' sign-in (null: none set)
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz                    -- null: may sign in
);
CREATE TABLE IF NOT EXISTS meta.access_grants (
    login         text    NOT NULL,
    apartment_key integer NOT NULL,
    scope         text    NOT NULL CHECK (scope IN ('all', 'presence')),
    day_from      date    NOT NULL,           -- the apartment's local days, day_to exclusive (null: open)
    day_to        date,
    ts_from       timestamptz NOT NULL,       -- the same span as instants, in the apartment's time zone
    ts_to         timestamptz
);
CREATE INDEX IF NOT EXISTS access_grants_login ON meta.access_grants (login, apartment_key);
CREATE TABLE IF NOT EXISTS meta.api_tokens (
    token_hash text PRIMARY KEY,              -- sha256 of the token; the token itself is shown once
    login      text NOT NULL REFERENCES meta.accounts ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);
-- a dashboard session is a token too (its cookie), made at sign-in and deleted at sign-out
ALTER TABLE meta.api_tokens ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'api'
    CHECK (kind IN ('api', 'session'));
CREATE TABLE IF NOT EXISTS meta.sql_logins (
    role_name  text PRIMARY KEY,
    login      text NOT NULL REFERENCES meta.accounts ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The functions the policies call are PL/pgSQL, whose plans a session keeps: a SQL function that is
-- SECURITY DEFINER is planned again at every call (0.15 ms each, twice per policy and query).
CREATE OR REPLACE FUNCTION meta.current_account() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who text;
BEGIN
    IF session_user = 'domotic_api' THEN
        who := nullif(current_setting('domotic.login', true), '');
    ELSE
        SELECT s.login INTO who FROM meta.sql_logins s WHERE s.role_name = session_user;
    END IF;
    RETURN (SELECT a.login FROM meta.accounts a WHERE a.login = who AND a.revoked_at IS NULL);
END $$;
CREATE OR REPLACE FUNCTION meta.is_admin() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM meta.accounts WHERE login = meta.current_account() AND kind = 'admin');
END $$;
-- The current account's spans of one scope as an array indexed by apartment key: the union of its grants'
-- instants (my_spans) or local days (my_days) for each apartment it may see, NULL elsewhere. A policy reads
-- it once per query (an InitPlan, `(SELECT meta.my_spans('all'))`) and then only indexes it for each row:
-- a function call per row cost 80 us a row, 0.8 s for a day of one apartment's energy minutes.
__SPAN_FUNCTIONS__
-- Row-level security on one Gold relation, decided from its columns (dbt's post-hook and `secure_gold`
-- call it): readable by the reader role; with an apartment_key, the policy apartment_rows lets a row through
-- when the current account sees its apartment at its time (ts, slot_start or period_start as an instant,
-- else local_day as a day, else any time) in its scope (presence for the presence minutes and the presence
-- model's predictions, all for the rest). A view reads as its caller (security_invoker).
CREATE OR REPLACE FUNCTION meta.apply_row_security(target regclass) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    cols text[];
    kind "char";
    time_col text;
    spans text;
    scope text;
    cond text;
BEGIN
    SELECT relkind INTO kind FROM pg_class WHERE oid = target;
    SELECT array_agg(attname::text) INTO cols FROM pg_attribute
    WHERE attrelid = target AND attnum > 0 AND NOT attisdropped;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'domotic_reader')
       AND NOT has_table_privilege('domotic_reader', target, 'SELECT') THEN
        EXECUTE format('GRANT SELECT ON %s TO domotic_reader', target);
    END IF;
    IF kind IN ('v', 'm') THEN
        IF kind = 'v' THEN
            EXECUTE format('ALTER VIEW %s SET (security_invoker = on)', target);
        END IF;
        RETURN 'view: reads as its caller';
    END IF;
    IF NOT 'apartment_key' = ANY (cols) THEN
        RETURN 'no apartment data';
    END IF;
    time_col := CASE WHEN 'ts' = ANY (cols) THEN 'ts' WHEN 'slot_start' = ANY (cols) THEN 'slot_start'
                     WHEN 'period_start' = ANY (cols) THEN 'period_start'
                     WHEN 'local_day' = ANY (cols) THEN 'local_day' END;
    -- the scope's spans, read once per query: instants, or local days for a day table or a dimension
    spans := CASE WHEN time_col IS NULL OR time_col = 'local_day' THEN 'meta.my_days(%L)'
                  ELSE 'meta.my_spans(%L)' END;
    scope := CASE WHEN 'presence_flag' = ANY (cols) THEN format('(SELECT ' || spans || ')', 'presence')
                  WHEN 'model_key' = ANY (cols) AND 'target_key' = ANY (cols)
                      THEN format('(CASE WHEN model_key = __PRESENCE_MODEL__ THEN (SELECT ' || spans
                                  || ') ELSE (SELECT ' || spans || ') END)', 'presence', 'all')
                  ELSE format('(SELECT ' || spans || ')', 'all') END;
    cond := '(SELECT meta.is_admin()) OR ' || CASE
        WHEN time_col IS NULL THEN format('(%s)[apartment_key] IS NOT NULL', scope)
        ELSE format('%I <@ (%s)[apartment_key]', time_col, scope) END;
    -- unchanged: nothing to do (a live run's incremental model keeps its policy, and takes no lock for it)
    IF (SELECT relrowsecurity FROM pg_class WHERE oid = target)
       AND (SELECT obj_description(p.oid, 'pg_policy') FROM pg_policy p
            WHERE p.polrelid = target AND p.polname = 'apartment_rows') = cond THEN
        RETURN cond;
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('DROP POLICY IF EXISTS apartment_rows ON %s', target);
    EXECUTE format('CREATE POLICY apartment_rows ON %s FOR SELECT USING (%s)', target, cond);
    EXECUTE format('COMMENT ON POLICY apartment_rows ON %s IS %L', target, cond);
    RETURN cond;
END $$;
-- The dashboards' sign-in, for the API role, which reads no account table: the password hash of an
-- account that may sign in; a session opened (after the password was checked) and closed.
CREATE OR REPLACE FUNCTION meta.sign_in_hash(text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT password_hash FROM meta.accounts WHERE login = $1 AND revoked_at IS NULL);
END $$;
CREATE OR REPLACE FUNCTION meta.open_session(login text, token_hash text, hours double precision) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM meta.api_tokens t WHERE t.kind = 'session' AND t.expires_at < now();
    INSERT INTO meta.api_tokens (token_hash, login, expires_at, kind)
    VALUES ($2, $1, now() + $3 * interval '1 hour', 'session');
END $$;
CREATE OR REPLACE FUNCTION meta.close_session(token_hash text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM meta.api_tokens t WHERE t.token_hash = $1 AND t.kind = 'session';
END $$;
-- the account of a valid API token's hash (SECURITY DEFINER: the API role cannot read the tokens)
CREATE OR REPLACE FUNCTION meta.token_account(text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT a.login FROM meta.api_tokens t JOIN meta.accounts a USING (login)
            WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND a.revoked_at IS NULL
              AND (t.expires_at IS NULL OR t.expires_at > now()));
END $$;
""".replace("__PRESENCE_MODEL__", str(MODEL_KEYS["presence"])).replace(
    "__SPAN_FUNCTIONS__",
    "\n".join(
        SPANS_FUNCTION.format(name=name, kind=kind, span=span)
        for name, kind, span in (
            ("my_spans", "tstzmultirange", "tstzrange(ts_from, ts_to)"),
            ("my_days", "datemultirange", "daterange(day_from, day_to)"),
        )
    ),
)

ROLES_DDL = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') THEN
        CREATE ROLE {READER} NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{API_ROLE}') THEN
        CREATE ROLE {API_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE IN ROLE {READER};
    END IF;
END $$;
GRANT USAGE ON SCHEMA meta, gold TO {READER};
GRANT EXECUTE ON FUNCTION meta.current_account(), meta.is_admin(), meta.my_spans(text), meta.my_days(text)
    TO {READER};
REVOKE EXECUTE ON FUNCTION meta.token_account(text), meta.sign_in_hash(text),
    meta.open_session(text, text, double precision), meta.close_session(text),
    meta.platform_metrics(double precision, double precision, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION meta.token_account(text), meta.submit_optimize_job(jsonb, text, date, boolean),
    meta.optimize_job(uuid), meta.sign_in_hash(text), meta.open_session(text, text, double precision),
    meta.close_session(text), meta.platform_metrics(double precision, double precision, double precision)
    TO {API_ROLE};
"""
"""The roles, made once by a role that may (the embedded server's owner does); see `ensure_roles`."""


def role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s)", (role,)).fetchone()[0]


def may_make_roles(conn: psycopg.Connection) -> bool:
    """Whether this connection's role may make roles (the embedded server's owner may)."""
    return conn.execute(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
    ).fetchone()[0]


def ensure_roles(conn: psycopg.Connection) -> bool:
    """Make the reader and API roles and their rights; False when this connection's role may not make roles
    (an external warehouse whose administrator makes them once, with `ROLES_DDL`)."""
    if not may_make_roles(conn):
        return role_exists(conn, READER) and role_exists(conn, API_ROLE)
    conn.execute(ROLES_DDL)
    secure_gold(conn)
    return True


def secure_gold(conn: psycopg.Connection) -> dict[str, str]:
    """`meta.apply_row_security` on every Gold relation: the policy of each one with apartment data (dbt's
    post-hook does the same for a model it rebuilds); relation -> what was applied."""
    return dict(
        conn.execute("""
            SELECT c.oid::regclass::text, meta.apply_row_security(c.oid::regclass)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'gold' AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
            ORDER BY 1""").fetchall()
    )


def set_api_password(conn: psycopg.Connection, password: str) -> None:
    """The API role's password (from the secrets, or generated for the embedded server)."""
    conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(API_ROLE), sql.Literal(password)))


def refresh_grants(conn: psycopg.Connection) -> int:
    """Every pidb login an account (`resident`), and the grants recomputed from the occupancy roles in
    Silver, in one transaction; how many grants. Nothing changes before pidb's first import."""
    exists = conn.execute(
        "SELECT to_regclass('silver.dim_occupancy_roles') IS NOT NULL "
        "AND to_regclass('silver.dim_buildings') IS NOT NULL"
    ).fetchone()[0]
    tenancies = conn.execute(
        """SELECT count(*) = 2 FROM information_schema.columns WHERE table_schema = 'silver'
           AND table_name = 'dim_occupancy_roles' AND column_name IN ('valid_from', 'valid_to')"""
    ).fetchone()[0]
    if not exists or not tenancies:  # not imported yet, or imported from a pidb before tenancies
        return 0
    rows = conn.execute(
        "SELECT building_id, role, login, valid_from, valid_to FROM silver.dim_occupancy_roles"
    ).fetchall()
    found = grants([Role(*row) for row in rows])
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("LOCK TABLE meta.access_grants IN EXCLUSIVE MODE")
        cur.executemany(
            "INSERT INTO meta.accounts (login, kind) VALUES (%s, 'resident') ON CONFLICT (login) DO NOTHING",
            [(login,) for login in sorted({r[2] for r in rows})],
        )
        cur.execute("DELETE FROM meta.access_grants")
        cur.execute(
            "CREATE TEMP TABLE grants_in (login text, apartment_key integer, scope text, day_from date,"
            " day_to date) ON COMMIT DROP"
        )
        with cur.copy("COPY grants_in (login, apartment_key, scope, day_from, day_to) FROM STDIN") as copy:
            for g in found:
                copy.write_row((g.login, g.apartment_key, g.scope, g.day_from, g.day_to))
        # the days as instants in the apartment's time zone (the platform's when pidb gives none)
        cur.execute(
            """INSERT INTO meta.access_grants
               SELECT g.login, g.apartment_key, g.scope, g.day_from, g.day_to,
                      g.day_from::timestamp AT TIME ZONE coalesce(b.timezone, %(tz)s),
                      g.day_to::timestamp AT TIME ZONE coalesce(b.timezone, %(tz)s)
               FROM grants_in g LEFT JOIN silver.dim_buildings b ON b.id = g.apartment_key""",
            {"tz": PLATFORM_TIMEZONE},
        )
    return len(found)


class AccountError(ValueError):
    """An account command that cannot be done (unknown login, a name already taken); the message says why."""


@dataclass(frozen=True)
class Account:
    login: str
    kind: str
    revoked: bool
    grants: list[tuple]
    """(apartment code, scope, day_from, day_to or '') of each grant."""


def accounts(conn: psycopg.Connection) -> list[Account]:
    """Every account with its grants, admins first."""
    codes = dict(
        conn.execute("SELECT id, code FROM silver.dim_buildings").fetchall()
        if conn.execute("SELECT to_regclass('silver.dim_buildings') IS NOT NULL").fetchone()[0]
        else []
    )
    rows = conn.execute("""
        SELECT a.login, a.kind, a.revoked_at IS NOT NULL, g.apartment_key, g.scope, g.day_from, g.day_to
        FROM meta.accounts a LEFT JOIN meta.access_grants g USING (login)
        ORDER BY a.kind, a.login, g.apartment_key, g.scope, g.day_from""").fetchall()
    out: dict[str, Account] = {}
    for login, kind, revoked, apartment, scope, day_from, day_to in rows:
        account = out.setdefault(login, Account(login, kind, revoked, []))
        if apartment is not None:
            account.grants.append((codes.get(apartment, str(apartment)), scope, day_from, day_to))
    return list(out.values())


def add_admin(conn: psycopg.Connection, login: str) -> None:
    """An admin account (sees everything); an existing login becomes an admin and is no longer revoked."""
    conn.execute(
        """INSERT INTO meta.accounts (login, kind) VALUES (%s, 'admin')
           ON CONFLICT (login) DO UPDATE SET kind = 'admin', revoked_at = NULL""",
        (login,),
    )


def _known(conn: psycopg.Connection, login: str) -> None:
    if not conn.execute("SELECT 1 FROM meta.accounts WHERE login = %s", (login,)).fetchone():
        raise AccountError(f"no account {login!r} (see `domotic accounts list`)")


def token_hash(token: str) -> str:
    """What is stored of a token: its sha256 (a token is 256 random bits, so no slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: psycopg.Connection, login: str, expires_days: float | None = None) -> str:
    """A new API token of the account, returned once; only its hash is kept."""
    _known(conn, login)
    token = "dmt_" + secrets.token_urlsafe(32)
    expires = None if expires_days is None else datetime.now().astimezone() + timedelta(days=expires_days)
    conn.execute(
        "INSERT INTO meta.api_tokens (token_hash, login, expires_at) VALUES (%s, %s, %s)",
        (token_hash(token), login, expires),
    )
    return token


def token_account(conn: psycopg.Connection, token: str) -> str | None:
    """The account of a valid token (None: unknown, expired or revoked, or its account revoked)."""
    return conn.execute("SELECT meta.token_account(%s)", (token_hash(token),)).fetchone()[0]


async def sign_in(conn: psycopg.AsyncConnection, token: str) -> str | None:
    """The account of a valid token, which the rest of this transaction reads as (None: unknown, expired or
    revoked, and the transaction reads as no account)."""
    cursor = await conn.execute(
        "SELECT nullif(set_config('domotic.login', coalesce(meta.token_account(%s), ''), true), '')",
        (token_hash(token),),
    )
    return (await cursor.fetchone())[0]


async def sign_in_hash(conn: psycopg.AsyncConnection, login: str) -> str | None:
    """The password hash of an account that may sign in to the dashboards (None: none set, no such account,
    or revoked)."""
    cursor = await conn.execute("SELECT meta.sign_in_hash(%s)", (login,))
    return (await cursor.fetchone())[0]


async def open_session(conn: psycopg.AsyncConnection, login: str, hours: float) -> str:
    """A new dashboard session of the account (its password checked), valid `hours`: the cookie's value,
    a token that `sign_in` takes like an API token and `revoke` ends with the others."""
    token = "dms_" + secrets.token_urlsafe(32)
    await conn.execute("SELECT meta.open_session(%s, %s, %s)", (login, token_hash(token), hours))
    return token


async def close_session(conn: psycopg.AsyncConnection, token: str) -> None:
    await conn.execute("SELECT meta.close_session(%s)", (token_hash(token),))


def open_tenancy(conn: psycopg.Connection) -> str | None:
    """A resident whose grant on the first apartment is still open (its current renter, or its owner), for
    the demo to sign in with."""
    row = conn.execute(
        """SELECT g.login FROM meta.access_grants g JOIN meta.accounts a USING (login)
           WHERE g.scope = 'presence' AND g.day_to IS NULL AND a.revoked_at IS NULL
           ORDER BY g.apartment_key, g.day_from DESC LIMIT 1"""
    ).fetchone()
    return row[0] if row else None


def has_password(conn: psycopg.Connection, login: str) -> bool:
    row = conn.execute(
        "SELECT password_hash IS NOT NULL FROM meta.accounts WHERE login = %s", (login,)
    ).fetchone()
    return bool(row and row[0])


def set_password(conn: psycopg.Connection, login: str, password_hash: str) -> None:
    """The account's dashboard password, as its argon2 hash."""
    _known(conn, login)
    conn.execute("UPDATE meta.accounts SET password_hash = %s WHERE login = %s", (password_hash, login))


def revoke(conn: psycopg.Connection, login: str) -> None:
    """The account sees nothing any more: its tokens are revoked, its PostgreSQL logins may not connect."""
    _known(conn, login)
    with conn.transaction():
        conn.execute("UPDATE meta.accounts SET revoked_at = now() WHERE login = %s", (login,))
        conn.execute(
            "UPDATE meta.api_tokens SET revoked_at = now() WHERE login = %s AND revoked_at IS NULL", (login,)
        )
        for (role,) in conn.execute(
            "SELECT role_name FROM meta.sql_logins WHERE login = %s", (login,)
        ).fetchall():
            conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))


def sql_login_roles(conn: psycopg.Connection) -> list[str]:
    """The BI login roles mapped to accounts (`sql_login`), by role name."""
    return [role for (role,) in conn.execute("SELECT role_name FROM meta.sql_logins ORDER BY 1")]


def sql_login(conn: psycopg.Connection, login: str) -> tuple[str, str]:
    """A PostgreSQL login role mapped to the account, for a BI tool: (role name, password, shown once).
    Through it the tool sees exactly what the account sees."""
    _known(conn, login)
    role = SQL_LOGIN_PREFIX + "".join(c if c.isalnum() else "_" for c in login.lower())[:40]
    password = secrets.token_urlsafe(24)
    with conn.transaction():
        if role_exists(conn, role):
            mapped = conn.execute(
                "SELECT login FROM meta.sql_logins WHERE role_name = %s", (role,)
            ).fetchone()
            if not mapped or mapped[0] != login:
                raise AccountError(f"the role {role} exists and is not {login!r}'s")
            conn.execute(
                sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
            )
        else:
            create = (
                "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD {} IN ROLE {}"
            )
            conn.execute(
                sql.SQL(create).format(sql.Identifier(role), sql.Literal(password), sql.Identifier(READER))
            )
            conn.execute("INSERT INTO meta.sql_logins (role_name, login) VALUES (%s, %s)", (role, login))
    return role, password
