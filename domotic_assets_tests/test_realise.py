"""Playing a plan against the day that really happens: the real-time rule, the carried state of charge and
hourly re-planning (model predictive control)."""

from dataclasses import replace
from datetime import date

import pytest

from domotic_assets.optimise.realise import day_ahead, play, replan_hourly, with_soc
from domotic_assets.optimise.scenario import read_scenario
from domotic_assets.optimise.schedule import cost_chf
from domotic_assets.simulator.scenarios import simulated_scenario
from domotic_assets.simulator.telemetry import simulated_households

DAY = date(2023, 6, 14)


def _battery_day():
    household = next(h for h in simulated_households(6) if h.battery_kwh and h.pv_kwp)
    return read_scenario(simulated_scenario(household, DAY, 15))


def test_a_plan_made_on_the_true_day_is_realised_exactly():
    """With forecasts equal to the day, playing the plan by the real-time rule costs what the plan costs,
    and re-planning every hour changes nothing."""
    actual = with_soc(_battery_day(), 0.3)
    played, plan = day_ahead(actual, actual, 0.3)
    assert played.cost_chf == pytest.approx(cost_chf(actual, plan), abs=1e-6)
    assert played.soc_end == pytest.approx(plan.soc[-1], abs=1e-9)
    again = replan_hourly(actual, actual, 0.3, plan)
    assert again.cost_chf == pytest.approx(played.cost_chf, abs=0.005)


def test_the_grid_takes_what_the_forecast_missed_and_the_battery_never_feeds_the_grid():
    """Four hand-made hours: the plan discharges 2 kW in hour 2 for a forecast load of 2 kW; the home draws
    only 1 kW then, so the battery gives 1 kW (not 2 to the grid); in hour 3 the home draws 3 kW more than
    forecast and the grid takes it."""
    doc = {
        "start": "2023-06-14T00:00:00+00:00",
        "step_minutes": 60,
        "price_import_chf_kwh": [0.1, 0.1, 0.3, 0.3],
        "price_export_chf_kwh": [0.05] * 4,
        "load_kw": [0.0, 0.0, 2.0, 0.0],
        "pv_kw": [0.0] * 4,
        "battery": {
            "capacity_kwh": 10,
            "soc_init": 0.5,
            "soc_min": 0.1,
            "soc_max": 0.9,
            "soc_final": 0.1,
            "charge_kw_max": 5,
            "discharge_kw_max": 5,
            "eff_charge": 1.0,
            "eff_discharge": 1.0,
        },
        "grid": {"import_kw_max": 20, "export_kw_max": 20},
    }
    forecast = read_scenario(doc)
    actual = replace(forecast, load_kw=(0.0, 0.0, 1.0, 3.0))
    plan_soc = [0.5, 0.5, 0.3, 0.1]  # 2 kWh out in hour 2, 2 kWh out in hour 3
    played = play(actual, plan_soc, {}, 0.5)
    # hour 2: 1 kW from the battery (soc 0.4), nothing bought; hour 3: 3 kW drawn, the battery gives 3 of the
    # 3 kWh the plan lets it give (0.4 -> 0.1), nothing bought
    assert played.soc_end == pytest.approx(0.1)
    assert played.import_kwh == pytest.approx(0.0) and played.export_kwh == pytest.approx(0.0)
    more = play(replace(actual, load_kw=(0.0, 0.0, 1.0, 5.0)), plan_soc, {}, 0.5)
    assert more.import_kwh == pytest.approx(2.0) and more.cost_chf == pytest.approx(
        0.6
    )  # the grid takes the rest
