"""`domotic`: the one command-line entry point (simulate, run, demo, ui)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click

from domotic_assets.command_settings import settings_from_env
from domotic_assets.contracts.timestamps import zone
from domotic_assets.operations.commands import archive, backup, restore, restore_backup
from domotic_assets.serving.commands import accounts, serve
from domotic_assets.settings import PLATFORM_TIMEZONE, Settings

DAGSTER_YAML = """# The Dagster instance of this state folder (SQLite storage: fine for one machine).
# Production: deploy/dagster.yaml (dagster-postgres), see docs/sources.md, "Production instance".
telemetry:
  enabled: false
# One writer per table and day, whatever launched the runs, is the warehouse's lock taken by every
# writing step (domotic_assets/warehouse/day_locks.py); the queue only keeps a day's live runs few.
run_queue:
  max_concurrent_runs: 4
  # a live run starts within a second of its request (the default waits up to 5)
  dequeue_interval_seconds: 1
  tag_concurrency_limits:
    # a day's live runs overlap by two at most: one in Gold, the next in Bronze and Silver
    - key: domotic/live_day
      value:
        applyLimitPerUniqueValue: true
      limit: 2
"""


def prepare_dagster_home(settings: Settings) -> None:
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)


@click.group(help="Domotic data platform: smart-apartment data through Bronze, Silver and Gold.")
def main() -> None:
    pass


main.add_command(accounts)
main.add_command(serve)
main.add_command(backup)
main.add_command(restore_backup)
main.add_command(archive)
main.add_command(restore)


@main.command(
    help="Write a realistic simulated feed (sensor files, weather files, pidb and a manifest), "
    "or with --mqtt publish household meter, PV and battery telemetry to the broker."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for share/, meteo2/, pidb.sqlite, manifest/.",
)
@click.option(
    "--apartments", default="jimmy,jeremie", show_default=True, help="Comma-separated apartment codes."
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day [default: 2023-08-18; live: now].",
)
@click.option(
    "--days", type=int, default=7, show_default=True, help="Days to write (live mode: 0 runs forever)."
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--faults", type=click.Choice(["none", "default", "heavy"]), default="default", show_default=True
)
@click.option(
    "--pidb-url", default=None, help="Write pidb into this SQLAlchemy URL instead of OUT/pidb.sqlite."
)
@click.option(
    "--anomalies",
    "anomaly_rate",
    type=float,
    default=None,
    help="Probability per apartment-day of each injected anomaly (stopped fridge, window left open, "
    "night draw) [default: by --faults, 0.05 for default].",
)
@click.option("--live", is_flag=True, help="Write files as (simulated) time passes, like a gateway.")
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Live mode: simulated seconds per real second.",
)
@click.option(
    "--mqtt",
    is_flag=True,
    help="Publish telemetry (home/<household>/meter|pv|battery) instead of writing files.",
)
@click.option(
    "--households", type=int, default=2, show_default=True, help="MQTT: households (the apartments first)."
)
@click.option(
    "--step-seconds",
    type=int,
    default=60,
    show_default=True,
    help="MQTT: seconds between a household's readings.",
)
@click.option(
    "--rate",
    type=float,
    default=None,
    help="MQTT: messages per second (default: as fast as the broker takes them).",
)
@click.option(
    "--burst",
    type=int,
    default=1,
    show_default=True,
    help="MQTT: messages sent back to back at --rate on average.",
)
def simulate(
    out,
    apartments,
    start,
    days,
    seed,
    faults,
    pidb_url,
    anomaly_rate,
    live,
    speed,
    mqtt,
    households,
    step_seconds,
    rate,
    burst,
) -> None:
    from domotic_assets.simulator.feed import SimulationConfig, simulate_live
    from domotic_assets.simulator.feed import simulate as run_batch

    if mqtt:
        _simulate_mqtt(
            tuple(a.strip() for a in apartments.split(",") if a.strip()),
            start,
            days,
            seed,
            faults,
            live,
            speed,
            households,
            step_seconds,
            rate,
            burst,
        )
        return
    if out is None:
        raise click.UsageError("--out is required (unless --mqtt)")

    first = start.date() if start else SimulationConfig.start
    config = SimulationConfig(
        out=out,
        apartments=tuple(a.strip() for a in apartments.split(",") if a.strip()),
        start=first,
        days=days,
        seed=seed,
        faults=faults,
        pidb_url=pidb_url,
        anomaly_rate=anomaly_rate,
    )
    if live:
        # from local midnight of --start, or from the current minute
        begin = datetime.combine(first, datetime.min.time(), zone(PLATFORM_TIMEZONE)) if start else None
        summary = simulate_live(config, speed=speed, start=begin, log=click.echo)
    else:
        summary = run_batch(config)
    click.echo(
        f"{summary.files} sensor files ({summary.readings} readings), {summary.weather_files} weather files "
        f"in {summary.seconds:.1f} s -> {out}"
    )
    click.echo("faults injected: " + ", ".join(f"{k}={v}" for k, v in sorted(summary.faults.items())))
    click.echo(f"anomalies injected: {summary.anomalies} (manifest/anomalies.parquet)")
    click.echo(
        "to judge presence and anomalies against what really happened: "
        f"DOMOTIC_GROUND_TRUTH={out / 'manifest'}"
    )


def _simulate_mqtt(
    apartments, start, days, seed, faults, live, speed, households, step_seconds, rate, burst
) -> None:
    from domotic_assets.simulator.telemetry import publish_telemetry, simulated_households, telemetry_messages
    from domotic_assets.stream.broker import broker_url
    from domotic_assets.stream.publisher import Publisher

    settings = settings_from_env()
    if start is not None:
        begin = start.replace(tzinfo=zone(PLATFORM_TIMEZONE)).astimezone(UTC)
    else:
        begin = datetime.now(UTC).replace(second=0, microsecond=0)
    end = begin + timedelta(days=days) if days else datetime.max.replace(tzinfo=UTC)
    stream = telemetry_messages(
        simulated_households(households, apartments, seed), begin, end, step_seconds, seed, faults
    )
    with broker_url(settings.mqtt_url, settings.embedded_broker_dir) as url:
        endpoint = _endpoint(url)
        click.echo(
            f"publishing telemetry of {households} household(s) from {begin:%Y-%m-%d %H:%M} UTC to "
            f"{endpoint.url} ..."
        )
        summary = publish_telemetry(
            Publisher(endpoint, f"domotic-simulator-{seed}"),
            stream,
            rate=rate,
            burst=burst,
            live_speed=speed if live else None,
            log=click.echo,
        )
    click.echo(
        f"{summary.messages} messages ({summary.readings} readings) acknowledged by the broker in "
        f"{summary.seconds:.1f} s; " + ", ".join(f"{k}={v}" for k, v in sorted(summary.kinds.items()))
    )


def _endpoint(url: str):
    from domotic_assets.settings import source_secrets
    from domotic_assets.stream.mqtt_client import MqttEndpoint

    return MqttEndpoint.from_url(url, source_secrets("MQTT"))


def _materialize(settings: Settings, dsn: str, first: date, last: date, select: str | None):
    """Run the range through the Dagster definitions against this warehouse; report failures.
    dbt's own console output goes to DOMOTIC_HOME/logs/dbt.log (the UI keeps it per run too)."""
    os.environ["DOMOTIC_PG_DSN"] = dsn  # read by the definitions' resources
    import dagster as dg

    from domotic_assets.definitions import defs
    from domotic_assets.defs.run_range import materialize_range, resolve_selection

    keys = resolve_selection(defs, select)
    terminal = sys.stdout
    log_file = settings.home / "logs" / "dbt.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.get() as instance, open(log_file, "a") as log, contextlib.redirect_stdout(log):
        outcome = materialize_range(
            defs,
            keys,
            first,
            last,
            instance,
            echo=lambda line: click.echo(line, file=terminal),
            spread=settings.executor != "in_process",
        )
    for failure in outcome.failures:
        click.echo(f"FAILED {failure}", err=True)
    return outcome


