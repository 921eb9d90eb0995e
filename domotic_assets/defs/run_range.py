"""Materialize a day range of a selection through the same definitions the UI uses.

Unpartitioned assets (reference dimensions) run first, then the day-partitioned ones as one
single-run backfill over the whole range, recorded in the Dagster instance like a UI run.
"""

from dataclasses import dataclass, field
from datetime import date

import dagster as dg

LAYERS = ("bronze", "silver", "gold", "ml")
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
DBT_NOISE = {"unique_id", "invocation_id"}


@dataclass
class RangeOutcome:
    success: bool = True
    failures: list[str] = field(default_factory=list)
    materialized: dict[str, dict] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)


def resolve_selection(defs: dg.Definitions, text: str | None) -> set[dg.AssetKey]:
    """`None`: everything; a layer name: its group; anything else: a Dagster selection string."""
    graph = defs.resolve_asset_graph()
    if not text:
        selection = dg.AssetSelection.all()
    elif text in LAYERS:
        selection = dg.AssetSelection.groups(text)
    else:
        selection = dg.AssetSelection.from_string(text)
    keys = set(selection.resolve(graph))
    if not keys:
        raise ValueError(f"the selection {text!r} matches no asset")
    return keys


def _printable(value) -> str:
    raw = getattr(value, "value", value)
    text = str(raw)
    return text if len(text) <= 80 else text[:77] + "..."


def materialize_range(defs: dg.Definitions, keys: set[dg.AssetKey], first: date, last: date,
                      instance: dg.DagsterInstance, echo=print) -> RangeOutcome:
    graph = defs.resolve_asset_graph()
    unpartitioned = {k for k in keys if graph.get(k).partitions_def is None}
    partitioned = keys - unpartitioned
    outcome = RangeOutcome()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    batches = [(unpartitioned, {}), (partitioned, {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()})]
    for batch, tags in batches:
        if not batch:
            continue
        label = f"{first} .. {last}" if tags else "reference data"
        echo(f"> materializing {len(batch)} asset(s), {label}: {', '.join(sorted(k.to_user_string() for k in batch))}")
        result = dg.materialize(
            assets=[*(defs.assets or []), *(defs.asset_checks or [])], selection=list(batch), resources=defs.resources,
            instance=instance, tags={"domotic/launched_by": "domotic run", **tags}, run_config=quiet,
            raise_on_error=False,
        )
        outcome.run_ids.append(result.run_id)
        for event in result.get_asset_materialization_events():
            mat = event.step_materialization_data.materialization
            name = mat.asset_key.to_user_string()
            if name in outcome.materialized:  # a range run records one event per partition
                continue
            outcome.materialized[name] = {k: _printable(v) for k, v in mat.metadata.items()}
            details = ", ".join(f"{k}={_printable(v)}" for k, v in mat.metadata.items() if k not in DBT_NOISE)
            echo(f"  + {name}: {details}")
        passed = 0
        for evaluation in result.get_asset_check_evaluations():
            name = f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"
            blocking = evaluation.severity == dg.AssetCheckSeverity.ERROR
            if evaluation.passed:
                passed += 1
                continue
            facts = ", ".join(f"{k}={_printable(v)}" for k, v in list(evaluation.metadata.items())[:3])
            echo(f"  check {name}: {'FAILED' if blocking else 'warning'} ({facts})")
            if blocking:
                outcome.success = False
                outcome.failures.append(f"check {name} failed")
        echo(f"  checks passed: {passed}")
        if not result.success:
            outcome.success = False
            for event in result.all_events:
                if event.is_step_failure:
                    error = event.step_failure_data.error
                    outcome.failures.append(f"{event.step_key}: {error.message.strip() if error else 'failed'}")
            echo(f"  ! run {result.run_id} failed: " + "; ".join(outcome.failures))
            break
    return outcome
