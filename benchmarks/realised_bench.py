"""Savings as they would be realised: consecutive days per simulated household, the state of charge carried
from each day to the next, every plan made with what the platform knows when it plans.

* Day-ahead: the day D is planned on D-1 (once the forecast and the weather are in), on the load forecast of
  the platform's forecaster (fitted weekly on the 42 days before, as a backfill does; issued at midnight D-1,
  its second day) and on PV from the radiation forecast issued on D-1. It is played on D's actual load and
  PV by the real-time rule of `optimise.realise` (the battery follows the plan's state of charge where it
  can, the grid takes the rest).
* MPC: the same day-ahead plan, then the battery re-planned every hour for the rest of the day from its
  actual state of charge.
* Two real-time rules (`optimise.realise.play`): the battery follows the plan's state of charge where it
  can (the grid takes the rest), or the same with PV surplus always stored.
* Day-ahead with the stored energy valued (`battery.end_value_chf_kwh`), to decide whether the platform's
  scenarios should ask for it: the realised cost over consecutive days decides, not a day's objective.
* The day-ahead plan's appliances with the battery left to the rule-based real-time rule.
* Rule-based (the real-time rule of `optimise.baseline`, on the actual day) and no battery: the baselines,
  measured in the same run on the same actual days.
* Perfect foresight, day by day: each day solved on its actual load and PV (ending at the scenario's
  `soc_final`, like every plan here). What a perfect forecast would realise, not a result.

The energy left in each battery at the end is credited at the lowest import price times the discharge
efficiency, so strategies that end fuller are not penalised for it.
Usage: python benchmarks/realised_bench.py [--days 30] [--month 2023-06] [--households 6]
"""

from __future__ import annotations

import argparse
import functools
import time
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from domotic_assets.ml.energy_forecast import EnergyForecaster
from domotic_assets.ml.evaluation import local_midnight
from domotic_assets.optimise.baseline import rule_based, without_battery
from domotic_assets.optimise.model import solve
from domotic_assets.optimise.realise import day_ahead, replan_hourly, with_soc
from domotic_assets.optimise.scenario import Scenario, read_scenario
from domotic_assets.optimise.schedule import cost_chf, stored_energy_rate
from domotic_assets.settings import PLATFORM_TIMEZONE
from domotic_assets.simulator.scenarios import simulated_scenario
from domotic_assets.simulator.telemetry import Household, simulated_households
from domotic_assets.simulator.weather import forecast_rows

SEED = 42
HISTORY_DAYS = 42
REFIT_EVERY_DAYS = 7
PLANNED = {
    # name: (re-plan every hour, PV surplus always stored, stored energy valued at the day's end)
    "day-ahead, battery follows the plan": (False, False, False),
    "day-ahead, surplus stored": (False, True, False),
    "day-ahead, surplus stored, stored energy valued": (False, True, True),
    "MPC hourly, battery follows the plan": (True, False, False),
    "MPC hourly, surplus stored": (True, True, False),
}
WHOLE = "perfect foresight over all the days (upper bound)"
HYBRID = "day-ahead appliances, battery by the rule"
STRATEGIES = ("no battery", "rule-based", *PLANNED, HYBRID, "perfect foresight, day by day", WHOLE)


@functools.lru_cache(maxsize=None)
def actual_day(household: Household, day: date) -> Scenario:
    """The day as it happens (kept: the load history and the played days read the same days)."""
    return read_scenario(simulated_scenario(household, day, 15, SEED))


def load_history(household: Household, first: date, last: date) -> pd.Series:
    """The household's actual load (kW per quarter-hour) over the local days first..last."""
    parts = []
    for k in range((last - first).days + 1):
        day = first + timedelta(days=k)
        load = actual_day(household, day).load_kw
        parts.append(pd.Series(load, index=pd.date_range(local_midnight(day), periods=len(load), freq="15min")))
    return pd.concat(parts)


