"""Optimisation jobs asked through the API (`meta.optimize_jobs`), and every statement on them.

A job is a row: accepted when it is inserted, so it survives a restart of the server. A worker solves it
inside the transaction that holds the row (`FOR UPDATE SKIP LOCKED`) and writes its result in the same
transaction: a worker killed mid-solve leaves the job queued for the next one, and no job is ever
completed twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import psycopg

DDL = """
CREATE TABLE IF NOT EXISTS meta.optimize_jobs (
    job_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    login       text        NOT NULL,           -- the account that asked
    scenario    jsonb,                          -- the scenario given, or null: built from the warehouse
    household   text,                           -- ... for this household and day
    local_day   date,
    apply       boolean     NOT NULL DEFAULT false,  -- write gold.schedules (the controller then sends it)
    status      text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'done', 'failed')),
    result      jsonb,
    error       text,
    schedule_id text,                           -- the schedule written, when applied
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS optimize_jobs_queued ON meta.optimize_jobs (created_at) WHERE status = 'queued';

-- the API's role asks and reads through these two only: a job is the asking account's (or an admin's)
CREATE OR REPLACE FUNCTION meta.submit_optimize_job(jsonb, text, date, boolean) RETURNS uuid
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO meta.optimize_jobs (login, scenario, household, local_day, apply)
    SELECT meta.current_account(), $1, $2, $3, $4 WHERE meta.current_account() IS NOT NULL
    RETURNING job_id
$$;
CREATE OR REPLACE FUNCTION meta.optimize_job(uuid)
RETURNS TABLE (status text, result jsonb, error text, schedule_id text, created_at timestamptz,
               finished_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT status, result, error, schedule_id, created_at, finished_at FROM meta.optimize_jobs
    WHERE job_id = $1 AND (login = meta.current_account() OR meta.is_admin())
$$;
REVOKE EXECUTE ON FUNCTION meta.submit_optimize_job(jsonb, text, date, boolean), meta.optimize_job(uuid)
    FROM PUBLIC;
"""
"""The API's role is granted the two functions with the roles (`access_tables.ROLES_DDL`)."""


@dataclass(frozen=True)
class Job:
    job_id: str
    login: str
    scenario: dict | None
    household: str | None
    local_day: date | None
    apply: bool


@dataclass(frozen=True)
class Outcome:
    result: dict | None
    error: str | None = None
    schedule_id: str | None = None


async def submit(
    conn: psycopg.AsyncConnection, scenario: dict | None, household: str | None, day: date | None, apply: bool
) -> str | None:
    """Queue a job for the connection's account (an API connection); its id, or None without an account."""
    cursor = await conn.execute(
        "SELECT meta.submit_optimize_job(%s, %s, %s, %s)",
        (json.dumps(scenario) if scenario is not None else None, household, day, apply),
    )
    row = await cursor.fetchone()
    return str(row[0]) if row and row[0] else None


async def job(conn: psycopg.AsyncConnection, job_id: str) -> dict | None:
    """The job's state, if it is the account's."""
    async with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        await cur.execute("SELECT * FROM meta.optimize_job(%s)", (job_id,))
        return await cur.fetchone()


def solve_next(conn: psycopg.Connection, solve: Callable[[psycopg.Connection, Job], Outcome]) -> str | None:
    """Take the oldest queued job no other worker holds, solve it and record its outcome, all in one
    transaction; the job's id, or None when none is waiting. `solve` may write (a schedule) on `conn`."""
    with conn.transaction():
        row = conn.execute(
            """SELECT job_id::text, login, scenario, household, local_day, apply FROM meta.optimize_jobs
               WHERE status = 'queued' ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED"""
        ).fetchone()
        if row is None:
            return None
        found = Job(*row)
        outcome = solve(conn, found)
        conn.execute(
            """UPDATE meta.optimize_jobs SET status = %s, result = %s, error = %s, schedule_id = %s,
                   finished_at = clock_timestamp()
               WHERE job_id = %s""",
            (
                "failed" if outcome.error else "done",
                json.dumps(outcome.result) if outcome.result is not None else None,
                outcome.error,
                outcome.schedule_id,
                found.job_id,
            ),
        )
    return found.job_id
