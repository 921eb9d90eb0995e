"""Gold's schedules: what each household's battery and appliances should do, slot by slot, and why; and
`meta.control_log`, what the controller sent of them. Every statement on these tables is here.

Written by the optimisation asset (Python, not dbt: a solver makes them), read by the controller.
A schedule's id is its household, day and a digest of its content: re-running the day with the
same inputs writes the same id, and a new plan for the day replaces the old one in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import psycopg

from domotic_assets.optimise.baseline import reserve_soc
from domotic_assets.optimise.plan import Plan
from domotic_assets.optimise.scenario import Scenario
from domotic_assets.optimise.schedule import Schedule

DDL = """
CREATE TABLE IF NOT EXISTS gold.schedules (
    schedule_id          text        NOT NULL,
    apartment_key        integer     NOT NULL,
    household            text        NOT NULL,  -- the MQTT household (pidb building id): home/<household>/cmd
    local_day            date        NOT NULL,
    slot                 integer     NOT NULL,
    slot_start           timestamptz NOT NULL,
    slot_end             timestamptz NOT NULL,
    grid_import_kw       double precision NOT NULL,
    grid_export_kw       double precision NOT NULL,
    battery_charge_kw    double precision NOT NULL,
    battery_discharge_kw double precision NOT NULL,
    soc                  double precision NOT NULL,  -- fraction of capacity at the end of the slot
    battery_reserve_soc  double precision,  -- battery by the rule: the state of charge it keeps (null:
                                            -- setpoints)
    pv_used_kw           double precision NOT NULL,
    appliances_kw        jsonb       NOT NULL,       -- appliance -> kW in this slot
    appliance_starts     jsonb       NOT NULL,       -- appliances whose run starts in this slot
    PRIMARY KEY (schedule_id, slot)
);
CREATE INDEX IF NOT EXISTS schedules_due ON gold.schedules (slot_start, slot_end);
CREATE TABLE IF NOT EXISTS gold.schedule_kpis (
    schedule_id           text PRIMARY KEY,
    apartment_key         integer NOT NULL,
    household             text    NOT NULL,
    local_day             date    NOT NULL,
    status                text    NOT NULL,     -- optimal | feasible | relaxed | infeasible
    reason                text,
    has_battery           boolean NOT NULL,
    battery_mode          text,                 -- plan (setpoints sent) | rule (the battery runs the rule) |
                                                -- null
    cost_no_battery_chf   double precision,     -- the same day without a battery, appliances at their
                                                -- earliest start
    cost_rule_based_chf   double precision,     -- PV surplus charges, the battery covers the load, earliest
                                                -- starts
    cost_optimised_chf    double precision,     -- the optimiser's schedule
    cost_sent_chf         double precision,     -- what the controller sends (gold.schedules), on the
                                                -- forecasts
    comparable_rule_based_chf double precision, -- both with the energy left in the battery counted
    comparable_sent_chf   double precision,
    savings_vs_rule_based_pct double precision,
    self_consumption_rate double precision,
    autarky_rate          double precision,
    gap_chf               double precision,
    solve_seconds         double precision,
    inputs                jsonb   NOT NULL,     -- where the forecasts came from
    scenario              jsonb   NOT NULL,     -- the scenario document, to solve again with any tool
    created_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (household, local_day)
);
CREATE TABLE IF NOT EXISTS meta.control_log (
    schedule_id text        NOT NULL,
    slot        integer     NOT NULL,
    target      text        NOT NULL,  -- battery, or an appliance
    household   text        NOT NULL,
    topic       text        NOT NULL,
    payload     jsonb       NOT NULL,
    due_at      timestamptz NOT NULL,  -- the slot's start
    until       timestamptz NOT NULL,  -- the slot's end: a command not sent by then expires
    outcome     text        NOT NULL,  -- sending | acknowledged | expired
    sent_at     timestamptz,
    acked_at    timestamptz,           -- the broker's PUBACK (QoS 1)
    PRIMARY KEY (schedule_id, slot, target)
);
-- warehouses made before 7 December 2026, when the battery's rule became what is sent by default
ALTER TABLE gold.schedules ADD COLUMN IF NOT EXISTS battery_reserve_soc double precision;
ALTER TABLE gold.schedule_kpis ADD COLUMN IF NOT EXISTS battery_mode text;
ALTER TABLE gold.schedule_kpis ADD COLUMN IF NOT EXISTS cost_sent_chf double precision;
DO $$ BEGIN  -- what was sent then was the optimised schedule
    IF EXISTS (SELECT FROM information_schema.columns WHERE table_schema = 'gold' AND table_name =
        'schedule_kpis'
               AND column_name = 'comparable_optimised_chf') THEN
        ALTER TABLE gold.schedule_kpis RENAME COLUMN comparable_optimised_chf TO comparable_sent_chf;
    END IF;
