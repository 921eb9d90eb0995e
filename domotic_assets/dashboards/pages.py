"""The dashboards' pages, served by `domotic serve` beside the API: sign-in and sign-out, the language
picker, and one page per dashboard. A page is the frame (navigation, filters, the texts of its charts in
the reader's language); its charts read the API with the session cookie (`assets/dashboards.js`), so they
show what the API answers, under the same row-level security."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import jinja2
import psycopg
from babel import Locale
from babel.dates import format_interval, get_day_names
from babel.numbers import get_currency_symbol, get_decimal_symbol, get_group_symbol
from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from domotic_assets.dashboards import languages, sign_in
from domotic_assets.dashboards.views import View, view_of
from domotic_assets.warehouse import access_tables, api_queries

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).with_name("templates")


def N_(message: str) -> str:
    """Marks a message for the catalogues; it is translated where it is shown."""
    return message


PAGES = {
    "/energy": N_("Energy"),
    "/environment": N_("Environment"),
    "/presence": N_("Presence"),
    "/battery": N_("Battery"),
}
"""The dashboards, linked from every page."""
PRESET_LABELS = {
    "today": N_("Today"),
    "yesterday": N_("Yesterday"),
    "week": N_("This week"),
    "month": N_("This month"),
}
CHART_TEXTS = {
    "energy_title": N_("Energy and cost"),
    "kwh_high": N_("kWh at the high tariff"),
    "kwh_low": N_("kWh at the low tariff"),
    "chf": N_("Cost (CHF)"),
    "kwh_axis": N_("kWh"),
    "chf_axis": N_("CHF"),
    "time": N_("Time"),
    "no_data": N_("No data for this period"),
    "devices_title": N_("Energy per device"),
    "device_cost_title": N_("Cost per device over the period"),
    "unmetered": N_("Not metered by a plug"),
    "device": N_("Device"),
    "previous": N_("Previous period (kWh)"),
    "temperature": N_("Outdoor temperature (°C)"),
    "radiation": N_("Solar radiation (Wh/m²)"),
    "celsius": N_("°C"),
    "forecast_title": N_("Forecast for the next 48 hours"),
    "forecast": N_("Forecast (kWh)"),
    "band": N_("80 % band"),
    "actual": N_("What happened (kWh)"),
    "temperature_title": N_("Temperature (°C)"),
    "humidity_title": N_("Humidity (%)"),
    "co2_title": N_("CO2 (ppm)"),
    "noise_title": N_("Noise (dB)"),
    "openings_title": N_("Windows and doors"),
    "window": N_("Window"),
    "door": N_("Door"),
    "comfort": N_("Comfort range"),
    "co2_high": N_("CO2 above 1,000 ppm"),
    "anomaly": N_("Anomaly"),
    "room": N_("Room"),
    "occupancy_title": N_("Occupancy by room"),
    "occupied_share": N_("Share of the time occupied"),
    "heatmap_title": N_("Usage by hour and weekday"),
    "hours_title": N_("Occupied hours per room and day"),
    "hours": N_("Hours"),
    "presence_forecast_title": N_("Presence forecast for the next 24 hours"),
    "probability": N_("Probability of presence"),
    "plan_title": N_("The day's plan"),
    "savings_title": N_("Savings per day against the rule-based strategy"),
    "cost_sent": N_("Cost with the plan as sent"),
    "cost_rule": N_("Cost with the rule-based strategy"),
    "saved": N_("Saved"),
    "charge": N_("Charge (kW)"),
    "discharge": N_("Discharge (kW)"),
    "soc": N_("State of charge (%)"),
    "grid_import": N_("From the grid (kW)"),
    "pv_used": N_("Solar used (kW)"),
    "kw": N_("kW"),
    "no_schedule": N_("No schedule for this period"),
    "failed": N_("The data could not be loaded"),
}
ECHARTS_LOCALES = {"en": "EN", "fr": "FR", "es": "ES", "ro": "RO", "pt_PT": "PT-br"}
"""ECharts' own translations of its labels (months, days, its aria descriptions); it has no pt-PT, and its
pt-BR names the months and days as Portugal does."""


@cache
def templates(language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_translations(languages.translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def language_of(request: Request) -> str:
    return languages.language_for(
        request.cookies.get(languages.COOKIE), request.headers.get("accept-language")
    )


def render(request: Request, name: str, status: int = 200, **context: object) -> HTMLResponse:
    language = str(context.pop("language", None) or language_of(request))
    gettext = languages.translations(language).gettext
    values = {
        "html_lang": languages.html_lang(language),
        "language": language,
        "languages": list(languages.LANGUAGES.items()),
        "pages": [(path, gettext(label)) for path, label in PAGES.items()],
        "here": here_of(request),
        "signed_in": False,
        "csrf": "",
        "current": request.url.path,
        "keep_query": "",
    }
    page = templates(language).get_template(name).render(values | context)
    response = HTMLResponse(page, status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def local_path(target: str | None, fallback: str = "/energy") -> str:
    """`target` if it is a path of this site (never another host: no open redirect), else `fallback`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else fallback


