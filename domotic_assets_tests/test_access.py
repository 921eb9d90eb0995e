"""Row-level security, decided by PostgreSQL, against a warehouse built from a simulated feed: for every Gold
relation with apartment data, the rows each account sees (owner, current and former renter, another
apartment's renter, admin, none, unknown, revoked) are those the rule gives, counted as the API's role and
through a `sql-login` role; a new relation without a policy fails; a dbt `--full-refresh` keeps them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time as clock
from datetime import date, datetime, time, timedelta

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo
from schemathesis.specs.openapi.checks import positive_data_acceptance

from domotic_assets.defs.dbt_project import run_dbt
from domotic_assets.ml.prediction_rows import MODEL_KEYS
from domotic_assets.settings import Settings
from domotic_assets.warehouse import access_tables
from domotic_assets_tests.cli_helpers import domotic_command
from domotic_assets_tests.served_warehouse import API_PASSWORD, FIRST, LAST, TZ, Serving, api_dsn, roles

TIME_COLUMNS = {  # how the rule reads each relation's time (None: a dimension, no time)
    "dim_apartment": None,
    "dim_room": None,
    "dim_device": None,
    "dim_sensor": None,
    "fact_energy_minute": "ts",
    "fact_environment_minute": "ts",
    "fact_presence_minute": "ts",
    "fact_prediction": "ts",
    "fact_device_health_day": "local_day",
    "agg_household_telemetry_15min": "period_start",
    "agg_household_telemetry_hour": "period_start",
    "schedules": "slot_start",
    "schedule_kpis": "local_day",
    "anomalies": "period_start",
    **{
        f"agg_{d}_{lvl}_{g}": "period_start"
        for d in ("energy", "environment")
        for lvl in ("room", "apartment")
        for g in ("15min", "hour", "day")
    },
    **{f"agg_energy_device_{g}": "period_start" for g in ("15min", "hour", "day")},
}
PRESENCE = {"fact_presence_minute"}


def expected_visible(login: str, every: list[tuple], apartment: int, day: date | None, scope: str) -> bool:
    """The rule of the issue, written out again: a renter inside their tenancy; an owner while owning, but
    the presence only on days no renter's tenancy covers; a dimension (no day) to anyone with a role on the
    apartment."""

    def covers(first, last, d):
        return d is None or (first <= d and (last is None or d < last))

    for building, role, who, first, last in every:
        if who != login or building != apartment or not covers(first, last, day):
            continue
        if role == "renter" or scope == "all" or day is None:
            return True
        if not any(b == apartment and r == "renter" and covers(f, t, day) for b, r, _, f, t in every):
            return True
    return False


def apartment_relations(conn: psycopg.Connection) -> list[str]:
    """Every Gold table or view with an apartment key."""
    return [
        name
        for (name,) in conn.execute("""
            SELECT DISTINCT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'gold' AND a.attname = 'apartment_key' AND NOT a.attisdropped
              AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1""")
    ]


def row_days(settings: Settings, table: str) -> list[tuple]:
    """(apartment, local day or None, scope, rows) of a relation, read as its owner."""
    column = TIME_COLUMNS[table]
    day = (
        "NULL::date"
        if column is None
        else column
        if column == "local_day"
        else f"({column} AT TIME ZONE 'Europe/Zurich')::date"
    )
    scope = (
        "'presence'"
        if table in PRESENCE
        else f"CASE WHEN model_key = {MODEL_KEYS['presence']} THEN 'presence' ELSE 'all' END"
        if table == "fact_prediction"
        else "'all'"
    )
    with psycopg.connect(settings.pg_dsn) as conn:
        return conn.execute(
            f"SELECT apartment_key, {day}, {scope}, count(*) FROM gold.{table} GROUP BY 1, 2, 3"
        ).fetchall()


def counts_as(dsn: str, login: str | None, tables: list[str]) -> dict[str, int]:
    """Rows of each relation a connection sees with `login` set for its transaction (None: not set)."""
    with psycopg.connect(dsn) as conn, conn.transaction():
        if login is not None:
            conn.execute("SELECT set_config('domotic.login', %s, true)", (login,))
        return {t: conn.execute(f"SELECT count(*) FROM gold.{t}").fetchone()[0] for t in tables}


def test_every_relation_with_apartment_data_has_its_policy_and_the_test_knows_its_time(warehouse):
    settings, _ = warehouse
    with psycopg.connect(settings.pg_dsn) as conn:
        found = apartment_relations(conn)
        unsecured = conn.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'gold' AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p')
                 AND NOT (c.relrowsecurity AND EXISTS (SELECT 1 FROM pg_policy p
                     WHERE p.polrelid = c.oid))""",
            (found,),
        ).fetchall()
    assert not unsecured, f"Gold relations with apartment data and no row-level security: {unsecured}"
    assert set(found) == set(TIME_COLUMNS), "a Gold relation with apartment data this test does not check"


