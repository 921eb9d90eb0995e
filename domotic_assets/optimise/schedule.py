"""A schedule: what the grid, the battery and each appliance do in every slot, and what it costs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from domotic_assets.optimise.scenario import Scenario


@dataclass
class Schedule:
    strategy: str
    """`optimised`, `rule_based` (the comparison) or `no_battery`."""
    status: str
    """`optimal` (within the solver's gap, `gap_chf`), `feasible` (the time limit came first), `relaxed`
    (a constraint could not be met: see `reason`) or `infeasible`."""
    grid_import_kw: list[float]
    grid_export_kw: list[float]
    battery_charge_kw: list[float]
    battery_discharge_kw: list[float]
    soc: list[float]
    """State of charge (fraction of capacity) at the end of each slot."""
    pv_used_kw: list[float]
    appliances_kw: dict[str, list[float]]
    starts: dict[str, int]
    """Appliance -> the slot its run starts in."""
    reason: str | None = None
    relaxed: list[str] = field(default_factory=list)
    """The constraints a relaxed schedule breaks, one line each."""
    solve_seconds: float = 0.0
    gap_chf: float = 0.0
    """How much cheaper a schedule could at most be (the MIP gap)."""


def cost_chf(scenario: Scenario, schedule: Schedule) -> float:
    """Import cost minus export revenue over the horizon."""
    h = scenario.step_hours
    return sum(
        (pi * i - pe * e) * h
        for pi, pe, i, e in zip(
            scenario.price_import, scenario.price_export, schedule.grid_import_kw, schedule.grid_export_kw
        )
    )


def objective_chf(scenario: Scenario, schedule: Schedule) -> float:
    """The scenario's own objective, recomputed from the schedule: weighted cost and kWh bought, export
    revenue, the battery's wear on what it delivers and the end value of what it still holds."""
    h, w, b = scenario.step_hours, scenario.weights, scenario.battery
    value = (
        w.get("cost", 1.0) * cost_chf(scenario, schedule)
        + w.get("self_consumption", 0.0) * sum(schedule.grid_import_kw) * h
        - w.get("export", 0.0)
        * sum(p * e * h for p, e in zip(scenario.price_export, schedule.grid_export_kw))
    )
    if b and schedule.soc:
        value += (
            b.wear_chf_kwh * sum(schedule.battery_discharge_kw) * h
            - b.end_value_chf_kwh * b.capacity_kwh * schedule.soc[-1]
        )
    return value


def stored_energy_rate(price_import: Sequence[float], eff_discharge: float) -> float:
    """CHF per kWh in the battery at the horizon's end: what it delivers (discharge efficiency) at the
    horizon's lowest import price."""
    return min(price_import) * eff_discharge


def stored_energy_value(scenario: Scenario) -> float:
    """`stored_energy_rate` of a scenario's battery, for comparing strategies that end a day at different
    states of charge (`comparable_cost_chf`); the optimiser counts what the scenario says
    (`end_value_chf_kwh`)."""
    b = scenario.battery
    return stored_energy_rate(scenario.price_import, b.eff_discharge) if b else 0.0


def comparable_cost_chf(scenario: Scenario, schedule: Schedule) -> float:
    """Cost with the change of energy stored in the battery counted at `stored_energy_value`."""
    b = scenario.battery
    if not b or not schedule.soc:
        return cost_chf(scenario, schedule)
    return cost_chf(scenario, schedule) - (
        schedule.soc[-1] - b.soc_init
    ) * b.capacity_kwh * stored_energy_value(scenario)


def kpis(scenario: Scenario, schedule: Schedule) -> dict[str, float | None]:
    """Energy figures of a schedule: kWh bought and sold, self-consumption (share of PV used at home)
    and autarky (share of consumption not bought)."""
    h = scenario.step_hours
    bought, sold = sum(schedule.grid_import_kw) * h, sum(schedule.grid_export_kw) * h
    pv = sum(scenario.pv_kw) * h
    demand = (sum(scenario.load_kw) + sum(sum(p) for p in schedule.appliances_kw.values())) * h
    return {
        "cost_chf": round(cost_chf(scenario, schedule), 4),
        "comparable_cost_chf": round(comparable_cost_chf(scenario, schedule), 4),
        "import_kwh": round(bought, 3),
        "export_kwh": round(sold, 3),
        "self_consumption_rate": round(1 - sold / pv, 4) if pv > 0 else None,
        "autarky_rate": round(1 - bought / demand, 4) if demand > 0 else None,
    }


def result_document(scenario: Scenario, schedule: Schedule) -> dict:
    """The output of `domotic optimize` (see docs/schedules.md for the fields)."""
    slots = []
    for t in range(scenario.slots):
        slots.append(
            {
                "ts": scenario.slot_start(t).isoformat(),
                "grid_import_kw": round(schedule.grid_import_kw[t], 6),
                "grid_export_kw": round(schedule.grid_export_kw[t], 6),
                "battery_charge_kw": round(schedule.battery_charge_kw[t], 6),
                "battery_discharge_kw": round(schedule.battery_discharge_kw[t], 6),
                "soc": round(schedule.soc[t], 6),
                "pv_used_kw": round(schedule.pv_used_kw[t], 6),
                "appliances_kw": {name: round(kw[t], 6) for name, kw in schedule.appliances_kw.items()},
            }
        )
    return {
        "status": schedule.status,
        "reason": schedule.reason,
        "strategy": schedule.strategy,
        "cost_chf": round(cost_chf(scenario, schedule), 6),
        "objective_chf": round(objective_chf(scenario, schedule), 6),
        "kpis": kpis(scenario, schedule),
        "relaxed_constraints": schedule.relaxed,
        "solve_seconds": round(schedule.solve_seconds, 4),
        "gap_chf": round(schedule.gap_chf, 6),
        "appliances": {name: _run(scenario, schedule, name) for name in schedule.appliances_kw},
        "slots": slots,
    }


def _run(scenario: Scenario, schedule: Schedule, name: str) -> dict:
    """When an appliance starts and ends, and its slots on (a pausable one may pause in between)."""
    on = [t for t, p in enumerate(schedule.appliances_kw[name]) if p > 1e-6]
    fixed = next((a for a in scenario.appliances if a.name == name), None)
    first, last = (
        (schedule.starts[name], schedule.starts[name] + fixed.run_slots)
        if fixed and name in schedule.starts
        else (on[0], on[-1] + 1)
        if on
        else (None, None)
    )
    return {
        "start": scenario.slot_start(first).isoformat() if first is not None else None,
        "end": scenario.slot_start(last).isoformat() if last is not None else None,
        "slots_on": len(on),
    }