@main.command(
    "run",
    help="Materialize a day range (both dates included) of everything, a layer, or a selection. "
    "Exit status 0: done; 3: done, with data missing for some days (named); 1: failed.",
)
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--select", default=None, help="bronze, silver, gold, ml, or a Dagster asset selection string.")
def run_command(first, last, select) -> None:
    from domotic_assets.warehouse.embedded import warehouse_dsn

    if last < first:
        raise click.BadParameter("--to is before --from")
    settings = settings_from_env()
    prepare_dagster_home(settings)
    with warehouse_dsn(settings.pg_dsn, settings.embedded_pg_dir) as dsn:
        outcome = _materialize(settings, dsn, first.date(), last.date(), select)
    sys.exit(outcome.exit_status)


@main.command(help="Simulate 7 days for the two reference apartments and run the whole pipeline on them.")
@click.option("--days", type=int, default=7, show_default=True)
@click.option("--fresh", is_flag=True, help="Simulate the feed again even if one is already there.")
def demo(days: int, fresh: bool) -> None:
    from domotic_assets.simulator.feed import SimulationConfig
    from domotic_assets.simulator.feed import simulate as run_batch
    from domotic_assets.warehouse.embedded import warehouse_dsn
    from domotic_assets.warehouse.summary import (
        gold_figures,
        prediction_figures,
        schedule_figures,
        sensor_file_summary,
        table_rows,
    )

    began = time.perf_counter()
    settings = settings_from_env()
    feed = settings.feed_dir
    config = SimulationConfig(out=feed, days=days)
    marker = feed / ".simulated"
    stamp = (
        f"{config.start} {config.days} {config.seed} {config.faults} anomalies={config.anomalies} "
        + ",".join(config.apartments)
    )
    if fresh or not marker.exists() or marker.read_text() != stamp:
        click.echo(f"simulating {days} days for {', '.join(config.apartments)} into {feed} ...")
        summary = run_batch(config)
        marker.write_text(stamp)
        click.echo(
            f"  {summary.files} sensor files, {summary.readings} readings, {summary.weather_files} weather "
            f"files in {summary.seconds:.1f} s"
        )
    # The demo reads its own simulated feed, whatever the environment points at.
    os.environ.update(
        DOMOTIC_LANDING=str(config.share),
        DOMOTIC_WEATHER=str(config.meteo),
        DOMOTIC_PIDB_URL=config.pidb,
        DOMOTIC_GROUND_TRUTH=str(config.out / "manifest"),
    )
    settings = settings_from_env()
    prepare_dagster_home(settings)
    first, last = config.start, config.start + timedelta(days=days - 1)
    with warehouse_dsn(settings.pg_dsn, settings.embedded_pg_dir) as dsn:
        _stream_telemetry(settings, dsn, config)
        outcome = _materialize(settings, dsn, first, last, None)
        ok = outcome.success
        from domotic_assets.dashboards.demo_reader import demo_reader
        from domotic_assets.warehouse.connection import connect

        with connect(dsn) as conn:
            files = sensor_file_summary(conn)
            rows = table_rows(conn)
            gold = gold_figures(conn, first, last, settings.ground_truth) if ok else None
            schedules = schedule_figures(conn, first, last) if ok else None
            predictions = prediction_figures(conn) if ok else []
            reader = demo_reader(conn, settings.home) if ok else None
    click.echo("")
    click.echo(f"Summary ({first} .. {last}, state in {settings.home})")
    click.echo(
        f"  sensor files: {files['registered']} registered, {files['stored']} in Bronze, "
        f"{files['not_yet_stored']} not yet stored; weather files: {files['weather_files']}"
    )
    click.echo("  quarantined: " + (", ".join(f"{k}={v}" for k, v in files["quarantined"].items()) or "none"))
    click.echo("  rows per table:")
    for name, count in rows:
        click.echo(f"    {name:<40} {count:>12,}")
    if gold:
        click.echo(f"  gold: {gold}")
    if schedules:
        click.echo(f"  schedules: {schedules}")
    for line in predictions:
        click.echo(f"  ml: {line}")
    if reader:
        login, kept = reader
        click.echo(
            f"  dashboards: run `domotic serve` (DOMOTIC_HOME={settings.home}), open http://127.0.0.1:8000 "
            f"and sign in as {login}, the current renter of the first apartment; its password is in {kept} "
            "(readable by you only)"
        )
    click.echo(f"  time taken: {time.perf_counter() - began:.1f} s")
    sys.exit(outcome.exit_status)