def test_each_account_sees_exactly_the_rows_the_rule_gives(warehouse):
    settings, _ = warehouse
    every = roles(settings)
    logins = sorted({r[2] for r in every})
    assert len(logins) == 6 and {r[1] for r in every} == {"owner", "renter"}
    tables = sorted(TIME_COLUMNS)
    facts = {t: row_days(settings, t) for t in tables}
    assert all(facts[t] for t in tables), [t for t in tables if not facts[t]]
    for login in logins:
        seen = counts_as(api_dsn(settings), login, tables)
        expected = {
            t: sum(
                n
                for apartment, day, scope, n in facts[t]
                if expected_visible(login, every, apartment, day, scope)
            )
            for t in tables
        }
        assert seen == expected, login
    total = {t: sum(row[3] for row in facts[t]) for t in tables}
    assert counts_as(api_dsn(settings), "the-data-team", tables) == total
    nothing = dict.fromkeys(tables, 0)
    assert counts_as(api_dsn(settings), None, tables) == nothing  # fail closed: no account set
    assert counts_as(api_dsn(settings), "someone-unknown", tables) == nothing
    # the rule has something to tell apart: a former renter, and an owner's presence only while empty
    renters_of_1 = sorted((first, who) for b, role, who, first, _ in every if b == 1 and role == "renter")
    former, current = renters_of_1[0][1], renters_of_1[1][1]
    owner_of_2 = next(who for b, role, who, *_ in every if b == 2 and role == "owner")
    former_sees = counts_as(api_dsn(settings), former, ["fact_energy_minute", "fact_presence_minute"])
    current_sees = counts_as(api_dsn(settings), current, ["fact_energy_minute", "fact_presence_minute"])
    assert 0 < former_sees["fact_energy_minute"] < total["fact_energy_minute"]
    assert current_sees["fact_presence_minute"] > 0
    owner_presence = counts_as(api_dsn(settings), owner_of_2, ["fact_presence_minute"])[
        "fact_presence_minute"
    ]
    assert 0 < owner_presence < sum(n for a, _, _, n in facts["fact_presence_minute"] if a == 2)


def test_a_sql_login_sees_what_its_account_sees_and_nothing_once_revoked(warehouse):
    settings, made_roles = warehouse
    every = roles(settings)
    renter = next(who for b, role, who, *_ in every if b == 2 and role == "renter")
    tables = sorted(TIME_COLUMNS)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        role, password = access_tables.sql_login(conn, renter)
        made_roles.append(role)
    through_login = counts_as(make_conninfo(settings.pg_dsn, user=role, password=password), None, tables)
    assert through_login == counts_as(api_dsn(settings), renter, tables)
    assert any(through_login.values())
    # another account set on the login's session changes nothing: its session user decides
    assert (
        counts_as(make_conninfo(settings.pg_dsn, user=role, password=password), "the-data-team", tables)
        == through_login
    )
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        access_tables.revoke(conn, renter)
    assert counts_as(api_dsn(settings), renter, tables) == dict.fromkeys(tables, 0)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(make_conninfo(settings.pg_dsn, user=role, password=password)).close()


