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
* The day-ahead plan's appliances with the battery left to the rule-based real-time rule: what the
  platform's controller sends by default (`optimise.baseline.plan_with_battery_by_rule`).
* Rule-based (the real-time rule of `optimise.baseline`, on the actual day) and no battery: the baselines,
  measured in the same run on the same actual days.
* Perfect foresight, day by day: each day solved on its actual load and PV (ending at the scenario's
  `soc_final`, like every plan here). What a perfect forecast would realise, not a result.

The energy left in each battery at the end is credited at the lowest import price times the discharge
efficiency, so strategies that end fuller are not penalised for it.

With `--real`, the same strategies are played on data the platform did not generate (`ml.public_series`):
the Sceaux household's measured consumption (2006-2010) and the radiation of Amsterdam's typical year
on the same calendar days, for households with that load and PV and battery sizes of the simulated
ones, at the platform's tariffs on days of the same weekday (shifted whole weeks into 2023-2024). No
weather forecast ships with these data, so the plan made at midnight takes the PV of the day before
(persistence) and the load forecast for the day ahead; no appliance is shifted (the real load holds them).
Usage: python benchmarks/realised_bench.py [--days 30] [--month 2023-06] [--households 6]
       python benchmarks/realised_bench.py --real [--days 30] [--month 2008-06]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from domotic_assets.ml.energy_forecast import EnergyForecaster
from domotic_assets.ml.evaluation import local_midnight
from domotic_assets.ml.public_series import amsterdam_radiation, sceaux_household
from domotic_assets.optimise.baseline import plan_with_battery_by_rule, rule_based, without_battery
from domotic_assets.optimise.household_parameters import pv_kw
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


@functools.cache
def actual_day(household: Household, day: date) -> Scenario:
    """The day as it happens (kept: the load history and the played days read the same days)."""
    return read_scenario(simulated_scenario(household, day, 15, SEED))


def load_history(household: Household, first: date, last: date) -> pd.Series:
    """The household's actual load (kW per quarter-hour) over the local days first..last."""
    parts = []
    for k in range((last - first).days + 1):
        day = first + timedelta(days=k)
        load = actual_day(household, day).load_kw
        parts.append(
            pd.Series(load, index=pd.date_range(local_midnight(day), periods=len(load), freq="15min"))
        )
    return pd.concat(parts)


def pv_forecast(household: Household, day: date, slots: int) -> tuple[float, ...]:
    """PV (kW per quarter-hour of `day`) from the simulator's radiation forecast issued the day before."""
    if not household.pv_kwp:
        return (0.0,) * slots
    issued = day - timedelta(days=1)
    rows = forecast_rows(household.site, SEED, issued, np.random.default_rng([SEED, 99, issued.toordinal()]))
    hourly = pd.Series({pd.Timestamp(r[0], tz="UTC"): r[1] for r in rows if r[4] == "PRED_GLOB_ctrl"})
    mids = (
        local_midnight(day) + pd.Timedelta(minutes=7.5) + pd.to_timedelta(np.arange(slots) * 15, unit="min")
    )
    radiation = np.interp(mids.asi8, hourly.index.asi8, hourly.to_numpy())
    return tuple(float(v) for v in pv_kw(household.pv_kwp, radiation))


def load_forecasts(
    history: pd.Series, days: list[date], timezone: str, lead_days: int
) -> tuple[dict[date, tuple[float, ...]], dict]:
    """Each day's load as forecast at the local midnight `lead_days` before it (1: the day ahead; 2: the
    second day of a 48-hour forecast), and the forecast's MAE beside weekly naive's over the days."""
    per_day = round(pd.Timedelta(days=1) / (history.index[1] - history.index[0]))
    out, errors, naive, forecaster = {}, [], [], None
    for k, day in enumerate(days):
        origin = local_midnight(day - timedelta(days=lead_days - 1), timezone)
        known = history[history.index < origin]
        if k % REFIT_EVERY_DAYS == 0:
            forecaster = EnergyForecaster(timezone, lead_days * per_day).fit(
                known.iloc[-HISTORY_DAYS * per_day :]
            )
        predicted = forecaster.predict(known).set_index("ts")["value"]
        day_slots = history[
            (history.index >= local_midnight(day, timezone))
            & (history.index < local_midnight(day + timedelta(days=1), timezone))
        ]
        out[day] = tuple(float(v) for v in predicted.reindex(day_slots.index).to_numpy())
        errors.append(
            np.nanmean(np.abs(predicted.reindex(day_slots.index).to_numpy() - day_slots.to_numpy()))
        )
        week_before = history.reindex(day_slots.index - pd.Timedelta(days=7)).to_numpy()
        naive.append(np.nanmean(np.abs(week_before - day_slots.to_numpy())))
    return out, {
        "mae_kw": float(np.mean(errors)),
        "weekly_naive_mae_kw": float(np.mean(naive)),
        "method": forecaster.method,
    }


