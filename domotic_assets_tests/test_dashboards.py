"""The dashboards served by the API's app, on the served warehouse: signing in and out (cookie flags, CSRF,
failed attempts slowed down, revocation), the API read with the session cookie, and the energy page in
each language, showing a renter only their own apartment."""

from __future__ import annotations

import csv
import json
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright

from domotic_assets.dashboards import languages, sign_in
from domotic_assets.serving.api import create_app
from domotic_assets.warehouse import access_tables
from domotic_assets_tests.browser import CHROMIUM_FLAGS
from domotic_assets_tests.served_warehouse import FIRST, LAST, Serving, api_dsn, roles
from domotic_assets_tests.servers.base import binary

PASSWORD = "correct horse battery staple"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "dashboards"
ASSETS = ROOT / "domotic_assets" / "dashboards" / "assets"


@pytest.fixture(scope="module")
def renter(warehouse):
    """The renter of apartment 1 at the end of the three days, with a password, and the other apartment's
    code."""
    settings, _ = warehouse
    every = roles(settings)
    login = next(who for b, role, who, first, last in every if b == 1 and role == "renter" and last is None)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        access_tables.set_password(conn, login, PasswordHasher().hash(PASSWORD))
        codes = dict(conn.execute("SELECT apartment_key, code FROM gold.dim_apartment").fetchall())
    return settings, login, codes[1], codes[2]


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _signed_in(client: TestClient, login: str, password: str = PASSWORD, next_: str = "/energy"):
    form = client.get("/login")
    return client.post(
        "/login",
        data={"login": login, "password": password, "csrf": _csrf(form.text), "next": next_},
        follow_redirects=False,
    )


