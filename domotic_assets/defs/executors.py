"""Where steps run: in the run's own process, or spread over Celery workers on RabbitMQ.

Live runs (new sensor files, weather, telemetry, pidb changes, repricing, day plans, the archive) always
run in their own process: their few small steps start in a second there, where a worker would spend
seconds loading the code. Everything else (a backfill from the UI, `domotic run`, ML training) takes the
executor of the settings: `DOMOTIC_EXECUTOR=celery` sends each step to a worker (`domotic worker`).

The Celery app is Dagster's own (dagster-celery), with three settings of ours: a step's message is
acknowledged when the step ends, and given back to the queue when its worker dies, so a worker killed in
the middle of a step leaves the step to another worker (each step rewrites its days whole, so running one
again is safe); a worker takes one message at a time, so a long step never holds a second one back.
The broker's password comes from the secrets (`DOMOTIC_CELERY_PASSWORD`) when the app is made, never
from the executor's configuration, which the UI shows.
"""

from __future__ import annotations

import multiprocessing
from urllib.parse import quote, urlsplit, urlunsplit

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
from dagster._core.execution.retries import RetryMode, get_retries_config

from domotic_assets.settings import Settings, source_secrets

DEFINITIONS_MODULE = "domotic_assets.definitions"
APP_SETTINGS = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "broker_connection_retry_on_startup": True,
}


def broker_url(settings: Settings) -> str:
    """The broker's URL with its password from the secrets: handed to Celery only (which masks it in its
    own output), never logged or configured."""
    password = source_secrets("CELERY").get("password")
    if not password:
        return settings.celery_broker
    parts = urlsplit(settings.celery_broker)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    user = quote(parts.username or "guest", safe="")
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def live_asset_job(name: str, **job) -> dg.UnresolvedAssetJobDefinition:
    """A job a sensor or a schedule starts for live data: its steps always run in the run's own process."""
    return dg.define_asset_job(name, executor_def=dg.in_process_executor, **job)


def celery_executor(settings: Settings, retries: RetryMode):
    """dagster-celery's executor on the settings' broker, made when a run starts (in the run's process)."""
    from dagster_celery.executor import CeleryExecutor

    return CeleryExecutor(
        retries=retries, broker=broker_url(settings), backend="rpc://", config_source=APP_SETTINGS
    )


def spreading_executor(settings: Settings) -> dg.ExecutorDefinition:
    """The executor of backfills, UI materializations and ML training on these settings."""
    if settings.executor == "in_process":
        return dg.in_process_executor

    @dg.executor(
        name="celery",
        config_schema={"retries": get_retries_config()},
        requirements=dg.multiple_process_executor_requirements(),
    )
    def domotic_celery_executor(init_context):
        """Each step on a Celery worker (`domotic worker`), through the settings' RabbitMQ."""
        return celery_executor(settings, RetryMode.from_config(init_context.executor_config["retries"]))

    return domotic_celery_executor


def reconstructable_asset_job() -> ReconstructableJob:
    """The definitions' asset job as a worker loads it again (from this module, with the environment's
    settings): what a run whose steps run elsewhere must be made from."""
    return ReconstructableRepository.for_module(DEFINITIONS_MODULE, "defs").get_reconstructable_job(
        "__ASSET_JOB"
    )


def _steps_may_start_processes(**_kwargs) -> None:
    """Celery's pool makes its processes daemonic, and Python forbids a daemonic process to start processes
    of its own; a step does (the Silver load transforms files in a process pool, and waits for it)."""
    multiprocessing.current_process().daemon = False


def run_worker(settings: Settings, queue: str, concurrency: int, name: str) -> None:
    """A Celery worker taking the steps of `queue` until stopped (SIGTERM finishes the current steps)."""
    from celery.signals import worker_process_init
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    worker_process_init.connect(_steps_may_start_processes, weak=False)
    app = make_app(celery_executor(settings, RetryMode.DISABLED).app_args())
    create_task(app)
    app.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            f"--queues={queue}",
            f"--hostname={name}",
            "--without-gossip",
            "--without-mingle",
        ]
    )