END $$;
"""


@dataclass(frozen=True)
class StoredSchedule:
    schedule_id: str
    household: str
    local_day: date


def schedule_id(household: str, day: date, schedule: Schedule) -> str:
    content = json.dumps(
        [schedule.grid_import_kw, schedule.battery_charge_kw, schedule.battery_discharge_kw, schedule.starts],
        default=str,
        sort_keys=True,
    )
    return f"{household}:{day:%Y%m%d}:{hashlib.sha256(content.encode()).hexdigest()[:10]}"


def replace_schedule(
    conn: psycopg.Connection,
    apartment_key: int,
    household: str,
    day: date,
    scenario: Scenario,
    plan: Plan,
    inputs: dict,
    document: dict,
) -> StoredSchedule:
    """Store what a household's controller will send on the day (`plan.schedule`, with the battery's reserve
    when it runs the rule) and the plan's KPIs, the notes on its inputs and the scenario document, replacing
    any earlier schedule of that day, all or nothing."""
    schedule, b = plan.schedule, scenario.battery
    sid = schedule_id(household, day, schedule)
    reserve = (
        [reserve_soc(b, scenario.slots, scenario.step_hours, t) for t in range(scenario.slots)]
        if b is not None and plan.battery_mode == "rule"
        else [None] * scenario.slots
    )
    kpi_row = {**plan.kpis, "inputs": json.dumps(inputs), "scenario": json.dumps(document)}
    step = timedelta(minutes=scenario.step_minutes)
    starts_at = {}
    for name, k in schedule.starts.items():
        starts_at.setdefault(k, []).append(name)
    rows = [
        (
            sid,
            apartment_key,
            household,
            day,
            t,
            scenario.slot_start(t),
            scenario.slot_start(t) + step,
            schedule.grid_import_kw[t],
            schedule.grid_export_kw[t],
            schedule.battery_charge_kw[t],
            schedule.battery_discharge_kw[t],
            schedule.soc[t],
            reserve[t],
            schedule.pv_used_kw[t],
            json.dumps({n: kw[t] for n, kw in schedule.appliances_kw.items()}),
            json.dumps(starts_at.get(t, [])),
        )
        for t in range(scenario.slots)
    ]
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "SELECT schedule_id FROM gold.schedule_kpis WHERE household = %s AND local_day = %s",
            (household, day),
        )
        for (old,) in cur.fetchall():
            cur.execute("DELETE FROM gold.schedules WHERE schedule_id = %s", (old,))
        cur.execute(
            "DELETE FROM gold.schedule_kpis WHERE household = %s AND local_day = %s", (household, day)
        )
        with cur.copy("""COPY gold.schedules (schedule_id, apartment_key, household, local_day, slot,
                             slot_start, slot_end,
                         grid_import_kw, grid_export_kw, battery_charge_kw, battery_discharge_kw, soc,
                             battery_reserve_soc, pv_used_kw,
                         appliances_kw, appliance_starts) FROM STDIN""") as copy:
            for row in rows:
                copy.write_row(row)
        columns = ["schedule_id", "apartment_key", "household", "local_day", *kpi_row]
        cur.execute(
            f"INSERT INTO gold.schedule_kpis ({', '.join(columns)}) VALUES "
            f"({', '.join(['%s'] * len(columns))})",
            [sid, apartment_key, household, day, *kpi_row.values()],
        )
    return StoredSchedule(sid, household, day)


def slot_rows(conn: psycopg.Connection, now: datetime, ended_since: datetime | None = None) -> list[tuple]:
    """The slots of the current schedules in progress at `now`, or (`ended_since`) those that ended in
    (ended_since, now]: schedule id, household, slot, its start and end, the battery's mode (None without a
    battery; `plan` for schedules made before the modes), charge and discharge kW, the reserve state of
    charge, the appliances starting."""
    condition = (
        "s.slot_end <= %(now)s AND s.slot_end > %(since)s"
        if ended_since is not None
        else "s.slot_start <= %(now)s AND s.slot_end > %(now)s"
    )
    return conn.execute(
        f"""
        SELECT s.schedule_id, s.household, s.slot, s.slot_start, s.slot_end,
               CASE WHEN k.has_battery THEN coalesce(k.battery_mode, 'plan') END,
               s.battery_charge_kw, s.battery_discharge_kw, s.battery_reserve_soc, s.appliance_starts
        FROM gold.schedules s JOIN gold.schedule_kpis k USING (schedule_id)
        WHERE {condition} ORDER BY s.slot_start, s.household""",
        {"now": now, "since": ended_since},
    ).fetchall()


CONTROL_LOG_COLUMNS = "schedule_id, slot, target, household, topic, payload, due_at, until"
"""The columns of a command's `log_values` (`control.commands.Command`)."""


def mark_unconfirmed(conn: psycopg.Connection, now: datetime) -> int:
    """Commands still `sending` whose slot is over become `unconfirmed`; how many."""
    return conn.execute(
        "UPDATE meta.control_log SET outcome = 'unconfirmed' WHERE outcome = 'sending' AND until <= %s",
        (now,),
    ).rowcount


def record_expired(conn: psycopg.Connection, log_values: tuple) -> int:
    """A command whose slot ended before it could be sent, recorded `expired` (1) unless known (0)."""
    return conn.execute(
        f"""INSERT INTO meta.control_log ({CONTROL_LOG_COLUMNS}, outcome)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'expired') ON CONFLICT DO NOTHING""",
        log_values,
    ).rowcount


def record_sending(conn: psycopg.Connection, log_values: tuple) -> bool | None:
    """Record a command as `sending` before it is published: True the first time, False when a `sending`
    one is sent again, None when it was acknowledged (or expired) before and must not be sent."""
    row = conn.execute(
        f"""INSERT INTO meta.control_log ({CONTROL_LOG_COLUMNS}, outcome, sent_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'sending', now())
            ON CONFLICT (schedule_id, slot, target) DO UPDATE SET sent_at = now()
                WHERE control_log.outcome = 'sending'
            RETURNING (xmax = 0)""",
        log_values,
    ).fetchone()
    return None if row is None else row[0]


def mark_acknowledged(conn: psycopg.Connection, keys: list[tuple[str, int, str]]) -> int:
    """The broker has these (schedule id, slot, target) commands: `acknowledged`; how many."""
    return conn.execute(
        """UPDATE meta.control_log SET outcome = 'acknowledged', acked_at = now()
           WHERE outcome = 'sending' AND (schedule_id, slot, target) IN
                 (SELECT * FROM unnest(%s::text[], %s::int[], %s::text[]))""",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]),
    ).rowcount