def test_the_policies_come_back_after_a_full_refresh(warehouse):
    settings, _ = warehouse
    every = roles(settings)
    owner = next(who for b, role, who, *_ in every if b == 1 and role == "owner")
    done = run_dbt("run", "--full-refresh", dsn=settings.pg_dsn, target_path=settings.home / "dbt-refresh")
    assert done.returncode == 0, done.stdout[-3000:]
    with psycopg.connect(settings.pg_dsn) as conn:
        found = apartment_relations(conn)
        secured = conn.execute(
            """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'gold' AND c.relname = ANY(%s) AND c.relrowsecurity""",
            (found,),
        ).fetchone()[0]
    assert secured == len(found)
    tables = ["fact_energy_minute", "agg_energy_apartment_day", "dim_room"]
    facts = {t: row_days(settings, t) for t in tables}
    expected = {
        t: sum(n for a, d, s, n in facts[t] if expected_visible(owner, every, a, d, s)) for t in tables
    }
    assert counts_as(api_dsn(settings), owner, tables) == expected
    assert counts_as(api_dsn(settings), None, tables) == dict.fromkeys(tables, 0)


def test_the_api_answers_each_account_with_its_own_rows_and_404_for_an_apartment_it_may_not_see(warehouse):
    from fastapi.testclient import TestClient

    from domotic_assets.serving.api import create_app

    settings, _ = warehouse
    every = roles(settings)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        codes = dict(conn.execute("SELECT apartment_key, code FROM gold.dim_apartment").fetchall())
        tokens = {login: access_tables.issue_token(conn, login) for login in sorted({r[2] for r in every})}
        revoked = {a.login for a in access_tables.accounts(conn) if a.revoked}  # by the sql-login test
    first, last = (
        datetime.combine(FIRST, time(0), TZ),
        datetime.combine(LAST + timedelta(days=1), time(0), TZ),
    )
    with TestClient(create_app(api_dsn(settings))) as client:
        for login, token in tokens.items():
            for key, code in codes.items():
                answer = client.get(
                    "/api/energy",
                    params={
                        "apartment": code,
                        "from": first.isoformat(),
                        "to": last.isoformat(),
                        "grain": "hour",
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )
                if login in revoked:
                    assert answer.status_code == 401
                    continue
                if not any(r[0] == key and r[2] == login for r in every):
                    assert answer.status_code == 404, (login, code, answer.text)
                    continue
                assert answer.status_code == 200, answer.text
                expected = sum(
                    n
                    for apartment, day, scope, n in row_days(settings, "agg_energy_apartment_hour")
                    if apartment == key and expected_visible(login, every, apartment, day, scope)
                )
                body = answer.json()
                assert len(body["points"]) == expected, (login, code)
                assert all(
                    p["ts"].endswith(("+02:00", "+01:00")) for p in body["points"]
                )  # the apartment's zone


def test_the_api_refuses_what_it_must_and_never_answers_500(warehouse):
    from fastapi.testclient import TestClient

    from domotic_assets.serving.api import create_app

    settings, _ = warehouse
    every = roles(settings)
    owner = next(who for b, role, who, *_ in every if b == 1 and role == "owner")
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        token = access_tables.issue_token(conn, owner)
        expired = access_tables.issue_token(conn, owner, expires_days=1e-9)
        code = conn.execute("SELECT code FROM gold.dim_apartment WHERE apartment_key = 1").fetchone()[0]
    good = {"apartment": code, "from": "2023-08-18T00:00:00+02:00", "to": "2023-08-19T00:00:00+02:00"}
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(api_dsn(settings))) as client:
        assert client.get("/api/energy", params=good).status_code == 401
        assert (
            client.get("/api/energy", params=good, headers={"Authorization": f"Bearer {expired}"}).status_code
            == 401
        )
        assert client.get("/api/energy", params=good, headers=auth).json()["grain"] == "minute"
        for bad in (
            {**good, "from": "2023-08-18T00:00:00"},  # no offset
            {**good, "to": "2023-08-17T00:00:00+02:00"},  # before from
            {**good, "from": "2000-01-01T00:00:00+00:00", "grain": "minute"},  # far beyond 5,000 points
            {**good, "grain": "week"},
            {**good, "room": "-1"},
            {**good, "from": "not a time"},
        ):
            answer = client.get("/api/energy", params=bad, headers=auth)
            assert answer.status_code == 422, (bad, answer.text)
        for injected in ("x' OR '1'='1", "1; DROP TABLE gold.dim_apartment; --", "%", "1 OR 1=1"):
            assert (
                client.get("/api/energy", params={**good, "apartment": injected}, headers=auth).status_code
                == 404
            )
            assert client.get(f"/api/schedule/{injected}", headers=auth).status_code == 404
        assert client.get("/api/latest/999999", headers=auth).status_code == 404
        assert client.get("/api/latest/1", headers=auth).json()["points"]
        # a schedule of the owner's apartment, then the other apartment's, which it may not see
        with psycopg.connect(settings.pg_dsn) as conn:
            mine, theirs = (
                conn.execute(
                    "SELECT schedule_id FROM gold.schedule_kpis WHERE household = %s LIMIT 1", (h,)
                ).fetchone()[0]
                for h in ("1", "2")
            )
        assert client.get(f"/api/schedule/{mine}", headers=auth).json()["slots"]
        assert client.get(f"/api/schedule/{theirs}", headers=auth).status_code == 404
        # too many failed attempts from one address: refused for a while, even with a good token
        for _ in range(10):
            client.get("/api/energy", params=good, headers={"Authorization": "Bearer nope"})
        assert client.get("/api/energy", params=good, headers=auth).status_code == 429
    with psycopg.connect(settings.pg_dsn) as conn:  # the injections changed nothing
        assert conn.execute("SELECT count(*) FROM gold.dim_apartment").fetchone()[0] == 2


