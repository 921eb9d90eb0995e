"""One household's plan for a day: the optimised schedule, what the controller will send, the strategies it
is compared with, its KPIs."""

from __future__ import annotations

from dataclasses import dataclass

from domotic_assets.optimise.baseline import plan_with_battery_by_rule, rule_based, without_battery
from domotic_assets.optimise.checker import violations
from domotic_assets.optimise.model import solve
from domotic_assets.optimise.scenario import Scenario
from domotic_assets.optimise.schedule import Schedule, comparable_cost_chf, cost_chf, kpis


@dataclass
class Plan:
    schedule: Schedule
    """What the controller sends: the optimised schedule, or its appliance runs with the battery by the rule
    (`battery_mode`)."""
    battery_mode: str | None
    """`plan` (the battery gets the optimised setpoints), `rule` (it runs the rule-based real-time rule,
    keeping `baseline.reserve_soc`), or None without a battery."""
    kpis: dict
    violations: list[str]
    """What the independent checker found wrong with the optimised schedule and with what is sent (empty
    when both are sound)."""


def plan_day(scenario: Scenario, battery_follows_plan: bool = False) -> Plan:
    """Solve the day, then decide what is sent: with a battery, unless `battery_follows_plan`, the plan's
    appliance runs with the battery by the rule (see `household_parameters.BATTERY_FOLLOWS_PLAN` for the
    measured reason). The savings are those of what is sent, against the rule-based strategy, both with
    the energy left in the battery counted (`comparable_cost_chf`)."""
    optimised = solve(scenario)
    solved = optimised.status in ("optimal", "feasible")
    battery_mode = None
    sent = optimised
    if scenario.battery is not None:
        battery_mode = "plan" if battery_follows_plan or not solved else "rule"
        if battery_mode == "rule":
            sent = plan_with_battery_by_rule(scenario, optimised)
    rules, bare = rule_based(scenario), without_battery(scenario)
    figures = kpis(scenario, sent)
    comparable_rules, comparable = comparable_cost_chf(scenario, rules), comparable_cost_chf(scenario, sent)
    row = {
        "status": optimised.status,
        "reason": optimised.reason,
        "has_battery": scenario.battery is not None,
        "battery_mode": battery_mode,
        "cost_no_battery_chf": round(cost_chf(scenario, bare), 4),
        "cost_rule_based_chf": round(cost_chf(scenario, rules), 4),
        "cost_optimised_chf": round(cost_chf(scenario, optimised), 4),
        "cost_sent_chf": figures["cost_chf"],
        "comparable_rule_based_chf": round(comparable_rules, 4),
        "comparable_sent_chf": round(comparable, 4),
        "savings_vs_rule_based_pct": round(100 * (comparable_rules - comparable) / abs(comparable_rules), 2)
        if abs(comparable_rules) > 1e-6
        else None,
        "self_consumption_rate": figures["self_consumption_rate"],
        "autarky_rate": figures["autarky_rate"],
        "gap_chf": round(optimised.gap_chf, 6),
        "solve_seconds": round(optimised.solve_seconds, 3),
    }
    found = violations(scenario, optimised) if solved else []
    if sent is not optimised:
        found += [f"battery by the rule: {v}" for v in violations(scenario, sent)]
    return Plan(sent, battery_mode, row, found)
