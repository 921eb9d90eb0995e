"""The strategies the optimiser is compared with, simulated slot by slot with the same physics.

* `rule_based`: appliances at their earliest allowed start (a pausable one at one steady power from
  then, as few slots as its maximum power allows); the battery charges from PV surplus
  and discharges to cover the load (within its power and state-of-charge limits), keeping what it
  needs to end the horizon at its target (`soc_final`): it never discharges below the charge it could
  still bring back to the target by the end, and tops up from the grid when it would fall below it;
  the grid takes or gives the rest, PV being curtailed only when the export limit is reached.
* `plan_with_battery_by_rule`: an optimised plan's appliance runs with the battery by the same rule,
  what the platform's controller sends unless a building asks for the plan's battery setpoints
  (`optimise.household_parameters.BATTERY_FOLLOWS_PLAN`).
* `without_battery`: the same household with its battery left idle (its state of charge stays where it
  starts), which is what a household without one pays.

Both are schedules of the scenario itself, so the checker judges them like the optimiser's.
"""

from __future__ import annotations

import math
from dataclasses import replace

from domotic_assets.optimise.scenario import Battery, Scenario
from domotic_assets.optimise.schedule import Schedule


def reserve_soc(b: Battery, slots: int, step_hours: float, t: int) -> float:
    """The state of charge the rule keeps at the end of slot `t` of `slots`: what charging at full power
    could still bring back to the target (`soc_final`) by the horizon's end, within the battery's bounds.
    The battery never discharges below it and tops up from the grid when it would fall below it."""
    per_slot = b.charge_kw_max * b.eff_charge * step_hours / b.capacity_kwh
    return min(max(b.soc_min, b.soc_final - (slots - 1 - t) * per_slot), b.soc_max)


def rule_based(s: Scenario) -> Schedule:
    """Appliances at their earliest allowed start, the battery by the rule."""
    starts = {a.name: -(-max(a.earliest_start, 0) // a.start_every) * a.start_every for a in s.appliances}
    appliances = {
        a.name: [
            a.profile_kw[t - starts[a.name]] if 0 <= t - starts[a.name] < a.run_slots else 0.0
            for t in range(s.slots)
        ]
        for a in s.appliances
    }
    for a in s.pausable:
        first = max(a.earliest_start, 0)
        slots = max(1, math.ceil(a.energy_kwh / (a.power_kw * s.step_hours) - 1e-9))
        appliances[a.name] = [
            a.energy_kwh / (slots * s.step_hours) if first <= t < first + slots else 0.0
            for t in range(s.slots)
        ]
    return battery_by_rule(s, appliances, starts, "rule_based")


def plan_with_battery_by_rule(s: Scenario, plan: Schedule) -> Schedule:
    """The plan's appliance runs, the battery by the rule: what the controller sends by default."""
    return battery_by_rule(s, plan.appliances_kw, plan.starts, "plan_battery_by_rule")


def battery_by_rule(
    s: Scenario, appliances: dict[str, list[float]], starts: dict[str, int], strategy: str
) -> Schedule:
    """The appliances as given, the battery by the rule of the module's docstring, slot by slot."""
    n, h, b = s.slots, s.step_hours, s.battery
    out = Schedule(strategy, "optimal", [], [], [], [], [], [], appliances, starts)
    soc = b.soc_init if b else 0.0
    for t in range(n):
        net = s.load_kw[t] + sum(kw[t] for kw in appliances.values()) - s.pv_kw[t]
        charge = discharge = 0.0
        if b:
            floor = reserve_soc(b, n, h, t)
            room = max(0.0, (b.soc_max - soc) * b.capacity_kwh / (b.eff_charge * h))
            if net < 0:
                charge = min(-net, b.charge_kw_max, room)
            elif net > 0:
                available = max(0.0, (soc - floor) * b.capacity_kwh * b.eff_discharge / h)
                discharge = min(net, b.discharge_kw_max, available)
            after = soc + (b.eff_charge * charge - discharge / b.eff_discharge) * h / b.capacity_kwh
            if after < floor:  # not enough PV to keep the reserve: top up from the grid
                charge += min(
                    b.charge_kw_max - charge,
                    room - charge,
                    (floor - after) * b.capacity_kwh / (b.eff_charge * h),
                )
            soc += (b.eff_charge * charge - discharge / b.eff_discharge) * h / b.capacity_kwh
        grid = net + charge - discharge
        export = min(-grid, s.export_kw_max) if grid < 0 else 0.0
        curtailed = -grid - export if grid < 0 else 0.0
        out.grid_import_kw.append(max(grid, 0.0))
        out.grid_export_kw.append(export)
        out.battery_charge_kw.append(charge)
        out.battery_discharge_kw.append(discharge)
        out.soc.append(soc)
        out.pv_used_kw.append(s.pv_kw[t] - curtailed)
    over = [t for t, kw in enumerate(out.grid_import_kw) if kw > s.import_kw_max + 1e-9]
    if over:
        out.status = "relaxed"
        out.reason = f"grid import limit {s.import_kw_max:g} kW exceeded in {len(over)} slot(s)"
        out.relaxed = [out.reason]
    return out


def without_battery(s: Scenario) -> Schedule:
    idle = rule_based(replace(s, battery=None))
    idle.strategy = "no_battery"
    if s.battery:
        idle.soc = [s.battery.soc_init] * s.slots
    return idle