def _stream_telemetry(settings: Settings, dsn: str, config) -> None:
    """The demo's live part: its households' meter, PV and battery telemetry published over MQTT and
    taken into the warehouse by the streaming consumer (a re-run publishes duplicates only)."""
    from domotic_assets.simulator.telemetry import publish_telemetry, simulated_households, telemetry_messages
    from domotic_assets.stream.broker import broker_url
    from domotic_assets.stream.consumer import StreamConsumer, StreamOptions
    from domotic_assets.stream.publisher import Publisher

    local = zone(PLATFORM_TIMEZONE)
    begin = datetime.combine(config.start, datetime.min.time(), local).astimezone(UTC)
    end = datetime.combine(config.start + timedelta(days=config.days), datetime.min.time(), local).astimezone(
        UTC
    )
    households = simulated_households(len(config.apartments), config.apartments, config.seed)
    with broker_url(settings.mqtt_url, settings.embedded_broker_dir) as url:
        endpoint = _endpoint(url)
        consumer = StreamConsumer(
            endpoint,
            dsn,
            settings.stream_buffer_dir,
            StreamOptions(client_id="domotic-demo"),
            report=lambda figures: None,
        ).start()
        try:
            if not consumer.subscribed.wait(60):
                raise click.ClickException(f"the streaming consumer could not subscribe at {endpoint.url}")
            click.echo(
                f"streaming telemetry of {len(households)} household(s) over MQTT ({endpoint.url}) ..."
            )
            sent = publish_telemetry(
                Publisher(endpoint, "domotic-demo-simulator"),
                telemetry_messages(households, begin, end, 60, config.seed, config.faults),
            )
            durable = consumer.wait_until_durable(sent.messages, timeout=300)
        finally:
            consumer.stop()
    totals = consumer.health.totals
    click.echo(
        f"  {sent.messages} messages in {sent.seconds:.1f} s: {totals['new_readings']} new readings, "
        f"{totals['duplicate_readings']} already stored, {totals['quarantined']} quarantined"
        + ("" if durable else " (the consumer did not keep up: the rest stays queued for the next run)")
    )


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@main.command(
    help="Send the current schedules' commands to the devices over MQTT, each slot at its start "
    "(stops cleanly on SIGTERM or Ctrl-C)."
)
@click.option("--client-id", default="domotic-controller", show_default=True)
@click.option(
    "--interval", type=float, default=1.0, show_default=True, help="Seconds between looks at the schedules."
)
def control(client_id: str, interval: float) -> None:
    import logging
    import threading

    from domotic_assets.control.controller import Controller
    from domotic_assets.stream.broker import broker_url
    from domotic_assets.warehouse.embedded import warehouse_dsn

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
    settings = settings_from_env()
    stopped = threading.Event()
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, lambda signum, frame: stopped.set())
    with (
        warehouse_dsn(settings.pg_dsn, settings.embedded_pg_dir) as dsn,
        broker_url(settings.mqtt_url, settings.embedded_broker_dir) as url,
    ):
        controller = Controller(dsn, _endpoint(url), client_id)
        click.echo(f"controlling through {_endpoint(url).url}", err=True)
        try:
            controller.run(stopped, interval)
        finally:
            controller.close()