@asynccontextmanager
async def session_of(request: Request) -> AsyncIterator[tuple[psycopg.AsyncConnection, str] | None]:
    """(a connection reading as the session's account, the session's token), or None when not signed in."""
    token = request.cookies.get(sign_in.SESSION_COOKIE)
    async with request.app.state.pool.connection() as conn:
        if token and await access_tables.sign_in(conn, token) is not None:
            yield conn, token
        else:
            yield None


def here_of(request: Request) -> str:
    """The request's path and query: where to come back to."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def to_sign_in(request: Request) -> RedirectResponse:
    here = here_of(request)
    return RedirectResponse("/login?" + urlencode({"next": here}) if here != "/" else "/login", 303)


@router.get("/")
async def home(request: Request) -> Response:
    async with session_of(request) as session:
        return RedirectResponse("/energy", 303) if session else to_sign_in(request)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    csrf = sign_in.new_login_csrf()
    response = render(request, "login.html", csrf=csrf, next=local_path(next), error=None, login="")
    _cookie(request, response, sign_in.LOGIN_CSRF_COOKIE, csrf, max_age=3600)
    return response


@router.post("/login")
async def login(
    request: Request,
    login: str = Form("", max_length=200),
    password: str = Form("", max_length=1000),
    csrf: str = Form(""),
    next: str = Form("/energy"),
) -> Response:
    failures = request.app.state.failures
    client = request.client.host if request.client else "?"
    gettext = languages.translations(language_of(request)).gettext
    if failures.blocked(client):
        return render(
            request,
            "message.html",
            429,
            title=gettext("Too many attempts"),
            message=gettext("Too many failed sign-ins from here: try again in a minute."),
        )
    if not sign_in.same(csrf, request.cookies.get(sign_in.LOGIN_CSRF_COOKIE)):
        return render(
            request,
            "message.html",
            403,
            title=gettext("Sign in again"),
            message=gettext("This form has expired: open the sign-in page again."),
        )
    async with request.app.state.pool.connection() as conn:
        stored = await access_tables.sign_in_hash(conn, login)
        if await sign_in.password_matches(stored, password):
            token = await access_tables.open_session(conn, login, sign_in.SESSION_HOURS)
            response: Response = RedirectResponse(local_path(next), 303)
            _cookie(
                request, response, sign_in.SESSION_COOKIE, token, max_age=int(sign_in.SESSION_HOURS * 3600)
            )
            response.delete_cookie(sign_in.LOGIN_CSRF_COOKIE, path="/")
            return response
    failures.failed(client)
    await asyncio.sleep(sign_in.delay_after(failures.recent(client)))
    fresh = sign_in.new_login_csrf()
    response = render(
        request,
        "login.html",
        401,
        csrf=fresh,
        next=local_path(next),
        login=login,
        error=gettext("Wrong login or password."),
    )
    _cookie(request, response, sign_in.LOGIN_CSRF_COOKIE, fresh, max_age=3600)
    return response


@router.post("/logout")
async def logout(request: Request, csrf: str = Form("")) -> Response:
    token = request.cookies.get(sign_in.SESSION_COOKIE)
    if token and sign_in.same(csrf, sign_in.csrf_of(token)):
        async with request.app.state.pool.connection() as conn:
            await access_tables.close_session(conn, token)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(sign_in.SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{language}")
async def pick_language(request: Request, language: str, next: str | None = None) -> Response:
    response = RedirectResponse(local_path(next, "/"), 303)
    if language in languages.LANGUAGES:
        _cookie(request, response, languages.COOKIE, language, max_age=365 * 86400, http_only=False)
    return response


ASSETS_DIR = Path(__file__).with_name("assets")
VENDOR = ASSETS_DIR / "node_modules"
ASSETS = {
    "dashboards.js": (ASSETS_DIR / "dashboards.js", "text/javascript"),
    "dashboards.css": (ASSETS_DIR / "dashboards.css", "text/css"),
    "favicon.svg": (ASSETS_DIR / "favicon.svg", "image/svg+xml"),
    "vendor/echarts.min.js": (VENDOR / "echarts" / "dist" / "echarts.min.js", "text/javascript"),
    **{
        f"vendor/echarts-{code}.js": (VENDOR / "echarts" / "i18n" / f"lang{code}.js", "text/javascript")
        for code in ECHARTS_LOCALES.values()
    },
}
"""What the pages load: our script and style, and the npm packages the setup installs from
`assets/package-lock.json` (nothing from a CDN)."""


@router.get("/assets/{name:path}")
async def asset(name: str) -> Response:
    path, media_type = ASSETS.get(name, (None, ""))
    if path is None or not path.exists():
        return Response("not found", 404, media_type="text/plain")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=3600"})


@router.get("/energy")
async def energy(request: Request) -> Response:
    return await dashboard(request, "energy.html", with_rooms=True, with_devices=True)


@router.get("/environment")
async def environment(request: Request) -> Response:
    return await dashboard(request, "environment.html", with_rooms=True, with_devices=False)


@router.get("/battery")
async def battery(request: Request) -> Response:
    return await dashboard(request, "battery.html", with_rooms=False, with_devices=False)


@router.get("/presence")
async def presence(request: Request) -> Response:
    return await dashboard(request, "presence.html", with_rooms=True, with_devices=False, presence=True)


async def dashboard(
    request: Request, template: str, with_rooms: bool, with_devices: bool, presence: bool = False
) -> Response:
    """A dashboard's frame for the apartment and period of its URL; 'not found' for an apartment the
    account may not see, as the API answers. With `presence`, whether the account may see the occupants'
    presence over the period (`presence_shared`: all, some or none of its days)."""
    language = language_of(request)
    gettext = languages.translations(language).gettext
    async with session_of(request) as session:
        if session is None:
            return to_sign_in(request)
        conn, token = session
        visible = json.loads(await api_queries.apartments(conn))
        asked = request.query_params.get("apartment")
        apartment = (
            next((a for a in visible if a["code"] == asked), None) if asked else (visible or [None])[0]
        )
        if apartment is None:
            return render(
                request,
                "message.html",
                404,
                language=language,
                signed_in=True,
                csrf=sign_in.csrf_of(token),
                title=gettext("Not found"),
                message=gettext("There is no such apartment, or it is not yours to see."),
            )
        last_day = await api_queries.last_day(conn, apartment["key"])
        zone = ZoneInfo(apartment["timezone"])
        view = view_of(request.query_params, datetime.now(zone).date(), last_day)
        shared = (
            await api_queries.presence_shared(conn, apartment["key"], view.first, view.last)
            if presence
            else "all"
        )
    # the forecast starts at the apartment's last data, or now if that is later (a demo's data is old)
    now = datetime.now(zone)
    if last_day is not None:
        now = min(now, datetime.combine(last_day + timedelta(days=1), time(0), zone))
    return render(
        request,
        template,
        language=language,
        signed_in=True,
        csrf=sign_in.csrf_of(token),
        keep_query=View(apartment["code"], None, None, view.range, view.first, view.last).query(),
        heading=gettext(PAGES[request.url.path]),
        apartments=visible,
        apartment=apartment,
        view=view,
        with_rooms=with_rooms,
        with_devices=with_devices,
        presets=[(code, gettext(label)) for code, label in PRESET_LABELS.items()],
        period_text=format_interval(view.first, view.last, "yMMMd", locale=language),
        period_days=(view.last - view.first).days + 1,
        echarts_locale=ECHARTS_LOCALES[language],
        config=_config(apartment, view, language, now, request.app.state.grains),
        presence_shared=shared,
    )


def _config(apartment: dict, view: View, language: str, now: datetime, grains) -> dict:
    """What the page's script needs: the series to ask the API for (the period, the one before it of the
    same length, its days for the weather, `now`, where the forecast starts, and the API's grain rule
    `grains`, (grain, up to what range) pairs, for zooming), and its texts and number symbols."""
    first, last = view.window(apartment["timezone"])
    days = view.last - view.first + timedelta(days=1)
    before = View(
        view.apartment, view.room, view.device, None, view.first - days, view.first - timedelta(days=1)
    )
    previous_first, previous_last = before.window(apartment["timezone"])
    gettext = languages.translations(language).gettext
    return {
        "apartment": apartment["code"],
        "from": first.isoformat(),
        "to": last.isoformat(),
        "previousFrom": previous_first.isoformat(),
        "previousTo": previous_last.isoformat(),
        "firstDay": view.first.isoformat(),
        "dayAfter": (view.last + timedelta(days=1)).isoformat(),
        "now": now.isoformat(),
        "rooms": [{"room": r["room"], "name": r["name"]} for r in apartment["rooms"]],
        "weekdays": [get_day_names("abbreviated", locale=language)[day] for day in range(7)],
        "room": view.room,
        "device": view.device,
        "timezone": apartment["timezone"],
        "grains": [[grain, up_to.total_seconds() * 1000] for grain, up_to in grains],
        "locale": languages.html_lang(language),
        "echartsLocale": ECHARTS_LOCALES[language],
        "decimal": get_decimal_symbol(language),
        "group": get_group_symbol(language),
        "chf": currency_affixes(language),
        "texts": {key: gettext(text) for key, text in CHART_TEXTS.items()},
    }


def currency_affixes(language: str, currency: str = "CHF") -> list[str]:
    """What comes before and after an amount of `currency` in the locale (CLDR, through Babel): "CHF 12.50"
    in English, "12,50 CHF" in French. A symbol of letters is kept apart from the digits by a no-break
    space, as CLDR's currency spacing asks."""
    pattern = Locale.parse(language).currency_formats["standard"]
    symbol = get_currency_symbol(currency, locale=language)
    before, after = (affix[0].replace("¤", symbol) for affix in (pattern.prefix, pattern.suffix))
    if before[-1:].isalpha():
        before += "\u00a0"
    if after[:1].isalpha():
        after = "\u00a0" + after
    return [before, after]


def _cookie(
    request: Request, response: Response, name: str, value: str, max_age: int, http_only: bool = True
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=http_only,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
