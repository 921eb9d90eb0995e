"""`domotic demo` on the embedded defaults, and the Dagster UI on its state: what the demo prints, what
the UI's GraphQL says of its checks and resources (no password anywhere), then a real browser
(headless Debian chromium driven by Playwright): the asset graph with its Bronze, Silver and Gold
groups and checks, and a three-day backfill launched from the UI. One demo state serves them all, in
this order. Screenshots are kept in test-artifacts/ui/."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import httpx
import pytest
from dagster_shared.serdes import serialize_value
from playwright.sync_api import Page, sync_playwright

from domotic_assets.warehouse.embedded import EmbeddedPostgres
from domotic_assets_tests.browser import CHROMIUM_FLAGS
from domotic_assets_tests.cli_helpers import domotic_command, running_ui, ui_query
from domotic_assets_tests.servers.base import binary

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "ui"


@dataclass
class Demo:
    env: dict[str, str]
    home: Path
    stdout: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    """A state folder after `domotic demo --days 3` on the embedded defaults (no DOMOTIC_* variable set)."""
    home = tmp_path_factory.mktemp("ui") / "state"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DOMOTIC_")}, "DOMOTIC_HOME": str(home)}
    done = subprocess.run(
        domotic_command("demo", "--days", "3"), env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return Demo(env, home, done.stdout)


@pytest.fixture(scope="module")
def page(demo):
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # screenshots of this run only
    ARTIFACTS.mkdir(parents=True)
    chromium = binary("chromium", "chromium")
    with running_ui(demo.env) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000}, base_url=base)
        page.set_default_timeout(60_000)
        # Dagster greets a new instance with a newsletter dialog: dismiss it whenever it shows up
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
        yield page
        browser.close()


def test_demo_runs_on_embedded_defaults_and_the_ui_shows_its_gold_checks_passed(demo):
    """Before the browser touches the state: the demo's summary, its checks as the UI reports them, and no
    password in what the UI shows or any file written."""
    home = demo.home
    assert "quarantined:" in demo.stdout and "silver.dim_sensors" in demo.stdout
    assert "gold.fact_energy_minute" in demo.stdout and "presence precision" in demo.stdout
    assert all((home / "bronze" / "jimmy" / "2023" / "08" / day).is_dir() for day in ("18", "19", "20"))
    assert EmbeddedPostgres(home / "pg").running_port() is None, "the private server is stopped afterwards"
    nodes, resources = ui_query(
        demo.env,
        """{ assetNodes { assetKey { path } groupName
        assetChecksOrError { ... on AssetChecks { checks { name
            executionForLatestMaterialization { status } } } } } }""",
        RESOURCES,
    )
    gold = {
        (tuple(n["assetKey"]["path"]), c["name"]): (c["executionForLatestMaterialization"] or {}).get(
            "status"
        )
        for n in nodes
        if n["groupName"] == "gold"
        for c in n["assetChecksOrError"]["checks"]
    }
    assert len(gold) > 100 and (("gold", "fact_energy_minute"), "energy_reconciliation") in gold
    assert (("household_schedules",), "schedules_beat_rule_based") in gold
    # the last two days have history to plan on: their schedules are made, verified and beat the rules
    assert {k: v for k, v in gold.items() if v != "SUCCEEDED"} == {}
    _no_password_shown(home, resources)


def test_the_demo_names_a_reader_who_signs_in_to_the_dashboards(demo):
    """The demo says whom to sign in as and where that account's password is (never the password itself);
    `domotic serve` on the demo's state then lets that account in, and shows it its apartment."""
    said = re.search(
        r"sign in as (\S+), the current renter of the first apartment; its password is in (\S+) ", demo.stdout
    )
    assert said, demo.stdout[-1500:]
    login, kept = said[1], Path(said[2])
    password = kept.read_text().strip()
    assert len(password) >= 16 and password not in demo.stdout and kept.stat().st_mode & 0o077 == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve = subprocess.Popen(
        domotic_command("serve", "--port", str(port)), env=demo.env, stderr=subprocess.PIPE, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                form = httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, cookies=form.cookies) as client:
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
            signed = client.post("/login", data={"login": login, "password": password, "csrf": csrf})
            assert signed.status_code == 303 and signed.headers["location"] == "/energy"
            page = client.get("/energy")
            assert page.status_code == 200 and 'id="energy-chart"' in page.text
    finally:
        serve.terminate()
        assert serve.wait(60) == 0
    assert password not in serve.stderr.read()


RESOURCES = """{ workspaceOrError { ... on Workspace { locationEntries {
    locationOrLoadError { ... on RepositoryLocation {
    repositories { allTopLevelResourceDetails { name configuredValues { key value type } } } } } } } } }"""


def _no_password_shown(home, resources: dict) -> None:
    """The private warehouse's generated password appears in no resource's configuration as the UI shows it,
    in no run's event log, and in no file the Dagster instance, dbt or the UI wrote."""
    password = (home / "pg" / "password").read_text().strip()
    configured = [
        (r["name"], v["key"], v["value"])
        for entry in resources["workspaceOrError"]["locationEntries"]
        for repo in entry["locationOrLoadError"]["repositories"]
        for r in repo["allTopLevelResourceDetails"]
        for v in r["configuredValues"]
    ]
    assert ("warehouse", "dsn") in {(name, key) for name, key, _ in configured}
    assert len(password) > 20 and not [c for c in configured if password in c[2]], (
        "a password is shown in the UI"
    )
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        records = instance.get_run_records()
        assert records
        for record in records:
            assert password not in json.dumps(record.dagster_run.run_config) + json.dumps(
                dict(record.dagster_run.tags)
            )
            for event in instance.all_logs(record.dagster_run.run_id):
                assert password not in serialize_value(event), (
                    f"run {record.dagster_run.run_id} logged the password"
                )
    written = [p for folder in ("dagster", "logs") for p in (home / folder).rglob("*") if p.is_file()] + [
        home / "ui.log"
    ]
    assert len(written) > 5 and not [p for p in written if password.encode() in p.read_bytes()]


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def test_the_asset_graph_shows_the_three_layers_and_their_checks(page):
    page.goto("/asset-groups")
    for group in ("bronze", "silver", "gold"):
        page.get_by_text(group, exact=True).last.wait_for()
    _shot(page, "01-asset-graph")
    for group, asset in (
        ("bronze", "bronze_sensor_files"),
        ("silver", "weather_clean"),
        ("gold", "fact_energy_minute"),
    ):
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
    while (
        not (
            status := re.search(
                r"Status\n+(Succeeded|Completed|Failed|Canceled|Completed with failures)\n",
                page.inner_text("body"),
            )
        )
        and time.monotonic() < deadline
    ):
        page.wait_for_timeout(2000)
    _shot(page, "06-backfill-done")
    assert status and status.group(1) in ("Succeeded", "Completed"), page.inner_text("body")[-1500:]
    page.get_by_text("100% completed").wait_for()
