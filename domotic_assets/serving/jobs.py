"""The optimisation jobs' worker inside `domotic serve`: it solves queued jobs one at a time, as the
warehouse's owner (a job built from the warehouse reads Silver and Gold, and an applied one writes
`gold.schedules`), each in the transaction that holds its row (`warehouse/job_tables.py`)."""

from __future__ import annotations

import json
import logging
import threading

import psycopg

from domotic_assets.optimise.model import solve
from domotic_assets.optimise.plan import plan_day
from domotic_assets.optimise.scenario import ScenarioError, read_scenario
from domotic_assets.optimise.schedule import result_document
from domotic_assets.warehouse import job_tables
from domotic_assets.warehouse.connection import connect
from domotic_assets.warehouse.schedule_inputs import battery_follows_plan, households, scenario_for
from domotic_assets.warehouse.schedule_tables import replace_schedule

log = logging.getLogger("domotic.jobs")
TIME_LIMIT = 30.0
"""Seconds a job's solve may take; the best schedule found by then is its answer."""


def solve_job(conn: psycopg.Connection, job: job_tables.Job) -> job_tables.Outcome:
    """A job's answer: the `domotic optimize` result of its scenario (given, or built from the warehouse for
    its household and day), and the schedule written when it asked to apply it. A job that cannot be solved
    fails with its reason; it is never left to be tried again."""
    try:
        if job.scenario is not None:
            document, household = job.scenario, None
        else:
            household = next(
                (h for h in households(conn) if job.household in (h.code, str(h.apartment_key))), None
            )
            if household is None or job.local_day is None:
                return job_tables.Outcome(None, f"no household {job.household!r}")
            inputs = scenario_for(conn, household, job.local_day)
            if inputs.document is None:
                return job_tables.Outcome(None, inputs.notes.get("missing", "no scenario for that day"))
            document = inputs.document
        scenario = read_scenario(document)
        schedule = solve(scenario, time_limit=TIME_LIMIT)
        result = result_document(scenario, schedule)
        if not (job.apply and household is not None):
            return job_tables.Outcome(result)
        plan = plan_day(scenario, battery_follows_plan(conn))
        stored = replace_schedule(
            conn,
            household.apartment_key,
            str(household.apartment_key),
            job.local_day,
            scenario,
            plan,
            {"asked_by": "api"},
            document,
        )
        return job_tables.Outcome(result, schedule_id=stored.schedule_id)
    except ScenarioError as exc:
        return job_tables.Outcome(None, f"scenario: {exc}")
    except (ValueError, KeyError, ArithmeticError) as exc:  # a bad input the checks above missed
        log.warning(json.dumps({"event": "job_failed", "job": job.job_id, "error": repr(exc)[:300]}))
        return job_tables.Outcome(None, f"{type(exc).__name__}: {exc}")


class JobWorker(threading.Thread):
    """Solves queued jobs until `stop` is set; waits `idle` seconds when none is queued, and retries when the
    warehouse is away."""

    def __init__(self, dsn: str, stop: threading.Event, idle: float = 0.2):
        super().__init__(name="optimize-jobs", daemon=True)
        self.dsn, self.stop, self.idle = dsn, stop, idle

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with connect(self.dsn) as conn:
                    while not self.stop.is_set():
                        if job_tables.solve_next(conn, solve_job) is None:
                            self.stop.wait(self.idle)
            except psycopg.OperationalError as exc:
                log.warning(json.dumps({"event": "warehouse_down", "error": str(exc).strip()[:200]}))
                self.stop.wait(2.0)
