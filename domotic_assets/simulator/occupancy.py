"""Who is in which room, minute by minute: daily routines of the people of an apartment.

Routines differ by person (office worker, home office, student), by working day and weekend,
with random variation per day; the result drives every sensor signal and is the ground truth
for presence models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domotic_assets.simulator.apartments import Apartment, Person

AWAY = -1


@dataclass
class DayOccupancy:
    """Arrays over the minutes of one local day (index = minute since local midnight)."""

    location: np.ndarray  # (people, minutes) room index or AWAY
    asleep: np.ndarray  # (people, minutes) bool
    rooms: list[str]

    def people_in(self, room: str) -> np.ndarray:
        idx = self.rooms.index(room)
        return (self.location == idx).sum(axis=0)

    def awake_in(self, room: str) -> np.ndarray:
        idx = self.rooms.index(room)
        return ((self.location == idx) & ~self.asleep).sum(axis=0)

    def anyone_home(self) -> np.ndarray:
        return (self.location != AWAY).any(axis=0)

    def transitions_out_in(self) -> np.ndarray:
        """Minutes when someone leaves or comes home (the entrance door opens)."""
        home = self.location != AWAY
        change = np.zeros(home.shape[1], dtype=bool)
        change[1:] = (home[:, 1:] != home[:, :-1]).any(axis=0)
        return change


def _minute(rng: np.random.Generator, hour: float, spread_min: float) -> int:
    return int(np.clip(hour * 60 + rng.normal(0, spread_min), 0, 1439))


def _person_day(
    person: Person, rooms: list[str], working_day: bool, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lay out one person's day as room segments over `n` local minutes."""
    r = {name: i for i, name in enumerate(rooms)}
    loc = np.full(n, r["Living"], dtype=np.int16)
    asleep = np.zeros(n, dtype=bool)
    wake = _minute(rng, 6.7 if working_day else 8.3, 20)
    sleep = _minute(rng, 22.9 if working_day else 23.6, 30)
    loc[:wake] = r["Bedroom"]
    asleep[:wake] = True
    loc[sleep:] = r["Bedroom"]
    asleep[sleep:] = True
    shower = wake + int(rng.integers(3, 15))
    loc[wake:shower] = r["Bedroom"]
    loc[shower : shower + 15] = r["Bathroom"]
    loc[shower + 15 : shower + 35] = r["Kitchen"]
    day_start = shower + 35
    if working_day and person.routine in ("office", "student"):
        leave = max(day_start, _minute(rng, 7.8 if person.routine == "office" else 8.4, 15))
        back = _minute(rng, 17.8 if person.routine == "office" else 16.5, 45)
        loc[day_start:leave] = r["Living"]
        loc[leave:back] = AWAY
        day_start = back
    elif working_day:  # home office
        loc[day_start : 12 * 60] = r["Office"]
        loc[12 * 60 : 13 * 60] = r["Kitchen"]
        loc[13 * 60 : 17 * 60 + 30] = r["Office"]
        day_start = 17 * 60 + 30
    else:
        if rng.random() < 0.7:  # an outing
            out = _minute(rng, 10.5 if rng.random() < 0.5 else 14.0, 40)
            loc[out : out + int(rng.integers(90, 300))] = AWAY
    dinner = max(day_start, _minute(rng, 18.7, 20))
    evening = np.arange(day_start, sleep)
    loc[evening] = np.where(loc[evening] == AWAY, AWAY, r["Living"])
    loc[dinner : dinner + 45] = r["Kitchen"]
    for _ in range(int(rng.integers(2, 5))):  # short bathroom visits while awake and home
        t = int(rng.integers(wake, max(wake + 1, sleep - 10)))
        if loc[t] != AWAY and not asleep[t]:
            loc[t : t + int(rng.integers(3, 9))] = r["Bathroom"]
    if rng.random() < 0.15:  # a night-time bathroom visit
        t = int(rng.integers(60, 300))
        loc[t : t + 5] = r["Bathroom"]
        asleep[t : t + 5] = False
    return loc, asleep


def simulate_day(
    apartment: Apartment, working_day: bool, rng: np.random.Generator, n_minutes: int
) -> DayOccupancy:
    rooms = [room.name for room in apartment.rooms]
    locs, sleeps = zip(*(_person_day(p, rooms, working_day, rng, n_minutes) for p in apartment.people))
    return DayOccupancy(location=np.vstack(locs), asleep=np.vstack(sleeps), rooms=rooms)
