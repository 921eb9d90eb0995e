"""`/metrics` of `domotic serve`, in Prometheus' text format: what the warehouse says about the platform
(`warehouse.platform_metrics`: freshness per apartment and household, quarantine, the optimize queue,
batteries at a limit, the last backup and archive), the Dagster instance's failed runs, and the API's own
requests and latencies. `deploy/prometheus/alerts.yml` alerts on them.

With `DOMOTIC_METRICS_PASSWORD` set (environment or secrets file), a scrape must carry it as its bearer
token (Prometheus: `authorization: {credentials_file: ...}`); without it, the metrics are open to whoever
reaches the port (`domotic serve` listens on 127.0.0.1 by default)."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable, Iterable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from domotic_assets.warehouse import platform_metrics

router = APIRouter(include_in_schema=False)

WAREHOUSE_HELP = {
    "silence_limit_seconds": "How long a household may stay silent (pidb telemetry_silence_minutes)",
    "silver_last_minute_age_seconds": "Age of the newest minute loaded into Silver, per apartment",
    "telemetry_last_reading_age_seconds": "Age of the newest telemetry reading, per household",
    "battery_soc_percent": "The battery's newest state of charge, per household",
    "battery_at_soc_limit_seconds": "How long the battery has been held at a state-of-charge limit",
    "gold_last_minute_age_seconds": "Age of the newest Gold energy minute, per apartment",
    "quarantined": "Files and messages in quarantine, by source and reason",
    "optimize_queue_length": "Optimisation jobs waiting for a solver",
    "operation_last_failed": "1 when the newest finished backup or archive failed",
    "operation_last_success_timestamp_seconds": "When the newest successful backup or archive finished",
}


class ApiMetrics:
    """The API's requests and latencies, by route template (never the path asked: no unbounded labels)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "domotic_api_requests", "Requests answered", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "domotic_api_request_seconds",
            "From a request's arrival to its answer's start",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )


class CountRequests:
    """ASGI middleware counting every HTTP request into `ApiMetrics` (pure ASGI: no body buffering, little
    cost per request)."""

    def __init__(self, app, metrics: ApiMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        began = time.perf_counter()
        status = 500

        async def sending(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self.metrics.latency.labels(_route(scope)).observe(time.perf_counter() - began)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.requests.labels(_route(scope), scope["method"], str(status)).inc()


def _route(scope) -> str:
    return getattr(scope.get("route"), "path", "unmatched")


class _Snapshot(Collector):
    def __init__(self, families: Iterable[GaugeMetricFamily]):
        self.families = list(families)

    def collect(self):
        return self.families


def families(
    rows: list[tuple[str, dict[str, str], float]], failed_runs: int | None
) -> list[GaugeMetricFamily]:
    """The warehouse's rows as Prometheus gauges (one family per metric, its labels from the rows)."""
    found: dict[str, GaugeMetricFamily] = {}
    for metric, labels, value in rows:
        if metric not in found:
            found[metric] = GaugeMetricFamily(
                f"domotic_{metric}", WAREHOUSE_HELP.get(metric, metric), labels=sorted(labels)
            )
        found[metric].add_metric([labels[name] for name in sorted(labels)], value)
    if failed_runs is not None:
        runs = GaugeMetricFamily("domotic_dagster_failed_runs", "Runs of the Dagster instance that failed")
        runs.add_metric([], failed_runs)
        found["dagster_failed_runs"] = runs
    return list(found.values())


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    state = request.app.state
    expected = state.metrics_password
    if expected:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
            return Response("a valid token is required", 401, {"WWW-Authenticate": "Bearer"})
    async with state.pool.connection() as conn:
        rows = await platform_metrics.read(conn)
    failed: Callable[[], int | None] | None = state.failed_runs
    failed_runs = await asyncio.to_thread(failed) if failed else None
    snapshot = CollectorRegistry()
    snapshot.register(_Snapshot(families(rows, failed_runs)))
    body = generate_latest(snapshot) + generate_latest(state.api_metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