def pv_forecast(household: Household, day: date, slots: int) -> tuple[float, ...]:
    """PV (kW per quarter-hour of `day`) from the simulator's radiation forecast issued the day before."""
    if not household.pv_kwp:
        return (0.0,) * slots
    issued = day - timedelta(days=1)
    rows = forecast_rows(household.site, SEED, issued, np.random.default_rng([SEED, 99, issued.toordinal()]))
    hourly = pd.Series({pd.Timestamp(r[0], tz="UTC"): r[1] for r in rows if r[4] == "PRED_GLOB_ctrl"})
    mids = local_midnight(day) + pd.Timedelta(minutes=7.5) + pd.to_timedelta(np.arange(slots) * 15, unit="min")
    radiation = np.interp(mids.asi8, hourly.index.asi8, hourly.to_numpy())
    return tuple(float(v) for v in household.pv_kwp * radiation * 0.82 / 1000)


def load_forecasts(household: Household, days: list[date]) -> tuple[dict[date, tuple[float, ...]], dict]:
    """Each day's load as forecast at the midnight before the day before (the second day of a 48-hour forecast),
    and the forecast's MAE beside weekly naive's over the days."""
    history = load_history(household, days[0] - timedelta(days=HISTORY_DAYS + 1), days[-1])
    out, errors, naive, forecaster = {}, [], [], None
    for k, day in enumerate(days):
        origin = local_midnight(day - timedelta(days=1))
        known = history[history.index < origin]
        if k % REFIT_EVERY_DAYS == 0:
            forecaster = EnergyForecaster(PLATFORM_TIMEZONE, 192).fit(known.iloc[-HISTORY_DAYS * 96:])
        predicted = forecaster.predict(known).set_index("ts")["value"]
        day_slots = history[(history.index >= local_midnight(day)) & (history.index < local_midnight(day + timedelta(days=1)))]
        out[day] = tuple(float(v) for v in predicted.reindex(day_slots.index).to_numpy())
        errors.append(np.abs(predicted.reindex(day_slots.index).to_numpy() - day_slots.to_numpy()).mean())
        week_before = history.reindex(day_slots.index - pd.Timedelta(days=7)).to_numpy()
        naive.append(np.abs(week_before - day_slots.to_numpy()).mean())
    return out, {"mae_kw": float(np.mean(errors)), "weekly_naive_mae_kw": float(np.mean(naive)), "method": forecaster.method}


def whole_period(days: list[tuple[Scenario, object]]) -> tuple[float, float]:
    """Cost and final state of charge of the battery planned over all the days at once on their actual load and
    PV (the appliances where the day-by-day perfect-foresight plans put them), counting what is left at the end
    as every strategy's is counted: the best any strategy could do."""
    actual = [a for a, _ in days]
    load = [l + sum(kw[t] for kw in plan.appliances_kw.values()) for a, plan in days for t, l in enumerate(a.load_kw)]
    whole = replace(actual[0], load_kw=tuple(load), pv_kw=sum((a.pv_kw for a in actual), ()), appliances=(), pausable=(),
                    price_import=sum((a.price_import for a in actual), ()), price_export=sum((a.price_export for a in actual), ()))
    if whole.battery:  # the same credit for what is left at the end as every strategy gets
        rate = stored_energy_rate(whole.price_import, whole.battery.eff_discharge)
        whole = replace(whole, battery=replace(whole.battery, end_value_chf_kwh=rate))
    schedule = solve(whole)
    return cost_chf(whole, schedule), schedule.soc[-1] if whole.battery else 0.5


