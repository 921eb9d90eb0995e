"""The dbt project of Gold, and its manifest (which `@dbt_assets` reads when the code loads).

The manifest is rebuilt with `dbt parse` whenever a file of the dbt project is newer than it, so a
fresh clone, the CLI, the UI and the tests all start from an up-to-date graph (about 2 s, once).
"""

import fcntl
import os
import shutil
import subprocess
import sys
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.compat import DBT_PYTHON_VERSION

from domotic_assets.warehouse.dbt_env import dbt_connection_env

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"
DBT_EXECUTABLE = (
    str(Path(sys.executable).parent / "dbt")
    if (Path(sys.executable).parent / "dbt").exists()
    else (shutil.which("dbt") or "dbt")
)

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)


class GoldDbt(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two things it does before every command that Gold never uses.

    It asks the dbt executable for its version (`dbt --version`, a 2 s process on 2 cores), where the dbt-core
    installed beside it (the same package, `DBT_EXECUTABLE` is its script) already says; and it opens a dbt
    adapter inside Dagster's process (about 1 s), which only column metadata and row counts need. Together
    they were a quarter of a live run's Gold step. Written against the pinned dagster-dbt 0.29; a test
    checks the version it reports against the executable's own answer."""

    @cached_property
    def _cli_version(self):
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args):
        return None


def run_dbt(
    *args: str, dsn: str | None = None, target_path: Path | None = None
) -> subprocess.CompletedProcess:
    """The dbt CLI on this project, outside Dagster (parse, tests, benchmarks); connected to the
    warehouse of `dsn` when given."""
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(dbt_connection_env(dsn) if dsn else {}),
    }
    command = [DBT_EXECUTABLE, *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    if target_path:
        command += ["--target-path", str(target_path)]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def _newest_source() -> float:
    files = [
        p for folder in ("models", "macros", "tests") for p in (DBT_DIR / folder).rglob("*") if p.is_file()
    ]
    return max(p.stat().st_mtime for p in [*files, DBT_DIR / "dbt_project.yml"])


def ensure_manifest() -> Path:
    """target/manifest.json, parsed again if the project changed (one process at a time)."""
    manifest = dbt_project.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source():
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or manifest.stat().st_mtime < _newest_source():
            done = run_dbt("parse")
            if done.returncode != 0:
                raise RuntimeError(f"dbt parse failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return manifest
