"""The scheduling MILP (PuLP, solved by HiGHS), and what to do when a scenario cannot be met.

Per slot t (length h hours): grid import and export, never both; battery charge and discharge, never both
(binaries, added where needed: see `_solve`); PV used, at most the forecast (curtailment when it cannot go
anywhere); the balance

    import - export + pv_used + discharge = load + charge + sum of appliances

and the state of charge soc[t] = soc[t-1] + (eff_charge * charge - discharge / eff_discharge) * h / capacity
within [soc_min, soc_max], ending at least at soc_final. Each appliance with a profile has one start
binary per allowed start (the run fits inside [earliest_start, latest_end)), exactly one of them
set: one contiguous run with its power profile. This formulation is much tighter than one binary per
slot. A pausable appliance has its power in every slot of its window, its energy fixed, and an
on/off binary per slot only where it has a minimum power while on.

The objective is the scenario's own (`schedule.objective_chf`): weights.cost x (import cost - export
revenue) + weights.self_consumption x kWh bought - weights.export x export revenue + the battery's
wear on every kWh discharged - the end value of every kWh stored at the end (both 0 unless the
scenario sets them), plus 1e-5 CHF per kWh through the battery so that equally cheap schedules do
not cycle it for nothing (at most a few thousandths of a centime a day).

An infeasible scenario is solved again with every constraint that can break given a slack at a
high price (100 CHF/kWh): the schedule that breaks them least, `status: relaxed`, with each broken
constraint named in `relaxed` and the main one in `reason`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import highspy
import pulp

from domotic_assets.optimise.scenario import Scenario
from domotic_assets.optimise.schedule import Schedule

PENALTY = 100.0
"""CHF per kWh (or per unit of state of charge x capacity) of a broken constraint in the relaxed model."""
CYCLING = 1e-5
"""CHF per kWh charged or discharged: breaks ties against needless cycling."""
TOLERANCE = 1e-6
GAP_CHF, GAP_RELATIVE = 0.005, 0.001
"""`optimal` means no schedule is cheaper by more than half a centime or 0.1 % (whichever is
larger): a day's cost is near zero for a household with PV, where a relative gap alone means nothing."""
SOLVER_OPTIONS = {
    # measured on 96- and 288-slot days: the sub-MIP heuristics (RINS, RENS, root reduced cost) and
    # restarts took 60-80 % of the time and found nothing branching did not find; one thread leaves
    # the other core to the rest of the platform
    "threads": 1,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_allow_restart": False,
    "mip_pscost_minreliable": 2,
}


def _value(variable: pulp.LpVariable | float) -> float:
    value = variable.value() if hasattr(variable, "value") else variable
    return float(value or 0.0)


def _slots_text(slots: list[int], scenario: Scenario) -> str:
    first, last = scenario.slot_start(slots[0]), scenario.slot_start(slots[-1])
    return (
        f"{len(slots)} slot(s) from {first:%H:%M} to {last:%H:%M}"
        if len(slots) > 1
        else f"the slot at {first:%H:%M}"
    )


def _windows(scenario: Scenario, relaxed: bool) -> dict[str, list[int]]:
    """Allowed starts of each appliance; a relaxed model may start it anywhere in the horizon."""
    starts = {}
    for a in scenario.appliances:
        inside = [
            k
            for k in range(max(a.earliest_start, 0), min(a.latest_end, scenario.slots) - a.run_slots + 1)
            if a.may_start(k)
        ]
        anywhere = [k for k in range(0, max(scenario.slots - a.run_slots + 1, 0)) if a.may_start(k)]
        starts[a.name] = inside if inside or not relaxed else anywhere
    return starts