@main.command(
    help="Schedule a battery and shiftable appliances for one scenario (JSON, see docs/schedules.md) and "
    "write the schedule. Exit status 0: optimal (or the best within the time limit); 2: relaxed or "
    "infeasible."
)
@click.option(
    "--scenario", "scenario_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--strategy",
    type=click.Choice(["optimised", "rule_based", "no_battery"]),
    default="optimised",
    show_default=True,
    help="The MILP, or one of the strategies it is compared with.",
)
@click.option(
    "--time-limit", type=float, default=60.0, show_default=True, help="Seconds the solver may take."
)
def optimize(scenario_file: Path, out: Path, strategy: str, time_limit: float) -> None:
    from domotic_assets.optimise.scenario import ScenarioError, read_scenario

    try:
        scenario = read_scenario(json.loads(scenario_file.read_text()))
    except (ScenarioError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{scenario_file}: {exc}") from None
    if strategy == "optimised":
        from domotic_assets.optimise.model import solve

        schedule = solve(scenario, time_limit=time_limit)
    else:
        from domotic_assets.optimise.baseline import rule_based, without_battery

        schedule = rule_based(scenario) if strategy == "rule_based" else without_battery(scenario)
    from domotic_assets.optimise.schedule import result_document

    document = result_document(scenario, schedule)
    out.write_text(json.dumps(document, indent=1))
    click.echo(
        f"{schedule.status}: {scenario.slots} slots, cost CHF {document['cost_chf']:.4f}, "
        f"solved in {schedule.solve_seconds:.2f} s -> {out}"
        + (f"\n  {schedule.reason}" if schedule.reason else "")
    )
    sys.exit(0 if schedule.status in ("optimal", "feasible") else 2)


@main.command(
    help="Forecast any regular series (CSV with columns ts,value, any regular step and scale) and write the "
    "next STEPS points with an 80 % interval as ts,value,lower,upper. Before it answers, the forecaster "
    "backtests its models and the plain baselines on the end of the history and uses the best."
)
@click.option(
    "--history", "history_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True
)
@click.option("--horizon", type=click.IntRange(min=1), required=True, help="Steps to forecast.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--timezone",
    default=PLATFORM_TIMEZONE,
    show_default=True,
    help="Zone of the calendar features, and of timestamps written without an offset.",
)
@click.option(
    "--holidays",
    default="auto",
    show_default=True,
    help="Public holidays of the calendar: COUNTRY or COUNTRY-SUBDIVISION (GB, AU-VIC), 'none', or 'auto' "
    "(the timezone's country; the canton of Zurich for Europe/Zurich).",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write what the forecaster chose, and every candidate's backtest error, as JSON.",
)
def forecast(
    history_file: Path, horizon: int, out: Path, timezone: str, holidays: str, report_file: Path | None
) -> None:
    from domotic_assets.ml.calendar import holiday_region_for
    from domotic_assets.ml.energy_forecast import forecast_series, read_history

    region = holiday_region_for(timezone) if holidays == "auto" else None if holidays == "none" else holidays
    try:
        history = read_history(history_file, timezone)
        predicted, report = forecast_series(history, horizon, timezone, region)
    except (ValueError, NotImplementedError) as exc:  # holidays: an unknown country is NotImplementedError
        raise click.ClickException(f"{history_file}: {exc}") from None
    predicted.assign(ts=predicted["ts"].dt.tz_convert(timezone).map(lambda t: t.isoformat())).to_csv(
        out, index=False, float_format="%.6g"
    )
    if report_file:
        report_file.write_text(json.dumps(report, indent=1))
    step = history.index[1] - history.index[0]
    click.echo(f"forecaster: {report['summary']}", err=True)
    click.echo(
        f"{len(predicted)} points every {step} after {history.index[-1].tz_convert(timezone):%Y-%m-%d %H:%M} "
        f"from {int(history.notna().sum())} known of {len(history)} -> {out}"
    )


@main.command(
    help="Consume live telemetry from the MQTT broker into the warehouse (stops cleanly on SIGTERM or "
    "Ctrl-C)."
)
@click.option(
    "--client-id", default="domotic-stream", show_default=True, help="The broker session to resume."
)
@click.option(
    "--share-group",
    default=None,
    help="Join this MQTT 5 shared subscription (several consumers split the stream).",
)
@click.option(
    "--batch-size", type=int, default=5000, show_default=True, help="Flush after this many messages ..."
)
@click.option("--flush-seconds", type=float, default=0.2, show_default=True, help="... or after this long.")
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve Prometheus metrics on http://127.0.0.1:PORT/metrics.",
)
@click.option(
    "--health-seconds", type=float, default=10.0, show_default=True, help="Seconds between health log lines."
)
def stream(client_id, share_group, batch_size, flush_seconds, metrics_port, health_seconds) -> None:
    import logging
    import threading

    from domotic_assets.stream.broker import broker_url
    from domotic_assets.stream.consumer import StreamConsumer, StreamOptions
    from domotic_assets.warehouse.embedded import warehouse_dsn

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
    settings = settings_from_env()
    stopped = threading.Event()
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, lambda signum, frame: stopped.set())
    options = StreamOptions(
        client_id=client_id,
        share_group=share_group,
        batch_size=batch_size,
        flush_seconds=flush_seconds,
        health_seconds=health_seconds,
    )
    with (
        warehouse_dsn(settings.pg_dsn, settings.embedded_pg_dir) as dsn,
        broker_url(settings.mqtt_url, settings.embedded_broker_dir) as url,
    ):
        consumer = StreamConsumer(_endpoint(url), dsn, settings.stream_buffer_dir, options)
        if metrics_port:
            consumer.health.serve(metrics_port)
        consumer.start()
        click.echo(
            f"streaming {_endpoint(url).url} -> the warehouse (buffer {settings.stream_buffer_dir})", err=True
        )
        while not stopped.wait(1):
            pass
        consumer.stop()