def play_household(household: Household, days: list[date]) -> tuple[dict[str, float], dict]:
    """Realised cost per strategy over the days (CHF, the energy left in the battery credited)."""
    loads, quality = load_forecasts(household, days)
    soc = {name: 0.5 for name in STRATEGIES}
    cost = {name: 0.0 for name in STRATEGIES}
    began = time.perf_counter()
    played_days = []
    for day in days:
        actual = actual_day(household, day)
        forecast = replace(actual, load_kw=loads[day], pv_kw=pv_forecast(household, day, actual.slots))
        rate = stored_energy_rate(actual.price_import, actual.battery.eff_discharge) if actual.battery else 0.0
        cost["no battery"] += cost_chf(actual, without_battery(actual))
        best = solve(with_soc(actual, soc["perfect foresight, day by day"]))
        for name, schedule in (("rule-based", rule_based(with_soc(actual, soc["rule-based"]))),
                               ("perfect foresight, day by day", best)):
            cost[name] += cost_chf(actual, schedule)
            soc[name] = schedule.soc[-1] if actual.battery else 0.5
        played_days.append((actual, best))
        for name, (hourly, store_surplus, valued) in PLANNED.items():
            planned_on = replace(forecast, battery=replace(forecast.battery, end_value_chf_kwh=rate)) if valued and actual.battery else forecast
            played, plan = day_ahead(actual, planned_on, soc[name], store_surplus)
            if hourly and actual.battery:
                played = replan_hourly(actual, planned_on, soc[name], plan, store_surplus)
            cost[name] += played.cost_chf
            soc[name] = played.soc_end if actual.battery else 0.5
            if name == "day-ahead, surplus stored":  # the same plan's appliances, the battery left to the rule
                fixed = replace(actual, appliances=(), pausable=(), load_kw=tuple(
                    l + sum(kw[t] for kw in plan.appliances_kw.values()) for t, l in enumerate(actual.load_kw)))
                ruled = rule_based(with_soc(fixed, soc[HYBRID]))
                cost[HYBRID] += cost_chf(fixed, ruled)
                soc[HYBRID] = ruled.soc[-1] if actual.battery else 0.5
    cost[WHOLE], soc[WHOLE] = whole_period(played_days)
    for name in STRATEGIES:  # what is left in the battery at the end
        cost[name] -= (soc[name] - 0.5) * household.battery_kwh * rate
    quality.update(seconds=time.perf_counter() - began, soc_end={k: round(v, 3) for k, v in soc.items()})
    return cost, quality


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--month", default="2023-06", help="first day of the days played (YYYY-MM)")
    parser.add_argument("--households", type=int, default=6)
    args = parser.parse_args()
    first = date.fromisoformat(args.month + "-01")
    days = [first + timedelta(days=k) for k in range(args.days)]
    print(f"{args.days} consecutive days from {first}, state of charge carried; load forecast by the platform's "
          f"forecaster (refitted every {REFIT_EVERY_DAYS} days), PV from the radiation forecast of the day before")
    households = simulated_households(args.households)
    totals: dict[str, dict[str, float]] = {}
    for household in households:
        kind = "PV + battery" if household.battery_kwh else "PV only" if household.pv_kwp else "no PV, no battery"
        totals[household.id], quality = play_household(household, days)
        print(f"household {household.id} ({kind}, {household.pv_kwp:g} kWp, {household.battery_kwh:g} kWh): load forecast "
              f"MAE {quality['mae_kw']:.3f} kW against {quality['weekly_naive_mae_kw']:.3f} for weekly naive "
              f"(its last fit chose {quality['method']}), {quality['seconds']:.0f} s", flush=True)
    groups = {"all": [h.id for h in households], "with a battery": [h.id for h in households if h.battery_kwh]}
    print(f"\nrealised cost in CHF over the {args.days} days (the energy left in a battery credited), and against rule-based:")
    print("| strategy | " + " | ".join(f"household {h.id}" for h in households) + " | " + " | ".join(groups) + " |")
    print("|---" * (1 + len(households) + len(groups)) + "|")
    for name in STRATEGIES:
        cells = [f"{totals[h.id][name]:.2f}" for h in households]
        for members in groups.values():
            value, rule = sum(totals[m][name] for m in members), sum(totals[m]["rule-based"] for m in members)
            cells.append(f"{value:.2f} ({100 * (rule - value) / abs(rule):+.1f} %)" if members else "-")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("perfect foresight plans on the actual load and PV: what a perfect forecast would give, not a result")


if __name__ == "__main__":
    main()
