"""The Dagster UI in a real browser (headless Debian chromium driven by Playwright), on the demo state:
the asset graph with its Bronze, Silver and Gold groups and checks, and a three-day backfill
launched from the UI. Screenshots are kept in test-artifacts/ui/."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from domotic_assets_tests.cli_helpers import domotic_command, running_ui
from domotic_assets_tests.servers.base import binary

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "ui"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory) -> dict[str, str]:
    """A state folder after `domotic demo --days 3` on the embedded defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOMOTIC_")}
    env["DOMOTIC_HOME"] = str(tmp_path_factory.mktemp("ui") / "state")
    done = subprocess.run(domotic_command("demo", "--days", "3"), env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return env


@pytest.fixture(scope="module")
def page(demo_env):
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # screenshots of this run only
    ARTIFACTS.mkdir(parents=True)
    chromium = binary("chromium", "chromium")
    with running_ui(demo_env) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000}, base_url=base)
        page.set_default_timeout(60_000)
        # Dagster greets a new instance with a newsletter dialog: dismiss it whenever it shows up
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
        yield page
        browser.close()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def test_the_asset_graph_shows_the_three_layers_and_their_checks(page):
    page.goto("/asset-groups")
    for group in ("bronze", "silver", "gold"):
        page.get_by_text(group, exact=True).last.wait_for()
    _shot(page, "01-asset-graph")
    for group, asset in (("bronze", "bronze_sensor_files"), ("silver", "weather_clean"), ("gold", "fact_energy_minute")):
        page.goto(f'/asset-groups~group:"{group}"/')  # the graph filtered to the group
        page.get_by_text(asset, exact=True).first.click()  # its asset list: centres the graph on the node
        # a node whose checks all passed says e.g. "7 / 7 Passed" once they have loaded
        page.get_by_text(re.compile(r"^([1-9]\d*) / \1 Passed$")).first.wait_for()
        _shot(page, f"02-{group}-checks")
    page.goto("/assets/gold/fact_energy_minute?view=checks")
    page.get_by_text("energy_reconciliation").first.wait_for()
    page.get_by_text("Succeeded").first.wait_for()
    _shot(page, "03-gold-checks")
    page.goto("/assets/bronze_sensor_files?view=checks")
    page.get_by_text("files_accounted_for").first.wait_for()
    page.get_by_text("Succeeded").first.wait_for()
    _shot(page, "04-bronze-checks")


def test_a_three_day_backfill_launched_from_the_ui_succeeds(page):
    page.goto("/assets/sensor_events")
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog").first
    dialog.get_by_text("Show all partitions").click()  # the dialog starts with the last 90 days only
    selection = dialog.locator("input[type=text]")
    selection.fill("[2023-08-18...2023-08-20]")
    selection.press("Enter")
    dialog.get_by_text("3 partitions").wait_for()
    _shot(page, "05-backfill-dialog")
    dialog.get_by_role("button", name="Launch backfill").click()
    created = page.get_by_text(re.compile(r"Created backfill \w+"))
    backfill = created.inner_text().split()[-1]
    page.goto(f"/runs/b/{backfill}")
    deadline = time.monotonic() + 600
    while not (status := re.search(r"Status\n+(Succeeded|Completed|Failed|Canceled|Completed with failures)\n",
                                   page.inner_text("body"))) and time.monotonic() < deadline:
        page.wait_for_timeout(2000)
    _shot(page, "06-backfill-done")
    assert status and status.group(1) in ("Succeeded", "Completed"), page.inner_text("body")[-1500:]
    page.get_by_text("100% completed").wait_for()
