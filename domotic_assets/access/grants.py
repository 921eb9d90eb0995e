"""Who sees what, from pidb's `occupancy_roles` (pure): each login's grants, per apartment, scope and days.

* A renter sees their apartment's rows whose time lies inside their tenancy: scope `all` (energy, cost,
  environment, device health, forecasts, schedules, anomalies) and `presence` (the presence minutes and
  predictions), from `valid_from` to `valid_to` (exclusive; open when null).
* An owner sees `all` of the apartments they own while they own them, and `presence` only for the days
  of their ownership that no renter's tenancy covers: presence is the occupant's personal data.
* Days are the apartment's local days; the warehouse turns them into instants in its time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ROLES = ("owner", "renter")
SCOPES = ("all", "presence")


@dataclass(frozen=True)
class Role:
    """A row of pidb `occupancy_roles`."""

    building_id: int
    role: str
    login: str
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True)
class Grant:
    login: str
    apartment_key: int
    scope: str
    day_from: date
    day_to: date | None
    """Exclusive; None: open."""


Span = tuple[date, date | None]


def _minus(span: Span, holes: list[Span]) -> list[Span]:
    """The parts of `span` outside every hole (spans are [from, to), None is open)."""
    parts = [span]
    for hole_from, hole_to in holes:
        kept: list[Span] = []
        for start, end in parts:
            if hole_to is not None and hole_to <= start or end is not None and end <= hole_from:
                kept.append((start, end))
                continue
            if start < hole_from:
                kept.append((start, hole_from))
            if hole_to is not None and (end is None or hole_to < end):
                kept.append((hole_to, end))
        parts = kept
    return parts


def grants(roles: list[Role]) -> list[Grant]:
    """Every login's grants; a role with an unknown name or an empty span gives none."""
    out = []
    tenancies: dict[int, list[Span]] = {}
    for r in roles:
        if r.role == "renter" and (r.valid_to is None or r.valid_from < r.valid_to):
            tenancies.setdefault(r.building_id, []).append((r.valid_from, r.valid_to))
    for r in roles:
        if r.role not in ROLES or (r.valid_to is not None and r.valid_to <= r.valid_from):
            continue
        span = (r.valid_from, r.valid_to)
        out.append(Grant(r.login, r.building_id, "all", *span))
        personal = [span] if r.role == "renter" else _minus(span, tenancies.get(r.building_id, []))
        out += [Grant(r.login, r.building_id, "presence", *part) for part in personal]
    return out
