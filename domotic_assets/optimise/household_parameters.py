"""What the optimiser assumes about a household where pidb says nothing, and how its PV follows the sun.

A building that differs sets the pidb parameter of the same name (`silver.dim_parameters`: the battery's
`battery_c_rate`, `battery_soc_min`, `battery_soc_max`, `battery_efficiency`, `battery_soc_target`,
`battery_follows_plan` and `pv_performance_ratio`) or its energy profile (`contract_kw`, `pv_kwp`,
`battery_kwh`).
"""

from __future__ import annotations

PV_PERFORMANCE_RATIO = 0.82
"""Share of the panels' rated output that reaches the house (inverter, temperature, soiling)."""
CONTRACT_KW_DEFAULT = 13.0
"""The grid connection's limit, both ways, of a household whose energy profile gives none (a 3 x 20 A
supply)."""
BATTERY_DEFAULTS = {
    "battery_c_rate": 0.5,
    "battery_soc_min": 0.1,
    "battery_soc_max": 0.95,
    "battery_efficiency": 0.95,
}
"""Power as a share of capacity per hour, state-of-charge bounds, and the efficiency each way."""
SOC_TARGET_DEFAULT = 0.5
"""The state of charge a day starts from without a recent report, and ends at (`soc_final`)."""
BATTERY_FOLLOWS_PLAN = 0
"""1: the controller sends the battery the plan's charge and discharge setpoints, slot by slot. 0 (default):
the battery runs the rule-based real-time rule (`optimise.baseline`: PV surplus in, the load covered, the
reserve for the day's end kept) while the appliances start when the plan says. Played over 30 consecutive
days on
forecasts (docs/benchmarks.md, "Savings as realised"), following the plan lost 25.5 % to the rule for the
simulated households with a battery in June and 68 % on a real household's June (the PV the forecast
missed is exported), and gained only 0.9 % and 3.7 % in January."""
LOAD_HISTORY_DAYS = 7
"""Days of metered load averaged per local quarter-hour when no load forecast covers the day."""


def pv_kw(kwp: float, radiation_w_m2: float, performance_ratio: float = PV_PERFORMANCE_RATIO) -> float:
    """The power (kW) of `kwp` of panels under a global radiation (W/m2)."""
    return kwp * radiation_w_m2 / 1000 * performance_ratio
