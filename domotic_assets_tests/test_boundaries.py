"""Each room of the package is entered from the right side: Dagster only in its glue, no database driver in
the pure packages, no package or module that imports itself back through others, and every table written
by the one module that owns it."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import domotic_assets

ROOT = Path(domotic_assets.__file__).parent
DAGSTER = {"dagster", "dagster_dbt", "dagster_postgres", "dagster_webserver"}
DAGSTER_GLUE = ("domotic_assets.defs", "domotic_assets.definitions", "domotic_assets.cli")
DATABASE_DRIVERS = {"psycopg", "psycopg2", "pymysql", "sqlalchemy", "MySQLdb"}
PURE = ("contracts", "transform", "optimise", "ml", "access")


OWNERS = {
    "meta.bronze_sensor_files": "warehouse/bronze_files.py",
    "meta.bronze_weather_files": "warehouse/weather_tables.py",
    "silver.weather_clean": "warehouse/weather_tables.py",
    "silver.weather_loads": "warehouse/weather_tables.py",
    "meta.dim_imports": "warehouse/reference_tables.py",
    "silver.sensor_events": "warehouse/silver_tables.py",
    "silver.etl_watermark": "warehouse/silver_tables.py",
    "silver.sensor_errors": "warehouse/silver_tables.py",
    "silver.sensor_attributes": "warehouse/silver_tables.py",
    "silver.unknown_references": "warehouse/silver_tables.py",
    "silver.household_telemetry": "warehouse/telemetry_tables.py",
    "meta.stream_quarantine": "warehouse/telemetry_tables.py",
    "meta.gold_energy_basis": "warehouse/gold_quality.py",
    "meta.quarantine": "warehouse/schema.py",
    "gold.schedules": "warehouse/schedule_tables.py",
    "gold.schedule_kpis": "warehouse/schedule_tables.py",
    "meta.control_log": "warehouse/schedule_tables.py",
    "gold.fact_prediction": "warehouse/prediction_tables.py",
    "gold.anomalies": "warehouse/prediction_tables.py",
    "gold.model_versions": "warehouse/prediction_tables.py",
    "meta.accounts": "warehouse/access_tables.py",
    "meta.access_grants": "warehouse/access_tables.py",
    "meta.api_tokens": "warehouse/access_tables.py",
    "meta.sql_logins": "warehouse/access_tables.py",
    "meta.optimize_jobs": "warehouse/job_tables.py",
    "meta.operation_runs": "warehouse/operation_runs.py",
    "meta.archives": "warehouse/archive_tables.py",
    # dbt builds it; the anomaly detector marks its unusual rooms (is_anomaly)
    "gold.fact_environment_minute": "warehouse/prediction_tables.py",
}
"""Each table the platform's Python writes -> the one module holding its DDL and every statement that
writes it (the `silver.dim_*` tables are made by `warehouse/reference_tables.py` under computed names)."""
WRITE = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE|ALTER\s+TABLE|DROP\s+TABLE(?:\s+IF\s+EXISTS)?"
    r"|CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|(?:OR\s+REPLACE\s+)?VIEW)(?:\s+IF\s+NOT\s+EXISTS)?)"
    r"\s+(?:\w+\s+ON\s+)?((?:meta|silver|gold)\.\w+)",
    re.IGNORECASE,
)
STATEMENT = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:meta|silver|gold)\.\w", re.IGNORECASE)


def _sql_writes(text: str) -> set[str]:
    return {m.group(1).lower() for m in WRITE.finditer(text)}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(path: Path) -> set[str]:
    """Every module name an import in the file names, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


MODULES = _modules()
IMPORTS = {module: _imports(path) for module, path in MODULES.items()}


def _package(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The groups of nodes that reach each other (strongly connected components of more than one node)."""
    order, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in order:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            group = []
            while (member := stack.pop()) != node:
                on_stack.discard(member)
                group.append(member)
            on_stack.discard(node)
            if group:
                found.append(sorted([node, *group]))

    for node in list(edges):
        if node not in order:
            visit(node)
    return found


def test_dagster_is_imported_only_by_its_glue():
    entered = sorted(
        f"{m} imports {name}"
        for m, names in IMPORTS.items()
        for name in names
        if name.split(".")[0] in DAGSTER and not m.startswith(DAGSTER_GLUE)
    )
    assert not entered


def test_no_database_driver_in_the_pure_packages():
    entered = sorted(
        f"{m} imports {name}"
        for m, names in IMPORTS.items()
        for name in names
        if _package(m) in PURE and name.split(".")[0] in DATABASE_DRIVERS
    )
    assert not entered


def test_the_pure_packages_do_not_reach_into_the_warehouse_or_the_glue():
    entered = sorted(
        f"{m} imports {name}"
        for m, names in IMPORTS.items()
        for name in names
        if _package(m) in PURE
        and name in MODULES
        and _package(name) in ("warehouse", "defs", "ingest", "stream", "control", "definitions", "cli")
    )
    assert not entered


def test_no_module_imports_itself_back():
    edges = {m: {name for name in names if name in MODULES and name != m} for m, names in IMPORTS.items()}
    assert _cycles(edges) == []


def test_no_package_imports_itself_back():
    edges: dict[str, set[str]] = defaultdict(set)
    for module, names in IMPORTS.items():
        edges[_package(module)] |= {
            _package(n) for n in names if n in MODULES and _package(n) != _package(module)
        }
    assert _cycles(dict(edges)) == []


def test_the_checks_see_a_cycle_and_a_wrong_import_when_there_is_one():
    """The rules above cannot pass by reading nothing."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert len(MODULES) > 100 and "domotic_assets.defs.resources" in MODULES
    assert "dagster" in IMPORTS["domotic_assets.definitions"] or any(
        n.startswith("dagster") for n in IMPORTS["domotic_assets.definitions"]
    )
    assert "psycopg" in IMPORTS["domotic_assets.warehouse.connection"]


def test_each_table_is_written_by_the_module_that_owns_it_alone():
    writers: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        for table in _sql_writes(path.read_text(encoding="utf-8")):
            writers[table].add(path.relative_to(ROOT).as_posix())
    wrong = {t: sorted(m) for t, m in writers.items() if {OWNERS.get(t)} != m}
    assert not wrong, f"written outside their owner (or owner unknown: add it to OWNERS): {wrong}"
    assert set(OWNERS) <= set(writers), "an owner that writes nothing: remove it from OWNERS"


def test_no_statement_on_a_warehouse_table_outside_the_warehouse_package():
    """Glue, ingestion, the stream and the controller call the owners; they hold no SQL of their own."""
    found = sorted(
        path.relative_to(ROOT).as_posix()
        for path in ROOT.rglob("*.py")
        if path.relative_to(ROOT).parts[0] != "warehouse"
        and STATEMENT.search(path.read_text(encoding="utf-8"))
    )
    assert not found


def test_the_ownership_scan_sees_a_write_where_there_is_one():
    assert _sql_writes("INSERT INTO silver.x (a) VALUES (1); UPDATE meta.y SET a = 1") == {
        "silver.x",
        "meta.y",
    }
    assert _sql_writes("CREATE UNIQUE INDEX IF NOT EXISTS k ON silver.z (a)") == {"silver.z"}
    assert _sql_writes("SELECT * FROM silver.x") == set()
    assert STATEMENT.search('conn.execute("SELECT 1 FROM gold.fact_prediction")')