def test_domotic_serve_answers_over_http_serves_its_docs_locally_and_stops_on_sigterm(warehouse, tmp_path):
    settings, _ = warehouse
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        token = access_tables.issue_token(conn, "the-data-team")
    server = Serving(settings, tmp_path / "home").start()
    try:
        schema = httpx.get(f"{server.base}/openapi.json").json()
        assert {"/api/energy", "/api/latest/{household}", "/api/schedule/{schedule_id}"} <= set(
            schema["paths"]
        )
        docs = httpx.get(f"{server.base}/docs").text
        assert "/docs/assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
        assert httpx.get(f"{server.base}/docs/assets/swagger-ui-bundle.js").status_code == 200
        latest = httpx.get(f"{server.base}/api/latest/2", headers={"Authorization": f"Bearer {token}"})
        assert latest.status_code == 200 and latest.json()["points"]
    finally:
        assert server.signal(signal.SIGTERM) == 0
    assert API_PASSWORD not in server.process.stderr.read()


def test_every_series_of_the_api_holds_exactly_the_rows_the_rule_gives(warehouse):
    from fastapi.testclient import TestClient

    from domotic_assets.serving.api import create_app

    settings, _ = warehouse
    every = roles(settings)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        codes = dict(conn.execute("SELECT apartment_key, code FROM gold.dim_apartment").fetchall())
        revoked = {a.login for a in access_tables.accounts(conn) if a.revoked}
        tokens = {
            login: access_tables.issue_token(conn, login) for login in sorted({r[2] for r in every} - revoked)
        }
    window = {
        "from": datetime.combine(FIRST, time(0), TZ).isoformat(),
        "to": datetime.combine(LAST + timedelta(days=1), time(0), TZ).isoformat(),
    }
    facts = {
        t: row_days(settings, t)
        for t in ("fact_presence_minute", "fact_prediction", "agg_environment_apartment_hour")
    }

    def expected(login, key, table, scope=None):
        return sum(
            n
            for apartment, day, s, n in facts[table]
            if apartment == key
            and (scope is None or s == scope)
            and expected_visible(login, every, apartment, day, s)
        )

    checked = 0
    with TestClient(create_app(api_dsn(settings))) as client:
        for login, token in tokens.items():
            auth = {"Authorization": f"Bearer {token}"}
            for key, code in codes.items():
                if not any(r[0] == key and r[2] == login for r in every):
                    for route in ("presence", "environment", "predictions"):
                        assert (
                            client.get(
                                f"/api/{route}", params={**window, "apartment": code}, headers=auth
                            ).status_code
                            == 404
                        )
                    continue
                present = client.get(
                    "/api/presence", params={**window, "apartment": code, "grain": "day"}, headers=auth
                )
                assert sum(p["minutes"] for p in present.json()["points"]) == expected(
                    login, key, "fact_presence_minute"
                )
                probability = client.get(
                    "/api/predictions",
                    params={**window, "apartment": code, "model": "presence"},
                    headers=auth,
                )
                assert len(probability.json()["points"]) == expected(
                    login, key, "fact_prediction", "presence"
                )
                climate = client.get(
                    "/api/environment", params={**window, "apartment": code, "grain": "hour"}, headers=auth
                )
                assert len(climate.json()["points"]) == expected(login, key, "agg_environment_apartment_hour")
                weather = client.get(
                    "/api/weather",
                    params={"apartment": code, "from": str(FIRST), "to": str(LAST)},
                    headers=auth,
                )
                assert weather.status_code == 200 and weather.json()["days"]
                checked += 1
    assert checked >= 5