def _build(s: Scenario, relaxed: bool, exclusive: frozenset[int]) -> tuple[pulp.LpProblem, dict]:
    n, h, b = s.slots, s.step_hours, s.battery
    prob = pulp.LpProblem("household_schedule", pulp.LpMinimize)
    T = range(n)
    app_peak = sum(max(a.profile_kw) for a in s.appliances)
    m_import = min(s.import_kw_max, max(s.load_kw) + app_peak + (b.charge_kw_max if b else 0)) + 1
    m_export = min(s.export_kw_max, max(s.pv_kw) + (b.discharge_kw_max if b else 0)) + 1
    imp = [prob.add_variable(f"import_{t}", 0, s.import_kw_max) for t in T]
    exp = [prob.add_variable(f"export_{t}", 0, s.export_kw_max) for t in T]
    pv = [prob.add_variable(f"pv_used_{t}", 0, s.pv_kw[t]) for t in T]
    slack: dict[str, list] = {}
    penalties = []
    for t in sorted(exclusive):
        buying = prob.add_variable(f"buying_{t}", cat="Binary")
        prob += imp[t] <= m_import * buying
        prob += exp[t] <= m_export * (1 - buying)
    if relaxed:  # demand the grid limit cannot supply goes unserved; energy nothing can take is dumped
        slack["unserved"] = [prob.add_variable(f"unserved_{t}", 0) for t in T]
        slack["surplus"] = [prob.add_variable(f"surplus_{t}", 0) for t in T]
        penalties += [PENALTY * h * v for k in ("unserved", "surplus") for v in slack[k]]

    charge: list = []
    discharge: list = []
    soc: list = []
    if b:
        charge = [prob.add_variable(f"charge_{t}", 0, b.charge_kw_max) for t in T]
        discharge = [prob.add_variable(f"discharge_{t}", 0, b.discharge_kw_max) for t in T]
        low = None if relaxed else b.soc_min
        soc = [prob.add_variable(f"soc_{t}", low, b.soc_max if not relaxed else None) for t in T]
        if relaxed:
            slack["soc_under"] = [prob.add_variable(f"soc_under_{t}", 0) for t in T]
            slack["soc_over"] = [prob.add_variable(f"soc_over_{t}", 0) for t in T]
            for t in T:
                prob += soc[t] >= b.soc_min - slack["soc_under"][t]
                prob += soc[t] <= b.soc_max + slack["soc_over"][t]
            penalties += [PENALTY * b.capacity_kwh * v for k in ("soc_under", "soc_over") for v in slack[k]]
        for t in sorted(exclusive):
            charging = prob.add_variable(f"charging_{t}", cat="Binary")
            prob += charge[t] <= b.charge_kw_max * charging
            prob += discharge[t] <= b.discharge_kw_max * (1 - charging)
        for t in T:
            previous = soc[t - 1] if t else b.soc_init
            prob += soc[t] == previous + (b.eff_charge * charge[t] - discharge[t] * (1 / b.eff_discharge)) * (
                h / b.capacity_kwh
            )
        final = soc[n - 1]
        if relaxed:
            slack["soc_final"] = [prob.add_variable("soc_final_short", 0)]
            prob += final + slack["soc_final"][0] >= b.soc_final
            penalties.append(PENALTY * b.capacity_kwh * slack["soc_final"][0])
        else:
            prob += final >= b.soc_final

    starts = _windows(s, relaxed)
    choice: dict[str, dict[int, pulp.LpVariable]] = {}
    appliance_kw = {}
    for a in s.appliances:
        choice[a.name] = {
            k: prob.add_variable(f"start_{len(choice)}_{k}", cat="Binary") for k in starts[a.name]
        }
        prob += pulp.lpSum(choice[a.name].values()) == 1
        terms: list[list] = [[] for _ in T]
        for k, x in choice[a.name].items():
            for i, kw in enumerate(a.profile_kw):
                if kw:
                    terms[k + i].append(kw * x)
        appliance_kw[a.name] = [pulp.lpSum(terms[t]) for t in T]
        if relaxed:  # a start outside the window costs as much as the energy it moves out of it
            outside = [k for k in starts[a.name] if k < a.earliest_start or k + a.run_slots > a.latest_end]
            penalties += [PENALTY * h * sum(a.profile_kw) * choice[a.name][k] for k in outside]

    for i, d in enumerate(s.pausable):
        window = range(max(d.earliest_start, 0), min(d.latest_end, n))
        power = {t: prob.add_variable(f"pausable_{i}_{t}", 0, d.power_kw) for t in window}
        if d.min_power_kw > 0:
            for t, p in power.items():
                on = prob.add_variable(f"on_{i}_{t}", cat="Binary")
                prob += p <= d.power_kw * on
                prob += p >= d.min_power_kw * on
        energy = pulp.lpSum(power.values()) * h
        if relaxed:  # energy its window cannot take goes short
            slack[f"short {d.name}"] = [prob.add_variable(f"short_{i}", 0)]
            energy += slack[f"short {d.name}"][0]
            penalties.append(PENALTY * slack[f"short {d.name}"][0])
        prob += energy == d.energy_kwh
        appliance_kw[d.name] = [power.get(t, 0) for t in T]

    for t in T:
        supply = (
            imp[t] - exp[t] + pv[t] + (discharge[t] if b else 0) + (slack["unserved"][t] if relaxed else 0)
        )
        demand = (
            s.load_kw[t]
            + (charge[t] if b else 0)
            + pulp.lpSum(kw[t] for kw in appliance_kw.values())
            + (slack["surplus"][t] if relaxed else 0)
        )
        prob += supply == demand

    w = s.weights
    cost = pulp.lpSum((s.price_import[t] * imp[t] - s.price_export[t] * exp[t]) * h for t in T)
    objective = (
        w.get("cost", 1.0) * cost
        + w.get("self_consumption", 0.0) * pulp.lpSum(imp) * h
        - w.get("export", 0.0) * pulp.lpSum(s.price_export[t] * exp[t] * h for t in T)
    )
    if b:
        objective += CYCLING * h * pulp.lpSum(
            charge[t] + discharge[t] for t in T
        ) + b.wear_chf_kwh * h * pulp.lpSum(discharge)
        objective -= b.end_value_chf_kwh * b.capacity_kwh * soc[n - 1]
    prob += objective + pulp.lpSum(penalties)
    return prob, {
        "import": imp,
        "export": exp,
        "pv": pv,
        "charge": charge,
        "discharge": discharge,
        "soc": soc,
        "appliance_kw": appliance_kw,
        "choice": choice,
        "slack": slack,
    }


