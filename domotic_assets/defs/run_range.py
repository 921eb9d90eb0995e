"""Materialize a day range of a selection through the same definitions the UI uses.

Unpartitioned assets (reference dimensions) run first, then the day-partitioned ones as one
single-run backfill over the whole range, recorded in the Dagster instance like a UI run, then the
day plans (their partitions reach a day further, so Dagster wants them in a run of their own).

A range finishes every layer for every day that has data: a source missing for some days (a weather
file never issued) is named by a warning check whose metadata lists `missing_days`, and the outcome
says "finished, with data missing" instead of "failed".
"""

from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from domotic_assets.defs.executors import reconstructable_asset_job
from domotic_assets.defs.partitions import daily_partitions, planning_partitions
from domotic_assets.defs.selections import OPERATIONS, PIPELINE

LAYERS = ("bronze", "silver", "gold", "ml")
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
DBT_NOISE = {"unique_id", "invocation_id"}
MISSING_DATA = "missing_days"
"""Metadata key of a check that failed because a source delivered nothing for these days."""
BATCHES = (None, daily_partitions, planning_partitions)
"""The runs of a range, in order: reference data, the daily layers, the day plans."""


@dataclass
class RangeOutcome:
    success: bool = True
    failures: list[str] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)
    """check -> the days its source delivered nothing for (the run finished without them)."""
    materialized: dict[str, dict] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """`domotic run`'s: 0 done, 3 done with data missing, 1 failed."""
        return 1 if not self.success else 3 if self.missing else 0


def resolve_selection(defs: dg.Definitions, text: str | None) -> set[dg.AssetKey]:
    """`None`: the whole pipeline; a layer name: its group; anything else: a Dagster selection string. The
    operations (the archive) only when the selection names them: `not group:ml` does not archive."""
    graph = defs.resolve_asset_graph()
    if not text:
        selection = PIPELINE
    elif text in LAYERS:
        selection = dg.AssetSelection.groups(text)
    else:
        selection = dg.AssetSelection.from_string(text)
        if not any(name in text for name in OPERATIONS):
            selection = selection & PIPELINE
    keys = set(selection.resolve(graph))
    if not keys:
        raise ValueError(f"the selection {text!r} matches no asset")
    return keys


def _printable(value) -> str:
    raw = getattr(value, "value", value)
    text = str(raw)
    return text if len(text) <= 80 else text[:77] + "..."


def _metadata_value(metadata: dict, key: str):
    value = metadata.get(key)
    return getattr(value, "value", value)


def materialize_range(
    defs: dg.Definitions,
    keys: set[dg.AssetKey],
    first: date,
    last: date,
    instance: dg.DagsterInstance,
    echo=print,
    spread: bool = False,
) -> RangeOutcome:
    """`spread`: each run through the definitions module's asset job, whose executor sends the steps to the
    workers (the module's definitions are what a worker loads); otherwise in this process."""
    graph = defs.resolve_asset_graph()
    unknown = {graph.get(k).partitions_def for k in keys} - set(BATCHES)
    if unknown:
        raise ValueError(
            "no batch for the partitions of "
            f"{sorted(k.to_user_string() for k in keys if graph.get(k).partitions_def in unknown)}"
        )
    outcome = RangeOutcome()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    for partitions in BATCHES:
        batch = {k for k in keys if graph.get(k).partitions_def == partitions}
        if not batch:
            continue
        tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()} if partitions else {}
        label = f"{first} .. {last}" if tags else "reference data"
        echo(
            f"> materializing {len(batch)} asset(s), {label}: "
            f"{', '.join(sorted(k.to_user_string() for k in batch))}"
        )
        tags = {"domotic/launched_by": "domotic run", **tags}
        if spread:
            result = dg.execute_job(
                reconstructable_asset_job(), instance, quiet, tags, asset_selection=list(batch)
            )
        else:
            result = dg.materialize(
                assets=[*(defs.assets or []), *(defs.asset_checks or [])],
                selection=list(batch),
                resources=defs.resources,
                instance=instance,
                tags=tags,
                run_config=quiet,
                raise_on_error=False,
            )
        outcome.run_ids.append(result.run_id)
        _report_materializations(result, outcome, echo)
        _report_checks(result, outcome, echo)
        if not result.success:
            outcome.success = False
            for event in result.all_events:
                if event.is_step_failure:
                    error = event.step_failure_data.error
                    outcome.failures.append(
                        f"{event.step_key}: {error.message.strip() if error else 'failed'}"
                    )
            echo(f"  ! run {result.run_id} failed: " + "; ".join(outcome.failures))
            break
    if outcome.success and outcome.missing:
        days = sorted({d for missing in outcome.missing.values() for d in missing})
        echo(
            f"  finished, with data missing for {len(days)} day(s): {', '.join(days)} "
            f"({', '.join(sorted(outcome.missing))})"
        )
    return outcome


def _report_materializations(result, outcome: RangeOutcome, echo) -> None:
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        name = mat.asset_key.to_user_string()
        if name in outcome.materialized:  # a range run records one event per partition
            continue
        outcome.materialized[name] = {k: _printable(v) for k, v in mat.metadata.items()}
        details = ", ".join(f"{k}={_printable(v)}" for k, v in mat.metadata.items() if k not in DBT_NOISE)
        echo(f"  + {name}: {details}")
        waiting = _metadata_value(mat.metadata, "files_left_being_written") or []
        if waiting:
            echo(
                f"  ! {len(waiting)} file(s) were still being written and were left for the next run: "
                + ", ".join(waiting[:10])
                + (" ..." if len(waiting) > 10 else "")
            )


def _report_checks(result, outcome: RangeOutcome, echo) -> None:
    passed = 0
    for evaluation in result.get_asset_check_evaluations():
        name = f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"
        blocking = evaluation.severity == dg.AssetCheckSeverity.ERROR
        if evaluation.passed:
            passed += 1
            continue
        missing = _metadata_value(evaluation.metadata, MISSING_DATA)
        if missing and not blocking:
            outcome.missing[name] = list(missing)
        facts = ", ".join(f"{k}={_printable(v)}" for k, v in list(evaluation.metadata.items())[:3])
        echo(f"  check {name}: {'FAILED' if blocking else 'warning'} ({facts})")
        if blocking:
            outcome.success = False
            outcome.failures.append(f"check {name} failed")
    echo(f"  checks passed: {passed}")
