"""Benchmark of the dashboards as a resident meets them: headless Debian chromium on `domotic serve`, on the
70-day warehouse that `silver_bench.py --keep DIR` and `gold_bench.py --silver DIR` leave in DIR.

Prints, over several runs: the time from navigation to the energy chart's first frame with its data (the
page's `performance.mark`), the same after a filter change (another period: the filter form is a GET, so a
new page of the same dashboard, its assets cached), and beside them, measured in the same page, the bare API
call the chart makes (`/api/energy`, from the browser's resource timing). The account is the current renter
of the first apartment, viewing the last 7 days of its data.

Usage: python benchmarks/dashboards_bench.py --silver DIR [--runs 7]
Targets: first chart painted under 1.5 s; a filter change painted again under 500 ms.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import statistics
from datetime import timedelta
from pathlib import Path

import psycopg
from api_bench import readers, start_serve
from argon2 import PasswordHasher
from playwright.sync_api import sync_playwright

from domotic_assets.warehouse import access_tables
from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets.warehouse.schema import ensure_schema
from domotic_assets_tests.browser import CHROMIUM_FLAGS
from domotic_assets_tests.servers.base import binary

DRAWN = "() => document.getElementById('energy-chart').dataset.drawn === 'true'"
TIMINGS = """() => ({
    drawn: performance.getEntriesByName('painted:energy-chart')[0].startTime,
    api: performance.getEntriesByType('resource').filter(e => e.name.includes('/api/energy?'))
        .map(e => e.duration)[0] })"""
TARGETS = {"first": 1500.0, "change": 500.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--silver", type=Path, required=True, help="the folder silver_bench.py --keep left")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    chromium = binary("chromium", "chromium")  # Debian's, installed when missing
    home = args.silver.resolve()
    server = EmbeddedPostgres(home / "pg")
    dsn, _ = server.ensure_running()
    try:
        ensure_schema(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            access_tables.refresh_grants(conn)
            last = conn.execute("SELECT max(local_day) FROM gold.agg_energy_apartment_day").fetchone()[0]
            renter = next(r for r in readers(conn, last) if r.login == access_tables.open_tenancy(conn))
            password = secrets.token_urlsafe(12)
            access_tables.set_password(conn, renter.login, PasswordHasher().hash(password))
        serve, base = start_serve(home)
        try:
            figures = measure(chromium, base, renter, password, last, args.runs)
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=60)
    finally:
        server.stop()
    report(figures)


def measure(chromium: str, base: str, renter, password: str, last, runs: int) -> dict[str, list[float]]:
    week = f"/energy?apartment={renter.code}&from={last - timedelta(days=6)}&to={last}"
    month = f"/energy?apartment={renter.code}&from={last - timedelta(days=29)}&to={last}"
    figures: dict[str, list[float]] = {"first": [], "first_api": [], "change": [], "change_api": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(base_url=base, viewport={"width": 1400, "height": 1000})
        page.goto("/login")
        page.fill("#login", renter.login)
        page.fill("#password", password)
        page.click("form.sign-in button[type=submit]")
        page.wait_for_url("**/energy")
        for run in range(runs + 1):  # the first run warms the server's and the browser's caches
            page.goto(week)
            page.wait_for_function(DRAWN, polling="raf")
            first = page.evaluate(TIMINGS)
            # a filter change: the form is a GET, so another period is a new page of the same dashboard
            page.goto(month)
            page.wait_for_function(DRAWN, polling="raf")
            changed = page.evaluate(TIMINGS)
            if run:
                figures["first"].append(first["drawn"])
                figures["first_api"].append(first["api"])
                figures["change"].append(changed["drawn"])
                figures["change_api"].append(changed["api"])
        browser.close()
    return figures


def report(figures: dict[str, list[float]]) -> None:
    def line(name: str, key: str, api: str) -> float:
        median, worst = statistics.median(figures[key]), max(figures[key])
        bare = statistics.median(figures[api])
        print(
            f"{name:<52} median {median:7.0f} ms, worst {worst:7.0f} ms   "
            f"bare API call {bare:6.0f} ms   ratio {median / bare:5.1f}x"
        )
        return worst

    print(f"energy dashboard, the renter's last days, {len(figures['first'])} runs (headless chromium)")
    first = line("first chart painted after navigation (a week)", "first", "first_api")
    change = line("filter change (a month) painted again", "change", "change_api")
    for what, figure, limit in (
        ("first chart", first, TARGETS["first"]),
        ("filter change", change, TARGETS["change"]),
    ):
        verdict = "met" if figure <= limit else "NOT met"
        print(f"  {what}: worst {figure:.0f} ms, target {limit:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
