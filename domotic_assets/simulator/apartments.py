"""The simulated apartments: rooms, devices, sensors and the people who live there."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Room:
    name: str
    floor: int
    area_m2: float

    @property
    def volume_m3(self) -> float:
        return self.area_m2 * 2.5


@dataclass(frozen=True)
class Device:
    """A plug-metered appliance. `kind` selects its behaviour in `signals`."""

    name: str
    room: str
    kind: str
    nominal_power_w: float
    shiftable: bool


@dataclass(frozen=True)
class Sensor:
    external_id: str
    category: str
    room: str
    model: str
    device: str | None = None
    kind: str | None = None  # doors: door or window


@dataclass(frozen=True)
class Person:
    """`routine` is `office` (leaves on working days), `home_office` or `student`."""

    name: str
    routine: str


@dataclass(frozen=True)
class Apartment:
    code: str
    name: str
    city: str
    weather_site: str
    timezone: str
    naive_timestamps: bool
    """Its gateway writes local wall-clock time without an offset (DST rule applies)."""
    nested_folders: bool
    """Its gateway files into YYYY/MM/DD sub-folders rather than one flat folder."""
    rooms: tuple[Room, ...]
    devices: tuple[Device, ...]
    people: tuple[Person, ...]
    tariff_code: str = "OIKEN-DT"
    pv_kwp: float = 0.0
    battery_kwh: float = 0.0
    sensors: tuple[Sensor, ...] = field(default=())

    def room(self, name: str) -> Room:
        return next(r for r in self.rooms if r.name == name)


def _sensors(prefix: str, devices: tuple[Device, ...]) -> tuple[Sensor, ...]:
    """The ~19 sensors of a reference apartment, ids in the contract's style (P-JIM-01 ...)."""
    out = [
        Sensor(f"P-{prefix}-{i:02d}", "plugs", d.room, "Shelly Plug S", device=d.name)
        for i, d in enumerate(devices, 1)
    ]
    doors = [("Entrance", "door"), ("Living", "window"), ("Bedroom", "window"), ("Kitchen", "window")]
    out += [
        Sensor(f"D-{prefix}-{i:02d}", "doors", room, "Aqara MCCGQ11", kind=kind)
        for i, (room, kind) in enumerate(doors, 1)
    ]
    out += [
        Sensor(f"M-{prefix}-{i:02d}", "motions", room, "Hue Motion")
        for i, room in enumerate(["Living", "Kitchen", "Bedroom", "Entrance"], 1)
    ]
    out += [
        Sensor(f"W-{prefix}-{i:02d}", "meteos", room, "Netatmo Weather Station")
        for i, room in enumerate(["Living", "Bedroom"], 1)
    ]
    out += [
        Sensor(f"H-{prefix}-{i:02d}", "humidities", room, "Aqara WSDCGQ11")
        for i, room in enumerate(["Bathroom", "Kitchen"], 1)
    ]
    out += [Sensor(f"C-{prefix}-01", "consumptions", "Entrance", "Landis+Gyr E450")]
    return tuple(out)


def _apartment(code: str, prefix: str, **kwargs) -> Apartment:
    devices = (
        Device("Fridge", "Kitchen", "fridge", 90, False),
        Device("TV", "Living", "tv", 110, False),
        Device("Coffee machine", "Kitchen", "coffee", 1250, False),
        Device("Washing machine", "Bathroom", "washer", 2100, True),
        Device("Dishwasher", "Kitchen", "dishwasher", 1900, True),
        Device("Computer", "Office", "computer", 140, False),
    )
    rooms = (
        Room("Entrance", 0, 6.5),
        Room("Living", 0, 32.0),
        Room("Kitchen", 0, 12.0),
        Room("Bedroom", 0, 16.0),
        Room("Bathroom", 0, 7.5),
        Room("Office", 0, 10.0),
    )
    apt = Apartment(code=code, rooms=rooms, devices=devices, **kwargs)
    return Apartment(**{**apt.__dict__, "sensors": _sensors(prefix, devices)})


REFERENCE_APARTMENTS: dict[str, Apartment] = {
    "jimmy": _apartment(
        "jimmy",
        "JIM",
        name="Résidence du Rhône 4.2",
        city="Sion",
        weather_site="Sion",
        timezone="Europe/Zurich",
        naive_timestamps=False,
        nested_folders=True,
        people=(Person("a", "office"), Person("b", "home_office")),
        pv_kwp=6.0,
        battery_kwh=10.0,
    ),
    "jeremie": _apartment(
        "jeremie",
        "JER",
        name="Les Vergers 1.1",
        city="Sierre",
        weather_site="Sierre",
        timezone="Europe/Zurich",
        naive_timestamps=True,
        nested_folders=False,
        people=(Person("c", "office"), Person("d", "student"), Person("e", "office")),
    ),
}


def apartments_for(codes: list[str]) -> list[Apartment]:
    """The reference apartments by code; other codes get a generated apartment of the same kind."""
    out = []
    for index, code in enumerate(codes):
        if code in REFERENCE_APARTMENTS:
            out.append(REFERENCE_APARTMENTS[code])
            continue
        prefix = (code.upper() + "XXX")[:3] + f"{index:02d}"
        people = (Person("p1", "office"), Person("p2", ["home_office", "student", "office"][index % 3]))
        out.append(
            _apartment(
                code,
                prefix,
                name=f"Apartment {code}",
                city="Sion",
                weather_site="Sion",
                timezone="Europe/Zurich",
                naive_timestamps=index % 2 == 1,
                nested_folders=index % 2 == 0,
                people=people,
            )
        )
    return out