def test_any_request_the_schema_allows_is_answered_by_its_schema_never_500_and_never_across_accounts(
    warehouse,
):
    """schemathesis generates requests for every operation of the OpenAPI schema (as the owner of apartment 2,
    in-process); each answer must match the schema, never be a server error, and hold apartment 2 at most."""
    from domotic_assets.serving.api import create_app

    settings, _ = warehouse
    every = roles(settings)
    owner = next(who for b, role, who, *_ in every if b == 2 and role == "owner")  # a renter is revoked above
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        token = access_tables.issue_token(conn, owner)
        codes = conn.execute("SELECT code FROM gold.dim_apartment WHERE apartment_key = 2").fetchall()
    mine = {code for (code,) in codes} | {"2"}
    app = create_app(api_dsn(settings))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    answered: dict[int, int] = {}
    # about half the cases ask for an apartment that exists (the account's, or the other one) over the days
    # the warehouse holds, so that answers with data are checked against their schema as well
    day = timedelta(days=1)
    windows = [
        (datetime.combine(a, time(0), TZ), datetime.combine(b + day, time(0), TZ))
        for a, b in ((FIRST, LAST), (LAST, LAST), (FIRST - 3 * day, LAST + 9 * day))
    ]
    real = st.one_of(st.none(), st.tuples(st.sampled_from([*sorted(mine), "1"]), st.sampled_from(windows)))
    # schemathesis runs the app's lifespan (which opens its connection pool) on its own event loop
    for operation in operations:

        @given(case=operation.as_strategy(), asked=real)
        @hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case, asked):
            if asked is not None:
                _ask_for(case, *asked)
            # a range whose `to` is not after its `from` is refused with 422: OpenAPI cannot say so
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, excluded_checks=[positive_data_acceptance]
            )
            answered[response.status_code] = answered.get(response.status_code, 0) + 1
            if response.status_code == 200 and "apartment" in response.json():
                assert response.json()["apartment"] in mine

        check()
    assert 500 not in answered and answered.get(422) and answered.get(404) and answered.get(200), answered


def _ask_for(case, apartment: str, window: tuple[datetime, datetime]) -> None:
    """The generated case, asking for `apartment` over `window` where it has those parameters."""
    query = case.query if isinstance(case.query, dict) else None
    if case.path_parameters and "household" in case.path_parameters:
        case.path_parameters["household"] = apartment
    if query is not None and "apartment" in query:
        query["apartment"] = apartment
        first, last = window
        dates = case.operation.path == "/api/weather"
        query["from"] = str(first.date()) if dates else first.isoformat()
        query["to"] = str(last.date()) if dates else last.isoformat()