@main.command(
    help="A Celery worker: runs the steps of backfills, `domotic run` and ML training sent through "
    "DOMOTIC_CELERY_BROKER when DOMOTIC_EXECUTOR=celery (docs/operations.md). SIGTERM lets its steps finish; "
    "a worker that dies leaves its step to another."
)
@click.option("--queue", default="dagster", show_default=True, help="The queue to take steps from.")
@click.option(
    "--concurrency",
    type=int,
    default=os.cpu_count() or 1,
    show_default="the machine's cores",
    help="Steps at once.",
)
@click.option(
    "--name", default=None, help="The worker's name in the run's events [default: domotic-PID@HOST]."
)
def worker(queue: str, concurrency: int, name: str | None) -> None:
    from domotic_assets.defs.executors import run_worker
    from domotic_assets.warehouse.embedded import warehouse_dsn

    settings = settings_from_env()
    prepare_dagster_home(settings)
    with warehouse_dsn(settings.pg_dsn, settings.embedded_pg_dir) as dsn:
        os.environ["DOMOTIC_PG_DSN"] = dsn  # read by the definitions each step loads
        run_worker(settings, queue, concurrency, name or f"domotic-{os.getpid()}@%h")


@main.command(help="Open the Dagster UI (with sensors and schedules) on this state folder.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=3000, show_default=True)
def ui(host: str, port: int) -> None:
    from domotic_assets.warehouse.embedded import warehouse_dsn

    settings = settings_from_env()
    prepare_dagster_home(settings)
    with warehouse_dsn(settings.pg_dsn, settings.embedded_pg_dir) as dsn:
        env = {**os.environ, "DOMOTIC_PG_DSN": dsn}
        command = [
            sys.executable,
            "-m",
            "dagster",
            "dev",
            "-m",
            "domotic_assets.definitions",
            "-h",
            host,
            "-p",
            str(port),
        ]
        # its own process group: `dagster dev` children ignore signals otherwise and hang on exit
        process = subprocess.Popen(command, env=env, start_new_session=True)
        click.echo(f"Dagster UI on http://{host}:{port} (Ctrl-C stops it and the private database)")
        # Ctrl-C or SIGTERM stops everything, even when started from a background job (which ignores SIGINT)
        for stop in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop, _interrupt)
        try:
            process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
