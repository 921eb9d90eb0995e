"""A household's scenario for a local day, from the warehouse: tariff, load and PV forecasts, battery,
appliances.

* **Prices**: the apartment's tariff rows (`pidb.tariffs` through `energy_profiles.tariff_code`) at
  each slot's local time, by the rule of `transform.tariffs`; the feed-in price from the pidb
  parameter `feed_in_chf_kwh` (none: exports earn nothing, and the notes say so).
* **Load**: the ML energy forecast of the apartment issued by the day's start (`gold.fact_prediction`),
  minus the usual draw of its shiftable devices at that time (the optimiser places those itself);
  without a forecast, the mean of the same local quarter-hour over the `LOAD_HISTORY_DAYS` days
  before, from the main meter in Gold minus the plugs of shiftable devices; failing that, the
  household's MQTT telemetry.
* **PV**: installed kWp (`energy_profiles.pv_kwp`) x the radiation forecast of the apartment's
  site (the newest issue of the day before, else of the day) x a performance ratio (pidb parameter
  `pv_performance_ratio`, else `optimise.household_parameters`).
* **Battery**: `energy_profiles.battery_kwh`, power, bounds and efficiency from pidb parameters
  (`battery_c_rate`, `battery_soc_min`, `battery_soc_max`, `battery_efficiency`) or the defaults of
  `optimise.household_parameters`; the day starts from the last state of charge the battery reported
  over MQTT, if recent, and must end at `battery_soc_target`. The energy left at the end is given no
  value: the plan minimises the day's cost (valuing it lost 20 to 31 points over 30 June days, simulated
  and real; docs/decisions.md). Whether the battery then follows the plan or its rule is the pidb
  parameter `battery_follows_plan` (`battery_follows_plan` below).
* **Appliances**: pidb devices marked shiftable whose kind has a profile (`optimise.appliances`),
  one run a day within the kind's window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import psycopg

from domotic_assets.contracts.timestamps import zone
from domotic_assets.optimise.appliances import SHAPES, WINDOWS, profile_kw, start_step_minutes
from domotic_assets.optimise.household_parameters import (
    BATTERY_DEFAULTS,
    BATTERY_FOLLOWS_PLAN,
    CONTRACT_KW_DEFAULT,
    LOAD_HISTORY_DAYS,
    PV_PERFORMANCE_RATIO,
    SOC_TARGET_DEFAULT,
    pv_kw,
)
from domotic_assets.transform.tariffs import TariffRow, tariff_at
from domotic_assets.warehouse.reference_tables import parameter
from domotic_assets.warehouse.silver_tables import day_bounds

ENERGY_FORECAST_MODEL = 1  # gold.dim_model


@dataclass(frozen=True)
class Household:
    apartment_key: int
    code: str
    timezone: str
    weather_site: str | None
    tariff_code: str | None
    contract_kw: float
    pv_kwp: float
    battery_kwh: float

    @property
    def mqtt_ids(self) -> list[str]:
        """How the household may appear on MQTT topics: its building id or its code."""
        return [str(self.apartment_key), self.code]


@dataclass
class ScenarioInputs:
    document: dict | None
    notes: dict[str, str] = field(default_factory=dict)
    """Where each input came from, or why the scenario could not be built (`missing`)."""
    lacking: str | None = None
    """What was missing when there is no scenario: `load_history` (a household too new to plan for),
    `tariff` or `pv_forecast` (an input the household should have had)."""


def battery_follows_plan(conn: psycopg.Connection) -> bool:
    """Whether batteries get the plan's setpoints (pidb parameter `battery_follows_plan` 1) rather than run
    the rule-based real-time rule beside the plan's appliance starts (0, `optimise.household_parameters`)."""
    return parameter(conn, "battery_follows_plan", BATTERY_FOLLOWS_PLAN) >= 0.5


def households(conn: psycopg.Connection) -> list[Household]:
    rows = conn.execute(
        """SELECT b.id, b.code, coalesce(b.timezone, 'Europe/Zurich'), b.weather_site, p.tariff_code,
                                  coalesce(p.contract_kw, %s), coalesce(p.pv_kwp, 0), coalesce(p.battery_kwh,
                                      0)
                           FROM silver.dim_buildings b LEFT JOIN silver.dim_energy_profiles p
                               ON p.building_id = b.id
                           ORDER BY b.id""",
        (CONTRACT_KW_DEFAULT,),
    ).fetchall()
    return [Household(*row) for row in rows]


