"""Solve the platform's battery scenarios with EMHASS (run by `emhass_bench.py` inside EMHASS's own virtual
environment: it imports EMHASS, pandas and numpy, never the platform).

Each scenario maps to EMHASS's day-ahead optimisation: the scenario's load and PV (kW -> W) as the forecasts,
its import and export prices as `unit_load_cost` and `unit_prod_price`, cost function `profit` (import cost
minus export revenue, the platform's `cost`), its battery (capacity, power limits, efficiencies, state of
charge bounds, initial and final state), its wear (`wear_chf_kwh` as EMHASS's `weight_battery_discharge`, per
kWh discharged), its grid limits; the battery may discharge to the grid and charge from it, as in the
platform's model; a pausable appliance as a deferrable load that may pause, with its operating hours
(`energy_kwh / power_kw`) and its window (start and end timesteps, the end excluded as in the platform):
semi-continuous where it is on at full power or off (`min_power_kw` equal to `power_kw`), otherwise with
EMHASS's minimum power of deferrable loads (off, or anywhere from `min_power_kw` to `power_kw`);
a relative MIP gap of 1e-6.

Usage: python emhass_runner.py SCENARIO.json [...] > results.json
Prints, per scenario: cost_chf (the platform's `cost`, recomputed from EMHASS's grid powers), discharged_kwh,
soc_final, solve_seconds (EMHASS's optimisation alone) and status.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import orjson
import pandas as pd
from emhass import utils
from emhass.optimization import Optimization


async def _params(emhass_conf: dict, logger) -> dict:
    config = await utils.build_config(emhass_conf, logger, emhass_conf["defaults_path"])
    _, secrets = await utils.build_secrets(emhass_conf, logger, no_response=True)
    return await utils.build_params(emhass_conf, secrets, config, logger)


def solve(doc: dict, base: dict, emhass_conf: dict, logger) -> dict:
    n, step = len(doc["load_kw"]), doc["step_minutes"]
    b, grid = doc["battery"], doc["grid"]
    params = json.loads(json.dumps(base))
    params["retrieve_hass_conf"].update(optimization_time_step=step, time_zone="UTC")
    loads = [a for a in doc.get("appliances", []) if "energy_kwh" in a]
    optim = params["optim_conf"]
    listed = [
        k
        for k, v in optim.items()
        if isinstance(v, list)
        and len(v) == optim["number_of_deferrable_loads"]
        and k not in ("deferrable_load_groups",)
    ]
    for key in listed:  # EMHASS's per-load lists: its defaults for each load, then the scenario's own values
        optim[key] = [optim[key][0]] * len(loads)
    optim.update(
        number_of_deferrable_loads=len(loads),
        nominal_power_of_deferrable_loads=[a["power_kw"] * 1000 for a in loads],
        operating_hours_of_each_deferrable_load=[a["energy_kwh"] / a["power_kw"] for a in loads],
        start_timesteps_of_each_deferrable_load=[a["earliest_start"] for a in loads],
        end_timesteps_of_each_deferrable_load=[a["latest_end"] for a in loads],
        treat_deferrable_load_as_semi_cont=[a["min_power_kw"] >= a["power_kw"] for a in loads],
        set_deferrable_load_single_constant=[False] * len(loads),
        minimum_power_of_deferrable_loads=[
            0.0 if a["min_power_kw"] >= a["power_kw"] else a["min_power_kw"] * 1000 for a in loads
        ],
        set_deferrable_startup_penalty=[0.0] * len(loads),
        set_use_battery=True,
        set_use_pv=False,
        set_nocharge_from_grid=False,
        set_nodischarge_to_grid=False,
        lp_solver="HiGHS",
        lp_solver_mip_rel_gap=1e-6,
        delta_forecast_daily=max(1, round(n * step / 1440)),
        weight_battery_discharge=b.get("wear_chf_kwh", 0.0),
        weight_battery_charge=0.0,
    )
    params["plant_conf"].update(
        battery_nominal_energy_capacity=b["capacity_kwh"] * 1000,
        battery_charge_power_max=b["charge_kw_max"] * 1000,
        battery_discharge_power_max=b["discharge_kw_max"] * 1000,
        battery_charge_efficiency=b["eff_charge"],
        battery_discharge_efficiency=b["eff_discharge"],
        battery_minimum_state_of_charge=b["soc_min"],
        battery_maximum_state_of_charge=b["soc_max"],
        battery_target_state_of_charge=b["soc_final"],
        maximum_power_from_grid=grid["import_kw_max"] * 1000,
        maximum_power_to_grid=grid["export_kw_max"] * 1000,
    )
    retrieve_hass_conf, optim_conf, plant_conf = utils.get_yaml_parse(orjson.dumps(params).decode(), logger)
    index = pd.date_range(pd.Timestamp(doc["start"]).tz_convert("UTC"), periods=n, freq=f"{step}min")
    frame = pd.DataFrame(
        {"unit_load_cost": doc["price_import_chf_kwh"], "unit_prod_price": doc["price_export_chf_kwh"]},
        index=index,
    )
    optimizer = Optimization(
        retrieve_hass_conf,
        optim_conf,
        plant_conf,
        "unit_load_cost",
        "unit_prod_price",
        "profit",
        emhass_conf,
        logger,
        opt_time_delta=n * step / 60,
        num_timesteps=n,
    )
    began = time.perf_counter()
    result = optimizer.perform_dayahead_forecast_optim(
        frame,
        pd.Series([kw * 1000 for kw in doc["pv_kw"]], index=index),
        pd.Series([kw * 1000 for kw in doc["load_kw"]], index=index),
        soc_init=b["soc_init"],
        soc_final=b["soc_final"],
    )
    seconds = time.perf_counter() - began
    h = step / 60
    cost = float(
        sum(
            (pi * i + pe * e) * h / 1000
            for pi, pe, i, e in zip(  # P_grid_neg: the export, negative
                doc["price_import_chf_kwh"],
                doc["price_export_chf_kwh"],
                result["P_grid_pos"],
                result["P_grid_neg"],
            )
        )
    )
    discharged_kwh = float(result["P_batt"].clip(lower=0).sum()) * h / 1000
    return {
        "status": optimizer.optim_status,
        "cost_chf": cost,
        "discharged_kwh": discharged_kwh,
        "soc_final": float(result["SOC_opt"].iloc[-1]),
        "solve_seconds": seconds,
    }


def main() -> None:
    logging.disable(logging.WARNING)
    root = Path(str(importlib.resources.files("emhass")))
    with tempfile.TemporaryDirectory() as data:
        emhass_conf = {
            "data_path": Path(data),
            "root_path": root,
            "defaults_path": root / "data" / "config_defaults.json",
            "associations_path": root / "data" / "associations.csv",
        }
        logger, _ = utils.get_logger("emhass_bench", emhass_conf, save_to_file=False)
        base = asyncio.run(_params(emhass_conf, logger))
        out = [solve(json.loads(Path(path).read_text()), base, emhass_conf, logger) for path in sys.argv[1:]]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