def _schedule(s: Scenario, parts: dict, status: str) -> Schedule:
    n = s.slots
    zeros = [0.0] * n
    starts = {
        name: max(options, key=lambda k: _value(options[k]))
        for name, options in parts["choice"].items()
        if options
    }
    return Schedule(
        strategy="optimised",
        status=status,
        grid_import_kw=[_value(v) for v in parts["import"]],
        grid_export_kw=[_value(v) for v in parts["export"]],
        battery_charge_kw=[_value(v) for v in parts["charge"]] if parts["charge"] else zeros,
        battery_discharge_kw=[_value(v) for v in parts["discharge"]] if parts["discharge"] else zeros,
        soc=[_value(v) for v in parts["soc"]] if parts["soc"] else zeros,
        pv_used_kw=[_value(v) for v in parts["pv"]],
        appliances_kw={
            **{
                a.name: [
                    a.profile_kw[t - starts[a.name]] if 0 <= t - starts[a.name] < a.run_slots else 0.0
                    for t in range(n)
                ]
                for a in s.appliances
                if a.name in starts
            },
            **{a.name: [_value(kw) for kw in parts["appliance_kw"][a.name]] for a in s.pausable},
        },
        starts=starts,
    )


def _broken(s: Scenario, parts: dict) -> list[str]:
    """One line per constraint the relaxed schedule breaks, biggest first."""
    lines: list[tuple[float, str]] = []
    h = s.step_hours
    slack = parts["slack"]

    def over(name: str, describe: Callable[[list[int], float], str]) -> None:
        slots = [t for t, v in enumerate(slack.get(name, [])) if _value(v) > TOLERANCE]
        if slots:
            amount = sum(_value(slack[name][t]) for t in slots)
            lines.append((amount, describe(slots, amount)))

    over(
        "unserved",
        lambda sl, a: (
            f"energy balance: {a * h:.2f} kWh of demand cannot be supplied in "
            f"{_slots_text(sl, s)} (grid import limit {s.import_kw_max:g} kW, PV and battery exhausted)"
        ),
    )
    over(
        "surplus",
        lambda sl, a: (
            f"energy balance: {a * h:.2f} kWh cannot be taken anywhere in {_slots_text(sl, s)} "
            f"(grid export limit {s.export_kw_max:g} kW, battery full)"
        ),
    )
    b = s.battery
    if b:
        over(
            "soc_under",
            lambda sl, a: (
                f"battery soc_min {b.soc_min:g}: the state of charge falls below it in {_slots_text(sl, s)}"
            ),
        )
        over(
            "soc_over",
            lambda sl, a: (
                f"battery soc_max {b.soc_max:g}: the state of charge rises above it in {_slots_text(sl, s)}"
            ),
        )
        if slack.get("soc_final") and _value(slack["soc_final"][0]) > TOLERANCE:
            reached = _value(parts["soc"][-1])
            lines.append(
                (
                    _value(slack["soc_final"][0]) * b.capacity_kwh,
                    f"battery soc_final {b.soc_final:g}: only {reached:.3f} can be reached by the end of "
                    "the horizon",
                )
            )
    for d in s.pausable:
        short = _value(slack[f"short {d.name}"][0])
        if short > TOLERANCE:
            lines.append(
                (
                    PENALTY * short,
                    f"appliance {d.name!r}: only {d.energy_kwh - short:.2f} of its {d.energy_kwh:g} kWh "
                    f"fit its window (at most {d.power_kw:g} kW, at least {d.min_power_kw:g} kW "
                    f"while on)",
                )
            )
    for a in s.appliances:
        start = max(parts["choice"][a.name], key=lambda k: _value(parts["choice"][a.name][k]), default=None)
        if start is not None and (start < a.earliest_start or start + a.run_slots > a.latest_end):
            window = max(0, min(a.latest_end, s.slots) - max(a.earliest_start, 0))
            lines.append(
                (
                    PENALTY,
                    f"appliance {a.name!r}: its run of {a.run_slots} slots does not fit its window of "
                    f"{window} slot(s); it runs from {s.slot_start(start):%H:%M} instead",
                )
            )
    return [text for _, text in sorted(lines, key=lambda item: -item[0])]