def _slots(household: Household, day: date, step_minutes: int) -> list[datetime]:
    low, high = day_bounds(day, household.timezone)
    count = int((high - low).total_seconds() // 60 // step_minutes)
    return [
        (low + timedelta(minutes=step_minutes * t)).astimezone(zone(household.timezone)) for t in range(count)
    ]


def _prices(conn: psycopg.Connection, household: Household, slots: list[datetime]) -> list[float] | None:
    rows = [
        TariffRow(*r)
        for r in conn.execute(
            """
        SELECT id, tariff_code, valid_from, valid_to, period, weekday_mask, start_time, end_time,
            price_chf_kwh::float8
        FROM silver.dim_tariffs WHERE tariff_code = %s""",
            (household.tariff_code,),
        ).fetchall()
    ]
    prices = [tariff_at(rows, household.tariff_code, t) for t in slots]
    return None if any(p is None for p in prices) else [p.price_chf_kwh for p in prices]


def _wall_bins(slots: list[datetime], step_minutes: int) -> list[int]:
    return [(t.hour * 60 + t.minute) // step_minutes for t in slots]


def _load_history(
    conn: psycopg.Connection, household: Household, day: date, step_minutes: int
) -> tuple[dict[int, float], str]:
    """Mean kW per local wall-clock bin over the history days, and where it came from."""
    low = day_bounds(day - timedelta(days=LOAD_HISTORY_DAYS), household.timezone)[0]
    high = day_bounds(day, household.timezone)[0]
    meter = conn.execute(
        """
        WITH minutes AS (
            SELECT f.ts, sum(f.energy_kwh) FILTER (WHERE f.is_main_meter)
                         - coalesce(sum(f.energy_kwh) FILTER (WHERE NOT f.is_main_meter AND d.shiftable),
                             0) AS kwh
            FROM gold.fact_energy_minute f LEFT JOIN gold.dim_device d USING (device_key)
            WHERE f.apartment_key = %(key)s AND f.ts >= %(low)s AND f.ts < %(high)s GROUP BY f.ts)
        SELECT ((extract(hour FROM ts AT TIME ZONE %(tz)s) * 60 + extract(minute
            FROM ts AT TIME ZONE %(tz)s))::int / %(step)s),
               sum(kwh) * 60.0 / count(*)
        FROM minutes WHERE kwh IS NOT NULL GROUP BY 1""",
        {
            "key": household.apartment_key,
            "low": low,
            "high": high,
            "tz": household.timezone,
            "step": step_minutes,
        },
    ).fetchall()
    if len(meter) * step_minutes >= 1440 * 0.9:
        return {
            b: max(float(kw), 0.0) for b, kw in meter
        }, f"main meter minus shiftable plugs, {LOAD_HISTORY_DAYS} days before"
    telemetry = (
        conn.execute(
            """
        SELECT ((extract(hour FROM period_start AT TIME ZONE %(tz)s) * 60
                 + extract(minute FROM period_start AT TIME ZONE %(tz)s))::int / %(step)s),
                     avg(consumption_mean_w) / 1000
        FROM gold.agg_household_telemetry_15min
        WHERE household = ANY(%(ids)s) AND period_start >= %(low)s AND period_start < %(high)s
            AND consumption_mean_w IS NOT NULL
        GROUP BY 1""",
            {
                "tz": household.timezone,
                "step": step_minutes,
                "ids": household.mqtt_ids,
                "low": low,
                "high": high,
            },
        ).fetchall()
        if conn.execute("SELECT to_regclass('gold.agg_household_telemetry_15min') IS NOT NULL").fetchone()[0]
        else []
    )
    if len(telemetry) * step_minutes >= 1440 * 0.9:
        return {b: float(kw) for b, kw in telemetry}, f"MQTT telemetry, {LOAD_HISTORY_DAYS} days before"
    return {}, ""


def _load_forecast(
    conn: psycopg.Connection, household: Household, day: date, slots: list[datetime], step_minutes: int
) -> list[float] | None:
    """kW per slot from the newest energy forecast issued by the day's start, minus the shiftable plugs'
    mean at that wall-clock time; None unless every slot is forecast."""
    if not conn.execute("SELECT to_regclass('gold.fact_prediction') IS NOT NULL").fetchone()[0]:
        return None
    low, high = day_bounds(day, household.timezone)
    rows = conn.execute(
        """
        SELECT DISTINCT ON (ts) ts, predicted_value FROM gold.fact_prediction
        WHERE model_key = %s AND apartment_key = %s AND device_key IS NULL AND room_key IS NULL
          AND ts >= %s AND ts < %s AND issued_at <= %s
        ORDER BY ts, issued_at DESC""",
        (ENERGY_FORECAST_MODEL, household.apartment_key, low, high, low),
    ).fetchall()
    quarter = {ts: kwh * 4 for ts, kwh in rows}  # kWh per quarter-hour -> kW
    slot_kw = [quarter.get(_quarter_of(t)) for t in slots]
    if any(kw is None for kw in slot_kw):
        return None
    shiftable = _shiftable_history(conn, household, day, step_minutes)
    return [max(kw - shiftable.get(b, 0.0), 0.0) for kw, b in zip(slot_kw, _wall_bins(slots, step_minutes))]


def _quarter_of(t: datetime) -> datetime:
    utc = t.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


def _shiftable_history(
    conn: psycopg.Connection, household: Household, day: date, step_minutes: int
) -> dict[int, float]:
    """Mean kW of the shiftable devices' plugs per local wall-clock bin over the history days."""
    low = day_bounds(day - timedelta(days=LOAD_HISTORY_DAYS), household.timezone)[0]
    rows = conn.execute(
        """
        SELECT ((extract(hour FROM f.ts AT TIME ZONE %(tz)s) * 60 + extract(minute
            FROM f.ts AT TIME ZONE %(tz)s))::int / %(step)s),
               sum(f.energy_kwh) * 60.0 / count(DISTINCT f.ts)
        FROM gold.fact_energy_minute f JOIN gold.dim_device d USING (device_key)
        WHERE f.apartment_key = %(key)s AND NOT f.is_main_meter AND d.shiftable AND f.ts >= %(low)s
            AND f.ts < %(high)s
        GROUP BY 1""",
        {
            "tz": household.timezone,
            "step": step_minutes,
            "key": household.apartment_key,
            "low": low,
            "high": day_bounds(day, household.timezone)[0],
        },
    ).fetchall()
    return {b: float(kw or 0.0) for b, kw in rows}


def _pv(
    conn: psycopg.Connection, household: Household, day: date, slots: list[datetime], step_minutes: int
) -> tuple[list[float], str]:
    if not household.pv_kwp:
        return [0.0] * len(slots), "no PV installed"
    before, same = conn.execute(
        """SELECT max(issue_day) FILTER (WHERE issue_day < %s), max(issue_day) FROM silver.weather_clean
                                   WHERE site = %s AND measure = 'global_radiation' AND issue_day <= %s""",
        (day, household.weather_site, day),
    ).fetchone()
    issue = before or same
    if issue is None:
        return [], ""
    forecast = conn.execute(
        """SELECT extract(epoch FROM valid_ts), value FROM silver.weather_clean
                               WHERE site = %s AND measure = 'global_radiation' AND issue_day = %s
                                   ORDER BY valid_ts""",
        (household.weather_site, issue),
    ).fetchall()
    hours, values = (
        np.array([float(h) for h, _ in forecast]),
        np.array([max(float(v), 0.0) for _, v in forecast]),
    )
    middles = np.array([t.timestamp() + step_minutes * 30 for t in slots])
    if not len(hours) or middles[0] < hours[0] - 3600 or middles[-1] > hours[-1] + 3600:
        return [], ""
    radiation = np.interp(middles, hours, values)
    ratio = parameter(conn, "pv_performance_ratio", PV_PERFORMANCE_RATIO)
    return (
        [round(float(pv_kw(household.pv_kwp, r, ratio)), 4) for r in radiation],
        f"{household.pv_kwp:g} kWp x radiation forecast of {household.weather_site} issued {issue}",
    )


def _soc_start(conn: psycopg.Connection, household: Household, at: datetime) -> tuple[float | None, str]:
    if not conn.execute("SELECT to_regclass('silver.household_telemetry') IS NOT NULL").fetchone()[0]:
        return None, ""
    row = conn.execute(
        """SELECT value, ts FROM silver.household_telemetry
                          WHERE household = ANY(%s) AND measure = 'battery_soc' AND NOT is_outlier
                              AND ts <= %s AND ts > %s
                          ORDER BY ts DESC LIMIT 1""",
        (household.mqtt_ids, at, at - timedelta(hours=1)),
    ).fetchone()
    return (row[0] / 100, f"reported over MQTT at {row[1]:%Y-%m-%d %H:%M} UTC") if row else (None, "")


def _appliances(
    conn: psycopg.Connection, household: Household, day: date, step_minutes: int
) -> tuple[list[dict], list[str]]:
    tz = zone(household.timezone)
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    out, skipped = [], []
    for name, kind, nominal in conn.execute(
        """SELECT d.name, d.kind, d.nominal_power_w FROM silver.dim_devices d
                                               JOIN silver.dim_rooms r ON r.id = d.room_id
                                               WHERE r.building_id = %s AND d.shiftable ORDER BY d.id""",
        (household.apartment_key,),
    ):
        if kind not in SHAPES or not nominal:
            skipped.append(name)
            continue
        begin, end = (
            midnight + timedelta(hours=int(h), minutes=int(m))
            for h, m in (w.split(":") for w in WINDOWS[kind])
        )
        out.append(
            {
                "name": name,
                "profile_kw": profile_kw(kind, nominal, step_minutes),
                "earliest_start": begin.isoformat(),
                "latest_end": end.isoformat(),
                "start_step_minutes": start_step_minutes(step_minutes),
            }
        )
    return out, skipped


def scenario_for(
    conn: psycopg.Connection, household: Household, day: date, step_minutes: int = 15
) -> ScenarioInputs:
    """The household's scenario of `day`, or None with the reason in the notes."""
    slots = _slots(household, day, step_minutes)
    notes: dict[str, str] = {}
    prices = _prices(conn, household, slots) if household.tariff_code else None
    if prices is None:
        return ScenarioInputs(
            None,
            {"missing": f"tariff {household.tariff_code!r} does not cover every slot of {day}"},
            "tariff",
        )
    load = _load_forecast(conn, household, day, slots, step_minutes)
    if load is not None:
        notes["load"] = "energy forecast (gold.fact_prediction) minus the shiftable plugs' usual draw"
    else:
        history, notes["load"] = _load_history(conn, household, day, step_minutes)
        if not history:
            return ScenarioInputs(
                None,
                {"missing": f"no load history in the {LOAD_HISTORY_DAYS} days before {day}"},
                "load_history",
            )
        known = np.mean(list(history.values()))
        load = [history.get(b, known) for b in _wall_bins(slots, step_minutes)]
    pv, notes["pv"] = _pv(conn, household, day, slots, step_minutes)
    if not pv:
        return ScenarioInputs(
            None,
            {"missing": f"no radiation forecast of {household.weather_site} covering {day}"},
            "pv_forecast",
        )
    feed_in = parameter(conn, "feed_in_chf_kwh", 0.0)
    notes["export_price"] = f"{feed_in:g} CHF/kWh" + ("" if feed_in else " (pidb has no feed_in_chf_kwh)")
    appliances, skipped = _appliances(conn, household, day, step_minutes)
    if skipped:
        notes["appliances_without_profile"] = ", ".join(skipped)
    doc = {
        "start": slots[0].isoformat(),
        "timezone": household.timezone,
        "step_minutes": step_minutes,
        "price_import_chf_kwh": prices,
        "price_export_chf_kwh": [feed_in] * len(slots),
        "load_kw": [round(kw, 4) for kw in load],
        "pv_kw": pv,
        "grid": {"import_kw_max": household.contract_kw, "export_kw_max": household.contract_kw},
        "appliances": appliances,
        "weights": {"cost": 1.0, "self_consumption": 0.0, "export": 0.0},
    }
    if household.battery_kwh:
        p = {name: parameter(conn, name, default) for name, default in BATTERY_DEFAULTS.items()}
        soc, notes["soc_init"] = _soc_start(conn, household, slots[0].astimezone(UTC))
        target = parameter(conn, "battery_soc_target", SOC_TARGET_DEFAULT)
        soc = min(max(soc if soc is not None else target, p["battery_soc_min"]), p["battery_soc_max"])
        notes["soc_init"] = notes["soc_init"] or f"no recent report: {soc:g}"
        power = household.battery_kwh * p["battery_c_rate"]
        doc["battery"] = {
            "capacity_kwh": household.battery_kwh,
            "soc_init": soc,
            "soc_min": p["battery_soc_min"],
            "soc_max": p["battery_soc_max"],
            "soc_final": target,
            "charge_kw_max": power,
            "discharge_kw_max": power,
            "eff_charge": p["battery_efficiency"],
            "eff_discharge": p["battery_efficiency"],
        }
    return ScenarioInputs(doc, notes)