def test_signing_in_sets_a_safe_cookie_and_signing_out_or_revoking_ends_it(renter):
    settings, login, mine, _ = renter
    with TestClient(create_app(api_dsn(settings)), base_url="https://testserver") as client:
        assert client.get("/", follow_redirects=False).headers["location"] == "/login"
        assert (
            client.get("/energy?room=1", follow_redirects=False).headers["location"]
            == "/login?next=%2Fenergy%3Froom%3D1"
        )
        form = client.get("/login")
        cookie = form.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
        # the form's token must match its cookie
        forged = client.post("/login", data={"login": login, "password": PASSWORD, "csrf": "forged"})
        assert forged.status_code == 403
        began = time.monotonic()
        wrong = _signed_in(client, login, "wrong")
        assert wrong.status_code == 401 and time.monotonic() - began >= 0.5, "a failure is slowed down"
        unknown = _signed_in(client, "nobody-at-all", "wrong")
        assert unknown.status_code == 401 and unknown.text.count("Wrong login or password.") == 1
        done = _signed_in(client, login, next_="https://evil.example/")
        assert done.status_code == 303 and done.headers["location"] == "/energy", "never redirected off site"
        session = client.cookies[sign_in.SESSION_COOKIE]
        set_cookie = done.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "secure" in set_cookie
        assert client.get("/", follow_redirects=False).headers["location"] == "/energy"
        # the API takes the session; a POST with it needs the session's CSRF token
        window = {"apartment": mine, "from": f"{FIRST}T00:00:00+02:00", "to": f"{LAST}T00:00:00+02:00"}
        assert client.get("/api/energy", params=window).json()["points"]
        job = {"household": mine, "day": str(FIRST)}
        assert client.post("/api/optimize", json=job).status_code == 403
        accepted = client.post(
            "/api/optimize", json=job, headers={sign_in.CSRF_HEADER: sign_in.csrf_of(session)}
        )
        assert accepted.status_code == 202
        page = client.get("/energy")
        out = client.post("/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False)
        assert out.headers["location"] == "/login"
        client.cookies.set(sign_in.SESSION_COOKIE, session)  # a copy kept of the cookie is worth nothing now
        assert client.get("/api/energy", params=window).status_code == 401
        # revoking the account ends its sessions too
        client.cookies.clear()
        assert _signed_in(client, login).status_code == 303
        with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
            access_tables.revoke(conn, login)
        try:
            assert client.get("/energy", follow_redirects=False).status_code == 303
            assert _signed_in(client, login).status_code == 401
        finally:
            with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
                conn.execute("UPDATE meta.accounts SET revoked_at = NULL WHERE login = %s", (login,))


def test_too_many_failed_sign_ins_from_one_address_are_refused_for_a_while(renter):
    settings, login, _, _ = renter
    app = create_app(api_dsn(settings))
    app.state.failures.allowed = 3  # the same rule as 10 a minute, sooner
    with TestClient(app) as client:
        for _ in range(3):
            assert _signed_in(client, login, "wrong").status_code == 401
        assert _signed_in(client, login).status_code == 429, "even the right password waits its minute"


@pytest.mark.parametrize("language", list(languages.LANGUAGES))
def test_the_energy_page_speaks_the_readers_language_and_shows_only_their_apartment(renter, language):
    settings, login, mine, theirs = renter
    with TestClient(create_app(api_dsn(settings))) as client:
        assert _signed_in(client, login).status_code == 303
        client.get(f"/lang/{language}?next=/energy")
        page = client.get("/energy")
        assert page.status_code == 200
        assert f'<html lang="{languages.html_lang(language)}">' in page.text
        gettext = languages.translations(language).gettext
        for text in ("Energy", "Apartment", "This week", "Sign out", "Download CSV"):
            assert gettext(text) in page.text, (language, text)
        # the picker lists the renter's apartment only; the other one is not found, as in the API
        assert re.findall(r'<option value="([^"]+)"', page.text.split('id="room"')[0]) == [mine]
        other = client.get(f"/energy?apartment={theirs}")
        assert other.status_code == 404 and gettext("Not found") in other.text
        config = json.loads(
            re.search(r'<script type="application/json" id="config">(.*?)</script>', page.text)[1]
        )
        assert config["apartment"] == mine and config["texts"]["kwh_low"] == gettext("kWh at the low tariff")
        # a count in the language's plural form (Romanian: "20 de zile"), as Babel's CLDR rule says
        twenty = client.get(f"/energy?from={FIRST}&to={FIRST + timedelta(days=19)}")
        ngettext = languages.translations(language).ngettext
        assert ngettext("%(num)d day", "%(num)d days", 20) % {"num": 20} in twenty.text
        # the Accept-Language of a reader who picked nothing
        client.cookies.delete(languages.COOKIE)
        tag = {"pt_PT": "pt-PT", "en": "en-GB"}.get(language, language)
        assert (
            f'lang="{languages.html_lang(language)}"'
            in client.get("/energy", headers={"Accept-Language": tag}).text
        )


def test_an_owner_is_told_presence_is_not_shared_during_a_tenancy_and_sees_it_on_an_empty_day(warehouse):
    """Presence is the occupants' own: the owner of the rented apartment gets a clear message instead of
    charts; the owner of the other apartment sees the day it stood empty."""
    settings, _ = warehouse
    every = roles(settings)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        codes = dict(conn.execute("SELECT apartment_key, code FROM gold.dim_apartment").fetchall())
        owners = {b: who for b, role, who, *_ in every if role == "owner"}
        for login in owners.values():
            access_tables.set_password(conn, login, PasswordHasher().hash(PASSWORD))
    empty_day = FIRST + timedelta(days=1)  # apartment 2 between its two renters
    for language in ("en", "ro"):
        gettext = languages.translations(language).gettext
        with TestClient(create_app(api_dsn(settings))) as client:
            client.cookies.set(languages.COOKIE, language)
            assert _signed_in(client, owners[1]).status_code == 303
            rented = client.get(f"/presence?apartment={codes[1]}&from={LAST}&to={LAST}")
            assert gettext("Presence is not shared during a tenancy") in rented.text
            assert 'id="occupancy-chart"' not in rented.text
            client.cookies.clear()
            client.cookies.set(languages.COOKIE, language)
            assert _signed_in(client, owners[2]).status_code == 303
            empty = client.get(f"/presence?apartment={codes[2]}&from={empty_day}&to={empty_day}")
            assert 'id="occupancy-chart"' in empty.text
            assert gettext("Presence is not shared during a tenancy") not in empty.text


def test_the_energy_dashboard_draws_in_a_browser_what_the_api_answers_in_each_language(renter, tmp_path):
    """Headless Debian chromium: the chart holds the API's numbers, its series are named in the page's
    language, its CSV holds what it shows, axe-core finds nothing serious, no script error; screenshots in
    test-artifacts/dashboards/<language>/."""
    settings, login, mine, theirs = renter
    chromium = binary("chromium", "chromium")
    axe = (ASSETS / "node_modules" / "axe-core" / "axe.min.js").read_text()
    server = Serving(settings, tmp_path / "home").start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
            # a reader far from the apartment still reads its times on the apartment's clock
            page = browser.new_page(
                base_url=server.base,
                viewport={"width": 1400, "height": 1000},
                accept_downloads=True,
                timezone_id="America/New_York",
            )
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto("/login")
            page.fill("#login", login)
            page.fill("#password", PASSWORD)
            page.click("form.sign-in button[type=submit]")
            page.wait_for_url("**/energy")
            view = f"/energy?apartment={mine}&from={FIRST}&to={LAST}"
            window = {"from": f"{FIRST}T00:00:00+02:00", "to": f"{LAST + timedelta(days=1)}T00:00:00+02:00"}
            answer = page.request.get("/api/energy", params={"apartment": mine, **window}).json()
            assert answer["points"], "the renter has energy in the window"
            rooms = page.request.get("/api/apartments").json()[0]["rooms"]
            room_climate = page.request.get(
                "/api/environment", params={"apartment": mine, "room": rooms[0]["room"], **window}
            ).json()
            assert room_climate["points"] and room_climate["anomalies"]
            occupancy = page.request.get("/api/presence", params={"apartment": mine, **window}).json()
            assert occupancy["points"]
            days = page.request.get(
                "/api/schedules", params={"apartment": mine, "from": FIRST, "to": LAST}
            ).json()
            assert [d["day"] for d in days["days"]] == [str(FIRST + timedelta(days=1)), str(LAST)], (
                "the tenancy's"
            )
            plan = page.request.get(f"/api/schedule/{days['days'][-1]['schedule_id']}").json()
            for language in languages.LANGUAGES:
                gettext = languages.translations(language).gettext
                page.goto(f"/lang/{language}?next={quote(view)}")
                page.wait_for_function(DRAWN)
                chart = page.evaluate(CHART)
                assert chart["names"] == [
                    gettext(text)
                    for text in (
                        "kWh at the high tariff",
                        "kWh at the low tariff",
                        "Cost (CHF)",
                        "Previous period (kWh)",
                        "Outdoor temperature (°C)",
                        "Solar radiation (Wh/m²)",
                    )
                ]
                assert chart["weather"], "the weather of the period is there to overlay"
                assert chart["first"] == wall_ms(answer["points"][0]["ts"]), "on the apartment's clock"
                assert chart["low"] == [p["kwh_low"] for p in answer["points"]]
                assert chart["chf"] == [p["chf"] for p in answer["points"]]
                # the devices' bands and what no plug measured add up to the meter, period by period
                stacked = page.evaluate(STACKED)
                assert gettext("Not metered by a plug") == stacked["names"][-1]
                meter = {wall_ms(p["ts"]): p["kwh"] for p in answer["points"]}
                for ts, total in stacked["sums"].items():
                    assert total == pytest.approx(meter[int(ts)], abs=1e-9), ts
                with page.expect_download() as download:
                    page.click("button.csv[data-chart=energy-chart]")
                rows = list(csv.reader(Path(download.value.path()).read_text().splitlines()))
                assert (
                    rows[0] == ["ts", "kwh_high", "kwh_low", "chf"] and len(rows) == len(answer["points"]) + 1
                )
                assert [float(r[2]) if r[2] else None for r in rows[1:]] == chart["low"]
                _accessible_and_kept(page, axe, language, "energy")
                # the environment: each room's temperature as the API answers it, comfort and anomalies
                # marked, windows and doors as intervals
                page.goto(f"/environment?apartment={mine}&from={FIRST}&to={LAST}")
                page.wait_for_function(DRAWN_ENVIRONMENT)
                climate = page.evaluate(CLIMATE)
                assert climate["names"] == [r["name"] for r in rooms]
                assert climate["first"] == [p["temperature_c"] for p in room_climate["points"]]
                assert gettext("Anomaly") in climate["areas"] and gettext("Comfort range") in climate["areas"]
                assert climate["openings"] > 0
                _accessible_and_kept(page, axe, language, "environment")
                # presence: the renter's own days only (the 18th was the previous renter's), said so
                page.goto(f"/presence?apartment={mine}&from={FIRST}&to={LAST}")
                page.wait_for_function(DRAWN_PRESENCE)
                assert page.locator("p.note").inner_text() == gettext(PARTLY_SHOWN)
                assert page.evaluate(OCCUPANCY) == len(occupancy["points"])
                _accessible_and_kept(page, axe, language, "presence")
                # the battery: the last day's plan as the API serves it, and each day's savings
                page.goto(f"/battery?apartment={mine}&from={FIRST}&to={LAST}")
                page.wait_for_function(DRAWN_BATTERY)
                assert page.evaluate(STATE_OF_CHARGE) == [s["soc"] * 100 for s in plan["slots"]]
                assert gettext("Saved") in page.locator("#battery-kpis").inner_text()
                _accessible_and_kept(page, axe, language, "battery")
            # zooming into the last tenth of the three days (the renter's) asks the API for its minutes;
            # "Whole period" goes back
            page.goto(view)
            page.wait_for_function(DRAWN)
            page.evaluate(ZOOM_INTO_THE_LAST_TENTH)
            page.wait_for_function(DRAWN_ZOOMED)
            end = datetime.fromisoformat(window["to"])
            tenth = {"from": (end - timedelta(hours=72 / 10)).isoformat(), "to": end.isoformat()}
            finer = page.request.get("/api/energy", params={"apartment": mine, **tenth}).json()
            assert finer["grain"] == "minute" and len(finer["points"]) > 400
            assert page.evaluate(CHART)["low"] == [p["kwh_low"] for p in finer["points"]]
            page.click("button.zoom-out[data-chart=energy-chart]")
            page.wait_for_function(DRAWN_WHOLE)
            assert page.evaluate(CHART)["low"] == [p["kwh_low"] for p in answer["points"]]
            assert not errors, errors
            # a link to the other apartment shows the renter "not found", as the API answers
            other = page.goto(f"/energy?apartment={theirs}")
            assert other.status == 404 and page.locator("h1").inner_text() == gettext("Not found")
            browser.close()
    finally:
        server.signal(signal.SIGTERM)


def wall_ms(ts: str) -> int:
    """An instant as the chart holds it: its wall-clock time where the API wrote it, in ms, read as UTC."""
    return round(datetime.fromisoformat(ts).replace(tzinfo=UTC).timestamp() * 1000)


def _accessible_and_kept(page, axe: str, language: str, name: str) -> None:
    """axe-core finds no serious or critical violation on the page; its screenshot is kept."""
    page.evaluate(axe)
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    serious = [(v["id"], v["impact"]) for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, (language, name, serious)
    folder = ARTIFACTS / language
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


ZOOM_INTO_THE_LAST_TENTH = """() => document.getElementById('energy-chart').chart.dispatchAction(
    {type: 'dataZoom', dataZoomIndex: 0, start: 90, end: 100})"""
DRAWN_ZOOMED = """() => !document.querySelector('button.zoom-out[data-chart=energy-chart]').hidden
    && document.getElementById('energy-chart').dataset.drawn === 'true'"""
DRAWN_WHOLE = """() => document.querySelector('button.zoom-out[data-chart=energy-chart]').hidden
    && document.getElementById('energy-chart').dataset.drawn === 'true'"""
DRAWN_BATTERY = """() => ['plan-chart', 'savings-chart'].every(
    id => { const el = document.getElementById(id); return el && el.dataset.drawn === 'true'; })"""
STATE_OF_CHARGE = (
    """() => document.getElementById('plan-chart').chart.getOption().series[4].data.map(d => d[1])"""
)
PARTLY_SHOWN = "Part of this period is not shown: presence is shared only for the days it is yours to see."
DRAWN_PRESENCE = """() => ['occupancy-chart', 'usage-chart', 'hours-chart', 'presence-forecast-chart'].every(
    id => { const el = document.getElementById(id); return el && el.dataset.drawn === 'true'; })"""
OCCUPANCY = """() => document.getElementById('occupancy-chart').chart.getOption().series[0].data.length"""
DRAWN_ENVIRONMENT = """() => ['temperature-chart', 'humidity-chart', 'co2-chart', 'noise-chart',
    'openings-chart'].every(id => {
        const el = document.getElementById(id); return el && el.dataset.drawn === 'true'; })"""
CLIMATE = """() => { const o = document.getElementById('temperature-chart').chart.getOption();
    const openings = document.getElementById('openings-chart').chart.getOption();
    return {names: o.series.map(s => s.name), first: o.series[0].data.map(d => d[1]),
            areas: o.series[0].markArea.data.map(a => a[0].name),
            openings: openings.series.length ? openings.series[0].data.length : 0}; }"""
DRAWN = """() => ['energy-chart', 'devices-chart', 'device-cost-chart', 'forecast-chart'].every(id => {
    const el = document.getElementById(id); return el && el.dataset.drawn === 'true'; })"""
STACKED = """() => { const series = document.getElementById('devices-chart').chart.getOption().series;
    const sums = {};
    series.forEach(s => s.data.forEach(([ts, kwh]) => { sums[ts] = (sums[ts] || 0) + (kwh || 0); }));
    return {names: series.map(s => s.name), sums}; }"""
CHART = """() => { const o = document.getElementById('energy-chart').chart.getOption();
    return {names: o.series.map(s => s.name), low: o.series[1].data.map(d => d[1]),
            chf: o.series[2].data.map(d => d[1]), weather: o.series[4].data.length,
            first: o.series[1].data[0][0]}; }"""