def _both_ways(parts: dict) -> set[int]:
    """Slots that import and export, or charge and discharge, at once."""
    pairs = [(parts["import"], parts["export"])] + (
        [(parts["charge"], parts["discharge"])] if parts["charge"] else []
    )
    return {
        t
        for ins, outs in pairs
        for t, (i, o) in enumerate(zip(ins, outs))
        if _value(i) > TOLERANCE and _value(o) > TOLERANCE
    }


def _status(prob: pulp.LpProblem) -> str:
    """HiGHS's own verdict (PuLP reports a time-limited MIP as optimal): Optimal, TimeLimit with a
    schedule, or the failure."""
    model = prob.solverModel
    status = model.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return "Optimal"
    if status == highspy.HighsModelStatus.kTimeLimit and model.getInfo().primal_solution_status == 2:
        return "TimeLimit"
    return model.modelStatusToString(status)


def _gap(prob: pulp.LpProblem) -> float:
    info = prob.solverModel.getInfo()
    return (
        max(0.0, abs(info.objective_function_value - info.mip_dual_bound))
        if info.mip_node_count >= 0
        else 0.0
    )


_banner_shown = False


def _quiet_banner() -> None:
    """HiGHS prints its banner on the process's stdout when the first solver is made; swallow it."""
    global _banner_shown
    if _banner_shown:
        return
    _banner_shown = True
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(null)
        os.close(saved)


def _solve(s: Scenario, relaxed: bool, time_limit: float) -> tuple[str, dict]:
    """Solve, adding the never-both binaries only in the slots that need them. Buying and selling at
    once, or charging and discharging, only pays when a price or a weight rewards wasting energy, so
    the model first goes without them; a slot that does both gets its binaries and the model is
    solved again (each round keeps every earlier binary). The answer is optimal for the full model,
    which has the same optimum and solves ten to a hundred times slower."""
    exclusive: frozenset[int] = frozenset()
    while True:
        prob, parts = _build(s, relaxed, exclusive)
        _quiet_banner()
        prob.solve(
            pulp.HiGHS(msg=False, timeLimit=time_limit, gapAbs=GAP_CHF, gapRel=GAP_RELATIVE, **SOLVER_OPTIONS)
        )
        status = _status(prob)
        both = _both_ways(parts) - exclusive if status in ("Optimal", "TimeLimit") else set()
        if not both:
            parts["gap_chf"] = _gap(prob)
            return status, parts
        exclusive |= both


def solve(s: Scenario, time_limit: float = 60.0) -> Schedule:
    """The best schedule of a scenario; a relaxed one, its broken constraints named, when none meets them
    all."""
    began = time.perf_counter()
    unplaceable = [a.name for a in s.appliances if a.run_slots > s.slots]
    if not unplaceable:
        status, parts = _solve(s, False, time_limit)
        if status in ("Optimal", "TimeLimit"):
            schedule = _schedule(s, parts, "optimal" if status == "Optimal" else "feasible")
            if status == "TimeLimit":
                schedule.reason = (
                    f"time limit of {time_limit:g} s: the best schedule found, within "
                    f"{parts['gap_chf']:.4f} CHF of the bound"
                )
            schedule.gap_chf = parts["gap_chf"]
            schedule.solve_seconds = time.perf_counter() - began
            return schedule
    s_relaxed = (
        s
        if not unplaceable
        else Scenario(
            **{**s.__dict__, "appliances": tuple(a for a in s.appliances if a.name not in unplaceable)}
        )
    )
    status, parts = _solve(s_relaxed, True, time_limit)
    if status not in ("Optimal", "TimeLimit"):
        n = s.slots
        return Schedule(
            "optimised",
            "infeasible",
            [0.0] * n,
            [0.0] * n,
            [0.0] * n,
            [0.0] * n,
            [0.0] * n,
            [0.0] * n,
            {},
            {},
            reason=f"the solver found no schedule, even relaxed ({status})",
            solve_seconds=time.perf_counter() - began,
        )
    schedule = _schedule(s_relaxed, parts, "relaxed")
    broken = [
        f"appliance {name!r}: its run is longer than the horizon ({s.slots} slots); not scheduled"
        for name in unplaceable
    ] + _broken(s_relaxed, parts)
    schedule.relaxed = broken
    schedule.reason = broken[0] if broken else "the constraints could only be met approximately"
    schedule.solve_seconds = time.perf_counter() - began
    return schedule
