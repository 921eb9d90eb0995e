"""The HTTP API (FastAPI): every answer is read as the API's role under the caller's account, so PostgreSQL's
row-level security decides what it holds (docs/access.md).

* `Authorization: Bearer TOKEN` on every `/api` route; none, an unknown, expired or revoked token: 401.
  Too many failed attempts from one address: 429 for a minute (`serving/request_context.py`).
* An apartment or a schedule the account may not see is answered 404, like one that does not exist.
* Bad parameters: 422 naming the field; times are ISO 8601 with their UTC offset, and answers give them in
  the apartment's time zone.
* OpenAPI at `/openapi.json`, its pages at `/docs`, served from the installed swagger-ui bundle (no CDN).
* The routes: the series (`serving/series_routes.py`) and the schedules (`serving/schedule_routes.py`);
  `/metrics` for Prometheus (`serving/metrics.py`).
"""

import threading
from collections.abc import Callable
from contextlib import asynccontextmanager

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from psycopg_pool import AsyncConnectionPool

from domotic_assets.dashboards import pages
from domotic_assets.serving import metrics, schedule_routes, series_routes
from domotic_assets.serving.grain import AUTOMATIC
from domotic_assets.serving.jobs import TIME_LIMIT, JobWorker
from domotic_assets.serving.request_context import Failures

ERRORS = {
    401: {"description": "No valid token (none, unknown, expired or revoked)"},
    404: {"description": "No such apartment, room, device or schedule, or one the account may not see"},
    429: {"description": "Too many failed attempts from this address: try again in a minute"},
}


def create_app(
    dsn: str,
    pool_size: int = 8,
    jobs_dsn: str | None = None,
    metrics_password: str | None = None,
    failed_runs: Callable[[], int | None] | None = None,
) -> FastAPI:
    """The API over the warehouse of `dsn`, which connects as the API's role (never a table owner); with
    `jobs_dsn` (the warehouse's owner), it also solves the optimisation jobs it accepts. `/metrics` asks
    for `metrics_password` as its bearer token when one is given, and reports `failed_runs()` (the Dagster
    instance's) when given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await app.state.pool.open(wait=True, timeout=30)
        stop = threading.Event()
        worker = JobWorker(jobs_dsn, stop) if jobs_dsn else None
        if worker:
            worker.start()
        yield
        stop.set()
        if worker:
            worker.join(timeout=TIME_LIMIT + 5)
        await app.state.pool.close()

    app = FastAPI(
        title="Domotic API",
        version="1",
        summary="Energy, environment, presence, forecasts and schedules of smart apartments.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses=ERRORS,
    )
    app.state.pool = AsyncConnectionPool(
        dsn, min_size=pool_size, max_size=pool_size, open=False, kwargs={"autocommit": False}
    )
    app.state.failures = Failures()
    app.state.grains = AUTOMATIC  # the pages zoom by the API's own grain rule
    app.state.api_metrics = metrics.ApiMetrics()
    app.state.metrics_password = metrics_password
    app.state.failed_runs = failed_runs
    app.add_middleware(metrics.CountRequests, metrics=app.state.api_metrics)
    app.include_router(metrics.router)
    app.include_router(series_routes.router)
    app.include_router(pages.router)
    app.include_router(schedule_routes.router)
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Domotic API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    return app
