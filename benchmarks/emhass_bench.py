"""The platform's optimiser and EMHASS side by side, on the same battery scenarios, in one run.

EMHASS (PyPI `emhass`, pinned below) is installed in a virtual environment of its own (`.venv-emhass/`,
made on the first run); it is never a dependency of the platform. Twenty-one scenarios of simulated
households with a battery: 96 quarter-hours over the year, the two daylight-saving days (92 and 100
slots), 288 five-minute slots, states of charge from 0.2 to 0.9 at the start; three of them with a wear
cost (the platform's `battery.wear_chf_kwh`, EMHASS's `weight_battery_discharge`), three with a boiler
that may pause (the platform's pausable appliance on at full power or off, EMHASS's semi-continuous
deferrable load), three with a heat-pump boiler that may pause and runs at 0.8 to 2 kW while on (the
platform's `min_power_kw`, EMHASS's minimum power of deferrable loads). For each:

* the objective both are asked to minimise (import cost minus export revenue, plus the wear on each kWh
  discharged), recomputed from each one's schedule, and the final state of charge;
* the solve time (each one's optimisation alone, in one process for all scenarios);
* the whole command: `domotic optimize --scenario` against a fresh Python process that imports EMHASS,
  builds its configuration and solves the scenario (`emhass_runner.py`), each scenario run alone
  (the median of REPEATS runs).

Targets: the platform's objective no higher than EMHASS's on every scenario (within 0.1 % or half a
centime); its whole command at least 10 times faster, 288 slots included.
Usage: python benchmarks/emhass_bench.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from domotic_assets.optimise.model import solve
from domotic_assets.optimise.scenario import read_scenario
from domotic_assets.optimise.schedule import objective_chf
from domotic_assets.simulator.scenarios import simulated_scenario
from domotic_assets.simulator.telemetry import simulated_households

REPO = Path(__file__).resolve().parents[1]
EMHASS = "emhass==0.18.7"
VENV = REPO / ".venv-emhass"
RUNNER = Path(__file__).with_name("emhass_runner.py")
DAYS = [
    (date(2023, 1, 17), 15),
    (date(2023, 3, 26), 15),
    (date(2023, 4, 20), 15),
    (date(2023, 6, 14), 15),
    (date(2023, 7, 30), 15),
    (date(2023, 9, 5), 15),
    (date(2023, 10, 29), 15),
    (date(2023, 11, 22), 15),
    (date(2023, 12, 24), 15),
    (date(2023, 2, 8), 5),
    (date(2023, 8, 18), 5),
    (date(2023, 5, 2), 5),
]
WEAR_CHF_KWH = 0.05
PAUSABLE = {"name": "boiler", "energy_kwh": 3.0, "power_kw": 2.0, "min_power_kw": 2.0}
"""On at full power or off, for an hour and a half in all between 07:00 and 22:00 (a hot-water boiler)."""
MODULATING = {**PAUSABLE, "name": "heat-pump boiler", "min_power_kw": 0.8}
"""The same energy, at any power from 0.8 to 2 kW while on, or off (EMHASS: a deferrable load with a minimum
power)."""


def emhass_python() -> Path:
    """EMHASS's own interpreter, installed on first use."""
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"installing {EMHASS} into {VENV} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", EMHASS], check=True)
    return python


def scenarios() -> list[dict]:
    households = [h for h in simulated_households(12) if h.battery_kwh]
    rng = np.random.default_rng(7)
    out = []
    extra = {
        "wear": DAYS[3:6],
        "pausable": [DAYS[0], DAYS[4], DAYS[10]],
        "modulating": [DAYS[1], DAYS[6], DAYS[11]],
    }
    days = [(day, None) for day in DAYS] + [(day, kind) for kind, chosen in extra.items() for day in chosen]
    for k, ((day, step), kind) in enumerate(days):
        doc = simulated_scenario(households[k % len(households)], day, step, appliances=())
        doc["battery"]["soc_init"] = round(float(rng.uniform(0.2, 0.9)), 2)
        if kind == "wear":
            doc["battery"]["wear_chf_kwh"] = WEAR_CHF_KWH
        if kind in ("pausable", "modulating"):
            per_hour = 60 // step
            appliance = PAUSABLE if kind == "pausable" else MODULATING
            doc["appliances"] = [{**appliance, "earliest_start": 7 * per_hour, "latest_end": 22 * per_hour}]
        out.append(doc)
    return out


