"""The API's schedules: optimisation jobs (durable, solved by the server's worker) and stored schedules, read
under the caller's account (`serving/request_context.py`)."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from domotic_assets.optimise.scenario import ScenarioError, read_scenario
from domotic_assets.serving import answers
from domotic_assets.serving.grain import MAX_POINTS
from domotic_assets.serving.request_context import TEXT, ApartmentCode, Reader, invalid, visible_apartment
from domotic_assets.warehouse import api_queries, job_tables

router = APIRouter()


class OptimizeRequest(BaseModel):
    """Either `scenario` (the `domotic optimize` format), or `household` and `day` (then `apply` writes the
    schedule for the controller)."""

    model_config = ConfigDict(extra="forbid")
    scenario: dict[str, Any] | None = None
    household: Annotated[str | None, Field(max_length=64, pattern=TEXT)] = None
    day: date | None = None
    apply: bool = False


@router.post("/api/optimize", status_code=202, tags=["schedules"])
async def optimize(conn: Reader, request: OptimizeRequest) -> dict[str, Any]:
    """Queue an optimisation: a scenario in the `domotic optimize` format, or a household and day to
    build it from the warehouse (written to `gold.schedules`, for the controller to send, only with
    `apply`). Answered at once with the job's id; `GET /api/optimize/{job}` gives its result."""
    scenario, household = request.scenario, request.household
    if (scenario is None) == (household is None):
        raise invalid("body", "give either a scenario or a household and day", "body")
    if scenario is not None:
        try:
            read_scenario(scenario)
        except ScenarioError as exc:
            raise invalid("scenario", str(exc), "body") from None
    elif request.day is None:
        raise invalid("day", "a household's job needs its day", "body")
    if household is not None:
        await visible_apartment(conn, household)
    job_id = await job_tables.submit(conn, scenario, household, request.day, request.apply)
    return {"job": job_id, "status": "queued"}


@router.get("/api/optimize/{job}", tags=["schedules"])
async def optimize_job(conn: Reader, job: UUID) -> dict[str, Any]:
    """A job's state (`queued`, `done` or `failed`), its result (the `domotic optimize` document) or
    error, and the schedule it wrote."""
    found = await job_tables.job(conn, str(job))
    if found is None:
        raise HTTPException(404, f"no job {job}")
    return {"job": str(job), **found}


@router.get("/api/schedules", tags=["schedules"], response_model=answers.Schedules)
async def schedules(
    conn: Reader,
    apartment: ApartmentCode,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to", description="Included")],
) -> Response:
    """The apartment's newest schedule of each local day from `from` to `to`, with what it saves against
    the rule-based strategy (`GET /api/schedule/{id}` gives its slots)."""
    if end < start or (end - start).days > MAX_POINTS:
        raise invalid("to", f"'to' must not come before 'from', at most {MAX_POINTS} days later")
    flat = await visible_apartment(conn, apartment)
    days = await api_queries.schedules(conn, flat.key, start, end)
    return answers.document({"apartment": flat.code}, days=days)


@router.get("/api/schedule/{schedule_id}", tags=["schedules"])
async def schedule(
    conn: Reader, schedule_id: Annotated[str, PathParam(max_length=128, pattern=TEXT)]
) -> dict[str, Any]:
    """A schedule: its KPIs (what is sent, against the rule-based strategy) and its slots."""
    found = await api_queries.schedule(conn, schedule_id)
    if found is None:
        raise HTTPException(404, f"no schedule {schedule_id!r}")
    kpis, slots = found
    return {**kpis, "slots": slots}