def _scenario(start: datetime, slots: int = 96) -> dict:
    """A day of a household with a battery, PV and a washer to place: a second or so of solving."""
    pv = [max(0.0, 3.0 - abs(t - slots / 2) / 8) for t in range(slots)]
    return {
        "start": start.isoformat(),
        "step_minutes": 24 * 60 / slots,
        "price_import_chf_kwh": [0.2 if 28 <= t % 96 < 80 else 0.1 for t in range(slots)],
        "price_export_chf_kwh": [0.05] * slots,
        "load_kw": [0.4 + 0.3 * (t % 7 == 0) for t in range(slots)],
        "pv_kw": pv,
        "battery": {
            "capacity_kwh": 10,
            "soc_init": 0.5,
            "soc_min": 0.1,
            "soc_max": 0.95,
            "soc_final": 0.5,
            "charge_kw_max": 5,
            "discharge_kw_max": 5,
        },
        "appliances": [
            {"name": "washer", "profile_kw": [2.0, 2.0, 0.5, 0.5], "earliest_start": 20, "latest_end": 90}
        ],
    }


def test_an_optimize_job_is_accepted_at_once_solved_and_seen_only_by_its_account(warehouse):
    from fastapi.testclient import TestClient

    from domotic_assets.serving.api import create_app

    settings, _ = warehouse
    every = roles(settings)
    owner = next(who for b, role, who, *_ in every if b == 1 and role == "owner")
    other = next(who for b, role, who, *_ in every if b == 2 and role == "owner")
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        mine, theirs = (
            {"Authorization": f"Bearer {access_tables.issue_token(conn, who)}"} for who in (owner, other)
        )
    with TestClient(create_app(api_dsn(settings), jobs_dsn=settings.pg_dsn)) as client:

        def finished(job: str, auth: dict) -> dict:
            for _ in range(300):
                state = client.get(f"/api/optimize/{job}", headers=auth).json()
                if state["status"] != "queued":
                    return state
                clock.sleep(0.1)
            raise AssertionError(f"job {job} still queued")

        accepted = client.post(
            "/api/optimize", json={"scenario": _scenario(datetime(2023, 8, 22, tzinfo=TZ))}, headers=mine
        )
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()["job"]
        with psycopg.connect(settings.pg_dsn) as conn:  # accepted means committed: a kill now loses nothing
            assert conn.execute("SELECT 1 FROM meta.optimize_jobs WHERE job_id = %s", (job,)).fetchone()
        assert (
            client.get(f"/api/optimize/{job}", headers=theirs).status_code == 404
        )  # not the other account's
        done = finished(job, mine)
        assert (
            done["status"] == "done"
            and done["result"]["status"] == "optimal"
            and len(done["result"]["slots"]) == 96
        )
        # built from the warehouse for the owner's own household, and applied: a schedule the controller sends
        applied = client.post(
            "/api/optimize", json={"household": "1", "day": "2023-08-21", "apply": True}, headers=mine
        )
        state = finished(applied.json()["job"], mine)
        assert state["status"] == "done" and state["schedule_id"], state
        assert client.get(f"/api/schedule/{state['schedule_id']}", headers=mine).json()["slots"]
        assert (
            client.post(
                "/api/optimize", json={"household": "1", "day": "2023-08-21"}, headers=theirs
            ).status_code
            == 404
        )
        for bad in (
            {},
            {"scenario": {"start": "yesterday"}},
            {"household": "1"},
            {"scenario": _scenario(datetime(2023, 8, 22, tzinfo=TZ)), "household": "1", "day": "2023-08-21"},
            {"household": "1", "day": "2023-08-21", "surprise": 1},
        ):
            assert client.post("/api/optimize", json=bad, headers=mine).status_code == 422, bad