def emhass_objective(doc: dict, result: dict) -> float:
    """The scenario's objective (`schedule.objective_chf`) on EMHASS's answer: its cost plus the wear."""
    return result["cost_chf"] + doc["battery"].get("wear_chf_kwh", 0.0) * result["discharged_kwh"]


REPEATS = 3
"""Each whole command is timed this many times, alternating the two tools, and its median kept: a process
start on this machine varies by a factor of two from one minute to the next."""


def timed(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - began


def main() -> None:
    python = emhass_python()
    docs = scenarios()
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for k, doc in enumerate(docs):
            paths.append(Path(folder) / f"scenario{k}.json")
            paths[-1].write_text(json.dumps(doc))
        done = subprocess.run(
            [str(python), str(RUNNER), *map(str, paths)],
            check=True,
            capture_output=True,
            text=True,
            cwd=folder,
        )
        theirs = json.loads(done.stdout.strip().splitlines()[-1])
        ours = []
        for doc in docs:
            scenario = read_scenario(doc)
            schedule = solve(scenario)
            ours.append(
                {
                    "objective": objective_chf(scenario, schedule),
                    "soc_final": schedule.soc[-1],
                    "solve_seconds": schedule.solve_seconds,
                }
            )
        domotic, emhass = [], []
        for p in paths:
            runs = [
                (
                    timed(
                        [
                            str(Path(sys.executable).parent / "domotic"),
                            "optimize",
                            "--scenario",
                            str(p),
                            "--out",
                            str(p) + ".out",
                        ]
                    ),
                    timed([str(python), str(RUNNER), str(p)]),
                )
                for _ in range(REPEATS)
            ]
            domotic.append(float(np.median([mine for mine, _ in runs])))
            emhass.append(float(np.median([other for _, other in runs])))
    print(
        "| scenario | slots | soc start | objective CHF: platform | EMHASS | final soc: platform | EMHASS "
        "| solve s: platform | EMHASS | whole command s: platform | EMHASS |"
    )
    print("|---" * 11 + "|")
    gaps, worse = [], []
    for k, (doc, a, b) in enumerate(zip(docs, ours, theirs)):
        mine, other = a["objective"], emhass_objective(doc, b)
        gaps.append(other - mine)
        if mine > other + max(0.005, 0.001 * abs(other)):
            worse.append(k)
        wear = (
            f", wear {doc['battery']['wear_chf_kwh']:g} CHF/kWh"
            if doc["battery"].get("wear_chf_kwh")
            else f", {doc['appliances'][0]['name']}"
            if doc.get("appliances")
            else ""
        )
        print(
            f"| {k} {doc['start'][:10]}{wear} | {len(doc['load_kw'])} | {doc['battery']['soc_init']:.2f} | "
            f"{mine:.4f} | {other:.4f} | {a['soc_final']:.3f} | {b['soc_final']:.3f} | "
            f"{a['solve_seconds']:.3f} | {b['solve_seconds']:.3f} | {domotic[k]:.2f} | {emhass[k]:.2f} |"
        )
    print(
        f"objective, EMHASS minus platform: min {min(gaps):+.6f}, max {max(gaps):+.6f} CHF; platform higher "
        f"than EMHASS on {len(worse)} of {len(docs)} (target: none)"
    )
    for label, keep in (
        ("all", lambda n: True),
        ("288 slots", lambda n: n == 288),
        ("92-100 slots", lambda n: n < 288),
    ):
        chosen = [k for k, d in enumerate(docs) if keep(len(d["load_kw"]))]
        mine, other = np.median([domotic[k] for k in chosen]), np.median([emhass[k] for k in chosen])
        solve_mine, solve_other = (
            np.median([ours[k]["solve_seconds"] for k in chosen]),
            np.median([theirs[k]["solve_seconds"] for k in chosen]),
        )
        print(
            f"{label} ({len(chosen)}): whole command p50 {mine:.2f} s against {other:.2f} s for EMHASS, "
            f"{other / mine:.1f} times faster (target >= 10: {'met' if other / mine >= 10 else 'NOT met'}); "
            f"solve p50 {solve_mine:.3f} s against {solve_other:.3f} s"
        )


if __name__ == "__main__":
    main()