def whole_period(days: list[tuple[Scenario, object]]) -> tuple[float, float]:
    """Cost and final state of charge of the battery planned over all the days at once on their actual load
    and PV (the appliances where the day-by-day perfect-foresight plans put them), counting what is left at
    the end as every strategy's is counted: the best any strategy could do."""
    actual = [a for a, _ in days]
    load = [
        kw_load + sum(kw[t] for kw in plan.appliances_kw.values())
        for a, plan in days
        for t, kw_load in enumerate(a.load_kw)
    ]
    whole = replace(
        actual[0],
        load_kw=tuple(load),
        pv_kw=sum((a.pv_kw for a in actual), ()),
        appliances=(),
        pausable=(),
        price_import=sum((a.price_import for a in actual), ()),
        price_export=sum((a.price_export for a in actual), ()),
    )
    if whole.battery:  # the same credit for what is left at the end as every strategy gets
        rate = stored_energy_rate(whole.price_import, whole.battery.eff_discharge)
        whole = replace(whole, battery=replace(whole.battery, end_value_chf_kwh=rate))
    schedule = solve(whole)
    return cost_chf(whole, schedule), schedule.soc[-1] if whole.battery else 0.5


@dataclass
class Source:
    """What a household's days are played on: each day as it happens, and as it was known when planned."""

    days: list[date]
    actual: Callable[[date], Scenario]
    planned: Callable[[date, Scenario], Scenario]
    battery_kwh: float
    quality: dict


def simulated_source(household: Household, days: list[date]) -> Source:
    """A simulated household: the plan of D is made on D-1 (the load forecast's second day, the radiation
    forecast issued on D-1)."""
    history = load_history(household, days[0] - timedelta(days=HISTORY_DAYS + 1), days[-1])
    loads, quality = load_forecasts(history, days, PLATFORM_TIMEZONE, lead_days=2)
    return Source(
        days,
        functools.partial(actual_day, household),
        lambda day, actual: replace(
            actual, load_kw=loads[day], pv_kw=pv_forecast(household, day, actual.slots)
        ),
        household.battery_kwh,
        quality,
    )


REAL_TIMEZONE = "Europe/Paris"
REAL_SIZES = ((4.0, 5.0), (6.0, 10.0), (10.0, 13.5))
"""(kWp, kWh) of the real-data households: PV and battery sizes the simulated households are drawn from."""
FIRST_TARIFF_DAY = date(2023, 1, 2)


def pv_of(radiation: pd.Series, kwp: float, day: date, slots: int) -> tuple[float, ...]:
    """PV (kW per quarter-hour of the local `day`) from the typical year's radiation on the same calendar day
    (its hours are of the local standard time, UTC+1, each value the mean of its hour), as the simulator
    turns radiation into PV."""
    if not kwp:
        return (0.0,) * slots
    mids = (
        local_midnight(day, REAL_TIMEZONE)
        + pd.Timedelta(minutes=7.5)
        + pd.to_timedelta(np.arange(slots) * 15, unit="min")
    )
    hours = (mids - pd.Timestamp(day, tz="Etc/GMT-1")) / pd.Timedelta(hours=1)
    hourly = radiation.loc[(day.month, day.day)].to_numpy(dtype=float)
    return tuple(
        float(v) for v in pv_kw(kwp, np.interp(hours, np.arange(24) + 0.5, hourly, left=0.0, right=0.0))
    )


