"""One household's plan for a day: the optimised schedule, the strategies it is compared with, its KPIs."""

from __future__ import annotations

from dataclasses import dataclass

from domotic_assets.optimise.baseline import rule_based, without_battery
from domotic_assets.optimise.checker import violations
from domotic_assets.optimise.model import solve
from domotic_assets.optimise.scenario import Scenario
from domotic_assets.optimise.schedule import Schedule, comparable_cost_chf, cost_chf, kpis


@dataclass
class Plan:
    schedule: Schedule
    kpis: dict
    violations: list[str]
    """What the independent checker found wrong with the optimised schedule (empty when sound)."""


def plan_day(scenario: Scenario) -> Plan:
    schedule = solve(scenario)
    rules, bare = rule_based(scenario), without_battery(scenario)
    figures = kpis(scenario, schedule)
    comparable_rules, comparable = (
        comparable_cost_chf(scenario, rules),
        comparable_cost_chf(scenario, schedule),
    )
    row = {
        "status": schedule.status,
        "reason": schedule.reason,
        "has_battery": scenario.battery is not None,
        "cost_no_battery_chf": round(cost_chf(scenario, bare), 4),
        "cost_rule_based_chf": round(cost_chf(scenario, rules), 4),
        "cost_optimised_chf": figures["cost_chf"],
        "comparable_rule_based_chf": round(comparable_rules, 4),
        "comparable_optimised_chf": round(comparable, 4),
        "savings_vs_rule_based_pct": round(100 * (comparable_rules - comparable) / abs(comparable_rules), 2)
        if abs(comparable_rules) > 1e-6
        else None,
        "self_consumption_rate": figures["self_consumption_rate"],
        "autarky_rate": figures["autarky_rate"],
        "gap_chf": round(schedule.gap_chf, 6),
        "solve_seconds": round(schedule.solve_seconds, 3),
    }
    return Plan(
        schedule, row, violations(scenario, schedule) if schedule.status in ("optimal", "feasible") else []
    )
