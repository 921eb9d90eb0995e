"""Each room of the package is entered from the right side: Dagster only in its glue, no database driver in
the pure packages, and no package or module that imports itself back through others."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import domotic_assets

ROOT = Path(domotic_assets.__file__).parent
DAGSTER = {"dagster", "dagster_dbt", "dagster_postgres", "dagster_webserver"}
DAGSTER_GLUE = ("domotic_assets.defs", "domotic_assets.definitions", "domotic_assets.cli")
DATABASE_DRIVERS = {"psycopg", "psycopg2", "pymysql", "sqlalchemy", "MySQLdb"}
PURE = ("contracts", "transform", "optimise", "ml")


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
