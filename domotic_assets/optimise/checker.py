"""An independent check of any schedule against its scenario: every rule, recomputed from the numbers.

It shares nothing with the model but the scenario: a solver bug, a wrong sign or a rounding slip
shows up here as a named violation.
"""

from __future__ import annotations

from domotic_assets.optimise.scenario import Scenario
from domotic_assets.optimise.schedule import Schedule

TOLERANCE = 1e-5


def violations(s: Scenario, sch: Schedule, tolerance: float = TOLERANCE) -> list[str]:
    """Every broken rule, one line each; empty when the schedule is physically and contractually sound."""
    n, h, b, tol = s.slots, s.step_hours, s.battery, tolerance
    found: list[str] = []
    series = {
        "grid_import_kw": sch.grid_import_kw,
        "grid_export_kw": sch.grid_export_kw,
        "battery_charge_kw": sch.battery_charge_kw,
        "battery_discharge_kw": sch.battery_discharge_kw,
        "soc": sch.soc,
        "pv_used_kw": sch.pv_used_kw,
        **{f"appliance {k}": v for k, v in sch.appliances_kw.items()},
    }
    for name, values in series.items():
        if len(values) != n:
            return [f"{name}: {len(values)} values for {n} slots"]
    soc = b.soc_init if b else 0.0
    for t in range(n):
        imp, exp, ch, dis, pv = (
            sch.grid_import_kw[t],
            sch.grid_export_kw[t],
            sch.battery_charge_kw[t],
            sch.battery_discharge_kw[t],
            sch.pv_used_kw[t],
        )
        appliances = sum(kw[t] for kw in sch.appliances_kw.values())
        gap = imp - exp + pv + dis - (s.load_kw[t] + ch + appliances)
        if abs(gap) > tol:
            found.append(f"slot {t}: energy balance off by {gap:+.6f} kW")
        if pv < -tol or pv > s.pv_kw[t] + tol:
            found.append(f"slot {t}: PV used {pv:.6f} kW outside [0, forecast {s.pv_kw[t]:.6f}]")
        if imp < -tol or imp > s.import_kw_max + tol:
            found.append(f"slot {t}: import {imp:.6f} kW outside [0, {s.import_kw_max:g}]")
        if exp < -tol or exp > s.export_kw_max + tol:
            found.append(f"slot {t}: export {exp:.6f} kW outside [0, {s.export_kw_max:g}]")
        if imp > tol and exp > tol:
            found.append(f"slot {t}: imports {imp:.6f} and exports {exp:.6f} kW at once")
        if not b:
            if abs(ch) > tol or abs(dis) > tol:
                found.append(f"slot {t}: a battery is used but the scenario has none")
            continue
        if ch < -tol or ch > b.charge_kw_max + tol or dis < -tol or dis > b.discharge_kw_max + tol:
            found.append(f"slot {t}: charge {ch:.6f} / discharge {dis:.6f} kW outside the battery's limits")
        if ch > tol and dis > tol:
            found.append(f"slot {t}: charges {ch:.6f} and discharges {dis:.6f} kW at once")
        soc += (b.eff_charge * ch - dis / b.eff_discharge) * h / b.capacity_kwh
        if abs(soc - sch.soc[t]) > tol:
            found.append(f"slot {t}: state of charge {sch.soc[t]:.6f} but the flows give {soc:.6f}")
        if soc < b.soc_min - tol or soc > b.soc_max + tol:
            found.append(f"slot {t}: state of charge {soc:.6f} outside [{b.soc_min:g}, {b.soc_max:g}]")
    if b and n and soc < b.soc_final - tol:
        found.append(f"final state of charge {soc:.6f} below the target {b.soc_final:g}")
    for a in s.appliances:
        kw = sch.appliances_kw.get(a.name)
        if kw is None:
            found.append(f"appliance {a.name!r}: not scheduled")
            continue
        running = [t for t, p in enumerate(kw) if abs(p) > tol]
        start = sch.starts.get(a.name, running[0] if running else None)
        expected = [
            a.profile_kw[t - start] if start is not None and 0 <= t - start < a.run_slots else 0.0
            for t in range(n)
        ]
        if start is None:
            if any(a.profile_kw):
                found.append(f"appliance {a.name!r}: never runs")
        elif any(abs(x - y) > tol for x, y in zip(kw, expected)) or start + a.run_slots > n:
            found.append(f"appliance {a.name!r}: not one contiguous run of its profile")
        elif not a.may_start(start):
            found.append(
                f"appliance {a.name!r}: starts in slot {start}, not on its {a.start_every}-slot start grid"
            )
        elif start < a.earliest_start or start + a.run_slots > a.latest_end:
            found.append(
                f"appliance {a.name!r}: runs in slots {start}..{start + a.run_slots - 1}, outside its window "
                f"[{a.earliest_start}, {a.latest_end})"
            )
    for d in s.pausable:
        kw = sch.appliances_kw.get(d.name)
        if kw is None:
            found.append(f"appliance {d.name!r}: not scheduled")
            continue
        for t, p in enumerate(kw):
            if abs(p) > tol and not d.earliest_start <= t < d.latest_end:
                found.append(
                    f"appliance {d.name!r}: on in slot {t}, outside its window [{d.earliest_start}, "
                    f"{d.latest_end})"
                )
            elif p < -tol or (abs(p) > tol and not d.min_power_kw - tol <= p <= d.power_kw + tol):
                found.append(
                    f"appliance {d.name!r}: {p:.6f} kW in slot {t}, outside [{d.min_power_kw:g}, "
                    f"{d.power_kw:g}]"
                )
        if abs(sum(kw) * h - d.energy_kwh) > tol * max(1.0, d.energy_kwh):
            found.append(f"appliance {d.name!r}: takes {sum(kw) * h:.6f} kWh, not its {d.energy_kwh:g}")
    return found
