"""The scenario format: one household's day (or any horizon) as a JSON document any tool can solve.

```json
{"start": "2023-08-18T00:00:00+02:00", "timezone": "Europe/Zurich", "step_minutes": 15,
 "price_import_chf_kwh": [0.248, ...], "price_export_chf_kwh": [0.09, ...],
 "load_kw": [0.31, ...], "pv_kw": [0.0, ...],
 "battery": {"capacity_kwh": 10, "soc_init": 0.5, "soc_min": 0.1, "soc_max": 0.95, "soc_final": 0.5,
             "charge_kw_max": 5, "discharge_kw_max": 5, "eff_charge": 0.95, "eff_discharge": 0.95},
 "grid": {"import_kw_max": 13, "export_kw_max": 8},
 "appliances": [{"name": "Washing machine", "profile_kw": [2.0, 2.0, 0.4, 0.4, 0.6, 0.2],
                 "earliest_start": "2023-08-18T07:00:00+02:00", "latest_end": "2023-08-18T22:00:00+02:00"},
                {"name": "Boiler", "energy_kwh": 3.0, "power_kw": 2.0, "min_power_kw": 0.5,
                 "earliest_start": 0, "latest_end": 96}],
 "weights": {"cost": 1, "self_consumption": 0, "export": 0}}
```

* The horizon is the length of the series (all the same length): 96 quarter-hours, 92 or 100 on
  daylight-saving days, 288 five-minute slots, anything.
* State of charge is a fraction of capacity; `soc_final` is the least state at the horizon's end.
  `battery` may be omitted (no battery). Power in kW, energy in kWh, prices in CHF/kWh.
  Two optional battery prices change the objective: `wear_chf_kwh` (default 0) is charged on every
  kWh taken out of the battery, so it is not cycled for less than its wear; `end_value_chf_kwh`
  (default 0) is credited on every kWh stored at the horizon's end, so ending above `soc_final`
  can pay. With both at 0 the answer is the cheapest schedule that meets every constraint.
* An appliance with `profile_kw` runs once, without interruption, `profile_kw[i]` kW in the i-th
  slot of its run; `start_step_minutes` (optional, default: every slot) lets a run start only every
  so many minutes from the horizon's start, e.g. on the quarter-hour in a 5-minute scenario.
  An appliance with `energy_kwh` instead may pause and resume: it takes `energy_kwh` in all, at most
  `power_kw` in a slot and, in a slot where it is on, at least `min_power_kw` (default 0: any power;
  equal to `power_kw`: on at full power or off). Both kinds keep to `earliest_start` and
  `latest_end` (exclusive), ISO times or slot numbers.
* `timezone` (optional) only decides how slot times are written out.
* Weights: `cost` on import cost minus export revenue (CHF), `self_consumption` on every kWh
  bought (CHF per kWh, for autarky), `export` on export revenue on top of its share in cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

SERIES = ("price_import_chf_kwh", "price_export_chf_kwh", "load_kw", "pv_kw")


class ScenarioError(ValueError):
    """A scenario document that cannot be read (not an infeasible one: that is a result)."""


@dataclass(frozen=True)
class Battery:
    capacity_kwh: float
    soc_init: float
    soc_min: float
    soc_max: float
    soc_final: float
    charge_kw_max: float
    discharge_kw_max: float
    eff_charge: float = 0.95
    eff_discharge: float = 0.95
    wear_chf_kwh: float = 0.0
    """Cost of every kWh taken out of the battery."""
    end_value_chf_kwh: float = 0.0
    """Credit for every kWh stored at the horizon's end."""


@dataclass(frozen=True)
class Appliance:
    name: str
    profile_kw: tuple[float, ...]
    earliest_start: int
    """First slot a run may start in."""
    latest_end: int
    """The run must be over before this slot."""
    start_every: int = 1
    """A run may start only in slots that are a multiple of this."""

    @property
    def run_slots(self) -> int:
        return len(self.profile_kw)

    def may_start(self, k: int) -> bool:
        return k % self.start_every == 0


@dataclass(frozen=True)
class PausableAppliance:
    """An appliance that may pause and resume: `energy_kwh` in all inside its window, at most
    `power_kw` in a slot, at least `min_power_kw` in a slot where it is on."""

    name: str
    energy_kwh: float
    power_kw: float
    min_power_kw: float
    earliest_start: int
    latest_end: int


