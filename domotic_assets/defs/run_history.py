"""What the Dagster instance remembers of its runs, for the monitoring of `domotic serve` (`/metrics`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg


def failed_runs_counter(dagster_home: Path) -> Callable[[], int | None]:
    """A counter of the instance's failed runs (None while the instance has no configuration yet); the
    instance is opened once, on first use."""
    instance: dg.DagsterInstance | None = None

    def count() -> int | None:
        nonlocal instance
        if instance is None:
            if not (Path(dagster_home) / "dagster.yaml").exists():
                return None
            instance = dg.DagsterInstance.from_config(str(dagster_home))
        return instance.get_runs_count(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))

    return count