def test_jobs_accepted_before_the_server_is_killed_are_each_solved_once_after_its_restart(
    warehouse, tmp_path
):
    settings, _ = warehouse
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        auth = {"Authorization": f"Bearer {access_tables.issue_token(conn, 'the-data-team')}"}
    server = Serving(settings, tmp_path / "home")
    base = server.base

    def finished() -> dict[str, datetime | None]:
        with psycopg.connect(settings.pg_dsn) as conn:
            return dict(
                conn.execute(
                    "SELECT job_id::text, finished_at FROM meta.optimize_jobs WHERE job_id = ANY(%s::uuid[])",
                    (jobs,),
                ).fetchall()
            )

    server.start()
    jobs = [
        httpx.post(
            f"{base}/api/optimize",
            json={"scenario": _scenario(datetime(2023, 9, d, tzinfo=TZ), 288)},
            headers=auth,
            timeout=10,
        ).json()["job"]
        for d in range(1, 9)
    ]
    server.signal(signal.SIGKILL)  # right after accepting the last: some are being solved, some wait
    assert len(finished()) == len(jobs), "a job answered 202 was not committed"

    before = finished()
    left = [job for job, at in before.items() if at is None]
    assert left, "every job was solved before the kill: the test proved nothing"
    restarted = datetime.now(TZ)
    server.start()
    try:
        for _ in range(600):
            states = [httpx.get(f"{base}/api/optimize/{job}", headers=auth).json() for job in jobs]
            if all(s["status"] != "queued" for s in states):
                break
            clock.sleep(0.1)
        assert [s["status"] for s in states] == ["done"] * len(jobs), states
        assert all(s["result"]["status"] == "optimal" for s in states)
    finally:
        assert server.signal(signal.SIGTERM) == 0
    after = finished()
    # a job finished before the kill kept its one completion; each one left was completed once, after the
    # restart
    assert all(after[job] == at for job, at in before.items() if at is not None)
    assert all(after[job] is not None and after[job] > restarted for job in left)


def test_the_accounts_commands_make_an_admin_a_token_a_password_and_list_what_each_sees(warehouse, tmp_path):
    settings, _ = warehouse
    env = {**os.environ, "DOMOTIC_HOME": str(tmp_path / "home"), "DOMOTIC_PG_DSN": settings.pg_dsn}

    def accounts(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            domotic_command("accounts", *args),
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert accounts("add", "ops-team", "--admin").returncode == 0
    token = accounts("token", "ops-team", "--expires", "1").stdout.strip()
    assert token.startswith("dmt_")
    assert accounts("password", "ops-team", stdin="correct horse battery\n").returncode == 0
    short = accounts("password", "ops-team", stdin="short\n")
    assert short.returncode == 2 and "8 characters" in short.stderr
    unknown = accounts("token", "nobody-at-all")
    assert unknown.returncode == 2 and "no account 'nobody-at-all'" in unknown.stderr
    listed = {a["login"]: a for a in json.loads(accounts("list", "--json").stdout)}
    assert listed["ops-team"]["kind"] == "admin" and not listed["ops-team"]["revoked"]
    renters = [
        a
        for a in listed.values()
        if a["kind"] == "resident" and any(g["scope"] == "presence" for g in a["grants"])
    ]
    assert len(renters) >= 4 and all(
        g["apartment"] in ("jimmy", "jeremie") for a in renters for g in a["grants"]
    )
    with psycopg.connect(settings.pg_dsn) as conn:
        assert access_tables.token_account(conn, token) == "ops-team"
        stored = conn.execute("SELECT password_hash FROM meta.accounts WHERE login = 'ops-team'").fetchone()[
            0
        ]
    assert stored.startswith("$argon2") and "correct horse" not in stored
    assert accounts("revoke", "ops-team").returncode == 0
    with psycopg.connect(settings.pg_dsn) as conn:
        assert access_tables.token_account(conn, token) is None