@dataclass(frozen=True)
class Scenario:
    start: datetime
    step_minutes: float
    price_import: tuple[float, ...]
    price_export: tuple[float, ...]
    load_kw: tuple[float, ...]
    pv_kw: tuple[float, ...]
    battery: Battery | None
    import_kw_max: float
    export_kw_max: float
    appliances: tuple[Appliance, ...] = ()
    pausable: tuple[PausableAppliance, ...] = ()
    weights: dict[str, float] = field(
        default_factory=lambda: {"cost": 1.0, "self_consumption": 0.0, "export": 0.0}
    )
    timezone: str | None = None

    @property
    def slots(self) -> int:
        return len(self.load_kw)

    @property
    def step_hours(self) -> float:
        return self.step_minutes / 60

    def slot_start(self, t: int) -> datetime:
        instant = self.start + timedelta(minutes=self.step_minutes * t)
        return instant.astimezone(ZoneInfo(self.timezone)) if self.timezone else instant

    def slot_of(self, value: object, name: str) -> int:
        """A slot number from a slot number or an ISO time (rounded up to the next slot start)."""
        if isinstance(value, bool) or value is None:
            raise ScenarioError(f"{name}: a slot number or an ISO time, not {value!r}")
        if isinstance(value, (int, float)):
            return int(value)
        try:
            when = datetime.fromisoformat(str(value))
        except ValueError:
            raise ScenarioError(f"{name}: {value!r} is not an ISO time") from None
        if when.tzinfo is None:
            raise ScenarioError(f"{name}: {value!r} has no UTC offset")
        minutes = (when - self.start).total_seconds() / 60
        return int(-(-minutes // self.step_minutes))


def _number(doc: dict, key: str, where: str, default: float | None = None) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"{where}.{key}: a number is required, got {value!r}")
    return float(value)


def read_scenario(doc: dict) -> Scenario:
    """Validate a scenario document (see the module docstring) into a Scenario."""
    if not isinstance(doc, dict):
        raise ScenarioError("a scenario is a JSON object")
    try:
        start = datetime.fromisoformat(str(doc["start"]))
    except (KeyError, ValueError):
        raise ScenarioError(f"start: an ISO time with offset is required, got {doc.get('start')!r}") from None
    if start.tzinfo is None:
        raise ScenarioError("start: the time needs its UTC offset (e.g. +02:00)")
    series = {}
    for key in SERIES:
        values = doc.get(key)
        if (
            not isinstance(values, list)
            or not values
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values)
        ):
            raise ScenarioError(f"{key}: a non-empty list of numbers is required")
        series[key] = tuple(float(v) for v in values)
    lengths = {len(v) for v in series.values()}
    if len(lengths) != 1:
        raise ScenarioError(
            f"the series differ in length: {', '.join(f'{k}={len(v)}' for k, v in series.items())}"
        )
    battery = None
    if doc.get("battery"):
        b = doc["battery"]
        defaults = {"eff_charge": 0.95, "eff_discharge": 0.95, "wear_chf_kwh": 0.0, "end_value_chf_kwh": 0.0}
        battery = Battery(
            **{k: _number(b, k, "battery", defaults.get(k)) for k in Battery.__dataclass_fields__}
        )
        if not 0 < battery.eff_charge <= 1 or not 0 < battery.eff_discharge <= 1:
            raise ScenarioError("battery: efficiencies are fractions in (0, 1]")
        if battery.wear_chf_kwh < 0:
            raise ScenarioError("battery.wear_chf_kwh: a cost, never negative")
    grid = doc.get("grid") or {}
    scenario = Scenario(
        start=start,
        step_minutes=_number(doc, "step_minutes", "scenario", 15),
        price_import=series["price_import_chf_kwh"],
        price_export=series["price_export_chf_kwh"],
        load_kw=series["load_kw"],
        pv_kw=series["pv_kw"],
        battery=battery,
        import_kw_max=_number(grid, "import_kw_max", "grid", 1e6),
        export_kw_max=_number(grid, "export_kw_max", "grid", 1e6),
        weights={
            "cost": 1.0,
            "self_consumption": 0.0,
            "export": 0.0,
            **{k: float(v) for k, v in (doc.get("weights") or {}).items()},
        },
        timezone=doc.get("timezone"),
    )
    appliances: list[Appliance] = []
    pausable: list[PausableAppliance] = []
    for i, a in enumerate(doc.get("appliances") or []):
        name = a.get("name") or f"appliance_{i + 1}"
        window = (
            scenario.slot_of(a.get("earliest_start", 0), f"appliance {name!r} earliest_start"),
            scenario.slot_of(a.get("latest_end", scenario.slots), f"appliance {name!r} latest_end"),
        )
        if "energy_kwh" in a:
            pausable.append(_pausable(a, name, window))
            continue
        profile = a.get("profile_kw")
        if not isinstance(profile, list) or not profile:
            raise ScenarioError(f"appliance {name!r}: profile_kw must be a non-empty list of kW")
        every = a.get("start_step_minutes", scenario.step_minutes) / scenario.step_minutes
        if every < 1 or abs(every - round(every)) > 1e-9:
            raise ScenarioError(f"appliance {name!r}: start_step_minutes must be a multiple of step_minutes")
        appliances.append(Appliance(name, tuple(float(p) for p in profile), *window, round(every)))
    names = [a.name for a in appliances] + [d.name for d in pausable]
    if len(set(names)) != len(names):
        raise ScenarioError("appliance names must be unique")
    return Scenario(**{**scenario.__dict__, "appliances": tuple(appliances), "pausable": tuple(pausable)})


def _pausable(doc: dict, name: str, window: tuple[int, int]) -> PausableAppliance:
    where = f"appliance {name!r}"
    energy, power = _number(doc, "energy_kwh", where), _number(doc, "power_kw", where)
    least = _number(doc, "min_power_kw", where, 0.0)
    if energy < 0 or power <= 0 or not 0 <= least <= power:
        raise ScenarioError(
            f"{where}: energy_kwh >= 0, power_kw > 0 and 0 <= min_power_kw <= power_kw are required"
        )
    return PausableAppliance(name, energy, power, least, *window)
