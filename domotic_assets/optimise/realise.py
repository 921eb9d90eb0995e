"""What a plan costs once the day really happens: the plan is made on forecasts, the day is played on
the actual load and PV, and the battery's state of charge is carried from one day to the next.

The real-time rule (`play`), slot by slot:
* appliances run as planned (a resident was told when they start);
* the battery moves towards the state of charge the plan has for the end of the slot, within its power
  and state-of-charge limits; it never discharges more than the home draws at that moment (it does not
  feed the grid: the feed-in price is below every import price);
* or, with `store_surplus`, the same except that PV the home does not use always goes into the battery:
  the plan's state of charge is a floor for discharging and a target for charging from the grid;
* the grid takes the rest, PV is curtailed only beyond the export limit.

Re-planning during the day (`replan_hourly`, model predictive control as EMHASS's naive MPC does): every
hour the rest of the day is planned again from the battery's actual state of charge, on the same
forecasts, with the appliances already committed by the day-ahead plan; the next hour is played.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from domotic_assets.optimise.model import solve
from domotic_assets.optimise.scenario import Scenario
from domotic_assets.optimise.schedule import Schedule


@dataclass
class Played:
    """A played stretch of slots: its cost on the grid and where the battery ended."""

    cost_chf: float
    import_kwh: float
    export_kwh: float
    soc_end: float


def play(
    actual: Scenario,
    plan_soc: list[float] | None,
    appliances_kw: dict[str, list[float]],
    soc_start: float,
    first: int = 0,
    last: int | None = None,
    store_surplus: bool = False,
) -> Played:
    """Slots first..last (exclusive) of `actual` played by the real-time rule, the battery following
    `plan_soc` (the plan's state of charge at the end of each slot of `actual`; None: no battery used).
    `store_surplus`: PV the home does not use goes into the battery whatever the plan says (the plan's state
    of charge is then a floor for discharging and a target for charging from the grid, not a ceiling)."""
    b, h = actual.battery, actual.step_hours
    last = actual.slots if last is None else last
    soc, cost, bought, sold = soc_start, 0.0, 0.0, 0.0
    for t in range(first, last):
        demand = actual.load_kw[t] + sum(kw[t] for kw in appliances_kw.values()) - actual.pv_kw[t]
        charge = discharge = 0.0
        if b and plan_soc is not None:
            room = max(0.0, (b.soc_max - soc) * b.capacity_kwh / (b.eff_charge * h))
            if store_surplus and demand < 0:
                charge = min(-demand, b.charge_kw_max, room)
            stored = (
                plan_soc[t] - soc
            ) * b.capacity_kwh - b.eff_charge * charge * h  # kWh still to add (or take)
            if stored > 0:
                charge += max(0.0, min(b.charge_kw_max - charge, stored / (b.eff_charge * h), room - charge))
            elif stored < 0 and charge == 0:
                available = (soc - b.soc_min) * b.capacity_kwh * b.eff_discharge / h
                discharge = max(
                    0.0, min(b.discharge_kw_max, -stored * b.eff_discharge / h, available, max(demand, 0.0))
                )
            soc += (b.eff_charge * charge - discharge / b.eff_discharge) * h / b.capacity_kwh
        grid = demand + charge - discharge
        grid_in = max(grid, 0.0)
        grid_out = min(-grid, actual.export_kw_max) if grid < 0 else 0.0
        cost += (actual.price_import[t] * grid_in - actual.price_export[t] * grid_out) * h
        bought, sold = bought + grid_in * h, sold + grid_out * h
    return Played(cost, bought, sold, soc)


def with_soc(scenario: Scenario, soc: float) -> Scenario:
    """The scenario with its battery starting at `soc`."""
    return (
        replace(scenario, battery=replace(scenario.battery, soc_init=soc)) if scenario.battery else scenario
    )


def day_ahead(
    actual: Scenario, forecast: Scenario, soc: float, store_surplus: bool = False
) -> tuple[Played, Schedule]:
    """Plan the day once on `forecast`, play it on `actual`."""
    plan = solve(with_soc(forecast, soc))
    return play(actual, plan.soc, plan.appliances_kw, soc, store_surplus=store_surplus), plan


def replan_hourly(
    actual: Scenario, forecast: Scenario, soc: float, plan: Schedule, store_surplus: bool = False
) -> Played:
    """Play the day one hour at a time, re-planning the battery before each hour for the rest of the day from
    its actual state of charge (the appliances stay where the day-ahead `plan` put them)."""
    per_hour = max(1, round(60 / actual.step_minutes))
    committed = [sum(kw[t] for kw in plan.appliances_kw.values()) for t in range(actual.slots)]
    cost = bought = sold = 0.0
    for first in range(0, actual.slots, per_hour):
        rest = slice(first, None)
        ahead = replace(
            forecast,
            load_kw=tuple(kw + a for kw, a in zip(forecast.load_kw[rest], committed[rest])),
            pv_kw=forecast.pv_kw[rest],
            price_import=forecast.price_import[rest],
            price_export=forecast.price_export[rest],
            appliances=(),
            pausable=(),
            start=forecast.slot_start(first),
        )
        replanned = solve(with_soc(ahead, soc))
        target = [0.0] * first + replanned.soc
        hour = play(
            actual, target, plan.appliances_kw, soc, first, min(first + per_hour, actual.slots), store_surplus
        )
        cost, bought, sold, soc = (
            cost + hour.cost_chf,
            bought + hour.import_kwh,
            sold + hour.export_kwh,
            hour.soc_end,
        )
    return Played(cost, bought, sold, soc)