def real_load(days: list[date]) -> tuple[pd.Series, dict, dict]:
    """The Sceaux household's measured load over the days and the history they are forecast from, each day's
    forecast made at the local midnight that opens it, and the forecast's quality."""
    load = sceaux_household().values
    history = load[
        (load.index >= local_midnight(days[0] - timedelta(days=HISTORY_DAYS + 1), REAL_TIMEZONE))
        & (load.index < local_midnight(days[-1] + timedelta(days=1), REAL_TIMEZONE))
    ]
    return history, *load_forecasts(history, days, REAL_TIMEZONE, lead_days=1)


def real_source(
    measured_load: tuple[pd.Series, dict, dict],
    radiation: pd.Series,
    kwp: float,
    kwh: float,
    days: list[date],
) -> Source:
    """The Sceaux household's consumption (`real_load`) with `kwp` of PV under Amsterdam's typical radiation
    and a `kwh` battery, at the platform's tariffs of the same weekday whole weeks later (from 2023). Planned
    at the local midnight that opens the day: the load forecast for the day ahead, yesterday's PV
    (persistence)."""
    history, loads, quality = measured_load
    shift = timedelta(weeks=max(0, -(-(FIRST_TARIFF_DAY - days[0]).days // 7)))
    household = Household("sceaux", "Sion", kwp, kwh, 0.0)
    filled = []

    def actual(day: date) -> Scenario:
        template = read_scenario(simulated_scenario(household, day + shift, 15, SEED, appliances=()))
        measured = history[
            (history.index >= local_midnight(day, REAL_TIMEZONE))
            & (history.index < local_midnight(day + timedelta(days=1), REAL_TIMEZONE))
        ]
        if len(measured) != template.slots:
            raise SystemExit(
                f"{day} has {len(measured)} quarter-hours and its tariff day {day + shift} {template.slots}: "
                "play a month without a daylight-saving change"
            )
        filled.append(int(measured.isna().sum()))  # a gap in the measurement is interpolated, and counted
        return replace(
            template,
            load_kw=tuple(measured.interpolate(limit_direction="both").to_numpy()),
            pv_kw=pv_of(radiation, kwp, day, template.slots),
        )

    def planned(day: date, played: Scenario) -> Scenario:
        return replace(
            played, load_kw=loads[day], pv_kw=pv_of(radiation, kwp, day - timedelta(days=1), played.slots)
        )

    return Source(days, actual, planned, kwh, {**quality, "filled_quarter_hours": filled})


def play_days(source: Source) -> tuple[dict[str, float], dict]:
    """Realised cost per strategy over the days (CHF, the energy left in the battery credited)."""
    soc = {name: 0.5 for name in STRATEGIES}
    cost = {name: 0.0 for name in STRATEGIES}
    began = time.perf_counter()
    played_days = []
    for day in source.days:
        actual = source.actual(day)
        forecast = source.planned(day, actual)
        rate = (
            stored_energy_rate(actual.price_import, actual.battery.eff_discharge) if actual.battery else 0.0
        )
        cost["no battery"] += cost_chf(actual, without_battery(actual))
        best = solve(with_soc(actual, soc["perfect foresight, day by day"]))
        for name, schedule in (
            ("rule-based", rule_based(with_soc(actual, soc["rule-based"]))),
            ("perfect foresight, day by day", best),
        ):
            cost[name] += cost_chf(actual, schedule)
            soc[name] = schedule.soc[-1] if actual.battery else 0.5
        played_days.append((actual, best))
        for name, (hourly, store_surplus, valued) in PLANNED.items():
            planned_on = (
                replace(forecast, battery=replace(forecast.battery, end_value_chf_kwh=rate))
                if valued and actual.battery
                else forecast
            )
            played, plan = day_ahead(actual, planned_on, soc[name], store_surplus)
            if hourly and actual.battery:
                played = replan_hourly(actual, planned_on, soc[name], plan, store_surplus)
            cost[name] += played.cost_chf
            soc[name] = played.soc_end if actual.battery else 0.5
            if name == "day-ahead, surplus stored":  # what the platform sends by default
                ruled = plan_with_battery_by_rule(with_soc(actual, soc[HYBRID]), plan)
                cost[HYBRID] += cost_chf(actual, ruled)
                soc[HYBRID] = ruled.soc[-1] if actual.battery else 0.5
    cost[WHOLE], soc[WHOLE] = whole_period(played_days)
    for name in STRATEGIES:  # what is left in the battery at the end
        cost[name] -= (soc[name] - 0.5) * source.battery_kwh * rate
    return cost, {
        **source.quality,
        "seconds": time.perf_counter() - began,
        "soc_end": {k: round(v, 3) for k, v in soc.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--month", default=None, help="first day of the days played (YYYY-MM; 2023-06, with --real 2008-06)"
    )
    parser.add_argument("--households", type=int, default=6, help="simulated households")
    parser.add_argument(
        "--real", action="store_true", help="the Sceaux household's measured load and Amsterdam's radiation"
    )
    args = parser.parse_args()
    first = date.fromisoformat((args.month or ("2008-06" if args.real else "2023-06")) + "-01")
    days = [first + timedelta(days=k) for k in range(args.days)]
    if args.real:
        measured, radiation = real_load(days), amsterdam_radiation()
        print(
            f"{args.days} consecutive days from {first}, state of charge carried; the Sceaux household's "
            "measured load, Amsterdam's typical-year radiation; planned at midnight on the platform's "
            f"day-ahead load forecast (refitted every {REFIT_EVERY_DAYS} days) and yesterday's PV"
        )
        households = {
            f"{kwp:g} kWp {kwh:g} kWh": (
                kwp,
                kwh,
                functools.partial(real_source, measured, radiation, kwp, kwh),
            )
            for kwp, kwh in REAL_SIZES
        }
    else:
        print(
            f"{args.days} consecutive days from {first}, state of charge carried; load forecast by the "
            f"platform's forecaster (refitted every {REFIT_EVERY_DAYS} days), PV from the radiation "
            "forecast of the day before"
        )
        households = {
            f"household {h.id}": (h.pv_kwp, h.battery_kwh, functools.partial(simulated_source, h))
            for h in simulated_households(args.households)
        }
    totals: dict[str, dict[str, float]] = {}
    for name, (kwp, kwh, source) in households.items():
        kind = "PV + battery" if kwh else "PV only" if kwp else "no PV, no battery"
        totals[name], quality = play_days(source(days))
        gaps = (
            f", {sum(quality['filled_quarter_hours'])} unmeasured quarter-hours interpolated"
            if "filled_quarter_hours" in quality
            else ""
        )
        print(
            f"{name} ({kind}, {kwp:g} kWp, {kwh:g} kWh): load forecast MAE {quality['mae_kw']:.3f} kW "
            f"against {quality['weekly_naive_mae_kw']:.3f} for weekly naive (its last fit chose "
            f"{quality['method']}){gaps}, {quality['seconds']:.0f} s",
            flush=True,
        )
    groups = {"all": list(households), "with a battery": [n for n, (_, kwh, _) in households.items() if kwh]}
    print(
        f"\nrealised cost in CHF over the {args.days} days (the energy left in a battery credited), and "
        "against rule-based:"
    )
    print("| strategy | " + " | ".join(households) + " | " + " | ".join(groups) + " |")
    print("|---" * (1 + len(households) + len(groups)) + "|")
    for strategy in STRATEGIES:
        cells = [f"{totals[n][strategy]:.2f}" for n in households]
        for members in groups.values():
            value, rule = (
                sum(totals[m][strategy] for m in members),
                sum(totals[m]["rule-based"] for m in members),
            )
            cells.append(f"{value:.2f} ({100 * (rule - value) / abs(rule):+.1f} %)" if members else "-")
        print(f"| {strategy} | " + " | ".join(cells) + " |")
    print(
        "perfect foresight plans on the actual load and PV: what a perfect forecast would give, not a result"
    )


if __name__ == "__main__":
    main()
