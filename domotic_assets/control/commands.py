"""The commands of one schedule slot (pure): what `home/<household>/cmd` receives (shared/contracts/mqtt.md).

The battery gets a command every slot: by default `self_consumption`, its own real-time rule (PV surplus in,
the home's load covered) with `setpoint` the state of charge in % it keeps in reserve for the day's end;
where a building asks the battery to follow the plan (`battery_mode` plan), charge or discharge at a
setpoint in kW, or idle. An appliance gets `start` in the slot its run begins. Each command names its
schedule and slot, so a
device can ignore one it was sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

IDLE_BELOW_KW = 0.001


@dataclass(frozen=True)
class Command:
    schedule_id: str
    slot: int
    target: str
    household: str
    due_at: datetime
    until: datetime
    action: str
    setpoint: float | None

    @property
    def topic(self) -> str:
        return f"home/{self.household}/cmd"

    @property
    def payload(self) -> bytes:
        return orjson.dumps(
            {
                "ts": self.due_at.isoformat(),
                "target": self.target,
                "action": self.action,
                "setpoint": self.setpoint,
                "schedule_id": self.schedule_id,
                "slot": self.slot,
                "valid_until": self.until.isoformat(),
            }
        )

    @property
    def log_values(self) -> tuple:
        """The command's columns of `meta.control_log`: schedule_id, slot, target, household, topic, payload,
        due_at, until."""
        return (
            self.schedule_id,
            self.slot,
            self.target,
            self.household,
            self.topic,
            self.payload.decode(),
            self.due_at,
            self.until,
        )


def slot_commands(
    schedule_id: str,
    household: str,
    slot: int,
    due_at: datetime,
    until: datetime,
    battery_mode: str | None,
    charge_kw: float,
    discharge_kw: float,
    reserve_soc: float | None,
    appliance_starts: list[str],
) -> list[Command]:
    """The slot's commands; `battery_mode` None: no battery."""
    commands = []
    if battery_mode == "rule":
        commands.append(
            Command(
                schedule_id,
                slot,
                "battery",
                household,
                due_at,
                until,
                "self_consumption",
                round(100 * reserve_soc, 1),
            )
        )
    elif battery_mode == "plan":
        if charge_kw > IDLE_BELOW_KW:
            action, setpoint = "charge", round(charge_kw, 3)
        elif discharge_kw > IDLE_BELOW_KW:
            action, setpoint = "discharge", round(discharge_kw, 3)
        else:
            action, setpoint = "idle", 0.0
        commands.append(Command(schedule_id, slot, "battery", household, due_at, until, action, setpoint))
    commands += [
        Command(schedule_id, slot, name, household, due_at, until, "start", None) for name in appliance_starts
    ]
    return commands
