"""A second scheduling MILP, written apart from `optimise/model.py`, to judge its answers: scipy's
`milp` on a matrix built by hand, every never-both binary in every slot, no tie-breaking term and a
gap of 1e-7, so its optimum is the cheapest schedule that meets every constraint on the scenario's
own objective."""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from domotic_assets.optimise.scenario import Scenario


class _Columns:
    """Variable columns by name, with their bounds, integrality and objective coefficient."""

    def __init__(self):
        self.low, self.high, self.integer, self.cost = [], [], [], []

    def add(self, low: float, high: float, cost: float = 0.0, integer: bool = False) -> int:
        self.low.append(low)
        self.high.append(high)
        self.integer.append(1 if integer else 0)
        self.cost.append(cost)
        return len(self.low) - 1


def cheapest_objective(s: Scenario, time_limit: float = 120.0) -> float:
    """The least value of the scenario's objective over every schedule that meets all its constraints."""
    n, h, b, w = s.slots, s.step_hours, s.battery, s.weights
    col = _Columns()
    big_import = s.import_kw_max if s.import_kw_max < 1e5 else 1e3
    big_export = s.export_kw_max if s.export_kw_max < 1e5 else 1e3
    imp = [
        col.add(
            0, s.import_kw_max, (w.get("cost", 1.0) * s.price_import[t] + w.get("self_consumption", 0.0)) * h
        )
        for t in range(n)
    ]
    exp = [
        col.add(0, s.export_kw_max, -(w.get("cost", 1.0) + w.get("export", 0.0)) * s.price_export[t] * h)
        for t in range(n)
    ]
    pv = [col.add(0, s.pv_kw[t]) for t in range(n)]
    buying = [col.add(0, 1, integer=True) for _ in range(n)]
    rows: list[tuple[dict[int, float], float, float]] = []  # (coefficients, low, high)
    for t in range(n):
        rows.append(({imp[t]: 1, buying[t]: -big_import}, -np.inf, 0))
        rows.append(({exp[t]: 1, buying[t]: big_export}, -np.inf, big_export))
    ch = dis = soc = []
    if b:
        ch = [col.add(0, b.charge_kw_max) for _ in range(n)]
        dis = [col.add(0, b.discharge_kw_max, b.wear_chf_kwh * h) for _ in range(n)]
        soc = [col.add(b.soc_min, b.soc_max) for _ in range(n)]
        col.cost[soc[-1]] -= b.end_value_chf_kwh * b.capacity_kwh
        charging = [col.add(0, 1, integer=True) for _ in range(n)]
        for t in range(n):
            rows.append(({ch[t]: 1, charging[t]: -b.charge_kw_max}, -np.inf, 0))
            rows.append(({dis[t]: 1, charging[t]: b.discharge_kw_max}, -np.inf, b.discharge_kw_max))
            step = {
                soc[t]: 1,
                ch[t]: -b.eff_charge * h / b.capacity_kwh,
                dis[t]: h / (b.eff_discharge * b.capacity_kwh),
            }
            if t:
                step[soc[t - 1]] = -1
            start = 0 if t else b.soc_init
            rows.append((step, start, start))
        rows.append(({soc[-1]: 1}, b.soc_final, np.inf))
    drawn: list[dict[int, float]] = [{} for _ in range(n)]  # appliance kW per slot, as coefficients
    for a in s.appliances:
        starts = [
            k
            for k in range(max(a.earliest_start, 0), min(a.latest_end, n) - a.run_slots + 1)
            if k % a.start_every == 0
        ]
        chosen = {k: col.add(0, 1, integer=True) for k in starts}
        rows.append(({c: 1 for c in chosen.values()}, 1, 1))
        for k, c in chosen.items():
            for i, kw in enumerate(a.profile_kw):
                drawn[k + i][c] = drawn[k + i].get(c, 0) + kw
    for a in s.pausable:
        energy = {}
        for t in range(max(a.earliest_start, 0), min(a.latest_end, n)):
            p, on = col.add(0, a.power_kw), col.add(0, 1, integer=True)
            rows.append(({p: 1, on: -a.power_kw}, -np.inf, 0))
            rows.append(({p: 1, on: -a.min_power_kw}, 0, np.inf))
            drawn[t][p] = 1.0
            energy[p] = h
        rows.append((energy, a.energy_kwh, a.energy_kwh))
    for t in range(n):  # import - export + pv + discharge - charge - appliances = load
        balance = {imp[t]: 1, exp[t]: -1, pv[t]: 1}
        if b:
            balance.update({dis[t]: 1, ch[t]: -1})
        for c, kw in drawn[t].items():
            balance[c] = balance.get(c, 0) - kw
        rows.append((balance, s.load_kw[t], s.load_kw[t]))

    matrix = lil_matrix((len(rows), len(col.low)))
    for r, (coefficients, _, _) in enumerate(rows):
        for c, v in coefficients.items():
            matrix[r, c] = v
    result = milp(
        np.array(col.cost),
        integrality=np.array(col.integer),
        bounds=Bounds(col.low, col.high),
        constraints=LinearConstraint(matrix.tocsr(), [r[1] for r in rows], [r[2] for r in rows]),
        options={"mip_rel_gap": 1e-7, "time_limit": time_limit},
    )
    if result.status != 0:
        raise RuntimeError(f"the independent MILP did not reach its optimum: {result.message}")
    return float(result.fun)
