"""The Dagster UI with years of daily partitions, as an operator opens it: `domotic ui` on a state folder
whose instance holds a materialization of every daily asset for every day of the last three years (written as
runless materialization events, the way the UI reads them), and headless Debian chromium timing, from
navigation to the page showing its content:

* the asset graph (`/asset-groups`, every asset's node drawn);
* one asset's partitions page (`/assets/sensor_events?view=partitions`, its partition count shown).

Each page is opened five times (the first one cold); the median and the worst are printed with the target
(3 s), beside the same pages on an instance with no history (the baseline, same run).
Usage: python benchmarks/ui_bench.py [--years 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
from playwright.sync_api import sync_playwright

from domotic_assets.defs.partitions import daily_partitions
from domotic_assets.settings import Settings
from domotic_assets_tests.browser import CHROMIUM_FLAGS
from domotic_assets_tests.cli_helpers import running_ui
from domotic_assets_tests.servers.base import binary

TARGET_SECONDS, OPENINGS = 3.0, 5
PAGES = {
    "asset graph": ("/asset-groups", re.compile(r"^gold$"), 1),
    "partitions of sensor_events": (
        "/assets/sensor_events?view=partitions",
        re.compile(f"{len(daily_partitions.get_partition_keys()):,} Partitions"),
        0,
    ),
}
"""Each page, what it shows once its content is drawn (the Gold group's node in the graph, after its entry in
the tree; the asset's partition count), and which occurrence of it."""


def prepare(home: Path, years: int) -> int:
    """A state folder whose instance says every daily asset was materialized for each of the last `years`
    years; returns how many events were written."""
    env = {"DOMOTIC_HOME": str(home)}
    from domotic_assets.cli import prepare_dagster_home
    from domotic_assets.definitions import build_definitions

    settings = Settings.from_env(env)
    prepare_dagster_home(settings)
    if not years:
        return 0
    graph = build_definitions(settings).resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def == daily_partitions]
    last = date.today()
    days = [(last - timedelta(days=i)).isoformat() for i in range(365 * years)]
    written = 0
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        for key in keys:
            for day in days:
                instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=day))
                written += 1
    return written


def open_pages(home: Path) -> dict[str, list[float]]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DOMOTIC_")}, "DOMOTIC_HOME": str(home)}
    seconds: dict[str, list[float]] = {name: [] for name in PAGES}
    with running_ui(env) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=binary("chromium", "chromium"), headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1000}, base_url=base)
        page.set_default_timeout(120_000)
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
        for _ in range(OPENINGS):
            for name, (path, shown, occurrence) in PAGES.items():
                page.goto("about:blank")
                began = time.perf_counter()
                page.goto(path)
                page.get_by_text(shown).filter(visible=True).nth(occurrence).wait_for()
                seconds[name].append(time.perf_counter() - began)
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, default=3)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="domotic-ui-bench-") as work:
        for label, years in (("no history", 0), (f"{args.years} years of history", args.years)):
            home = Path(work) / label.replace(" ", "-")
            began = time.perf_counter()
            events = prepare(home, years)
            print(
                f"{label}: {events:,} materializations written in {time.perf_counter() - began:.0f} s",
                flush=True,
            )
            results[label] = open_pages(home)
    baseline, measured = results.values()
    partitions = len(daily_partitions.get_partition_keys())
    print(f"{partitions:,} daily partitions per asset; {OPENINGS} openings per page (the first one cold)")
    for name in PAGES:
        median, worst = statistics.median(measured[name]), max(measured[name])
        base = statistics.median(baseline[name])
        verdict = "met" if worst < TARGET_SECONDS else "NOT met"
        print(
            f"{name:<28} median {median:5.2f} s, worst {worst:5.2f} s (target {TARGET_SECONDS:.0f} s: "
            f"{verdict}); no history {base:5.2f} s, ratio {median / base:4.1f}x"
        )


if __name__ == "__main__":
    main()
