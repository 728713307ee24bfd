"""The code's layout: imports only go downward (routes, cli → domain packages → storage → geo),
with no circles, and each room holds what the README's layout table says it does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = (
    "accounts",
    "addresses",
    "assessment",
    "bulk",
    "cases",
    "grids",
    "ingest",
    "notices",
    "notifications",
    "points",
    "service_orders",
    "stations",
)
WEB_ONLY = ("fastapi", "starlette", "uvicorn")
CLI_ONLY = ("typer", "rich")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(*tops: str) -> dict[str, Path]:
    found = {}
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


def _imports(path: Path, name: str, modules=()) -> set[str]:
    """Every module `path` imports, at the top or inside functions (relative ones resolved);
    `from package import submodule` counts as importing the submodule alone."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                out.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (a name that is a module, not an attribute)."""
    modules = _modules("api", "geo", "maps", "data")
    return {
        name: {m for m in _imports(path, name, modules) if m in modules and m != name}
        for name, path in modules.items()
    }


def _room(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "api" or len(parts) == 1:
        return parts[0]
    return f"api.{parts[1]}"


def _violations(graph, source_rooms, forbidden) -> list[str]:
    return sorted(
        f"{src} imports {dst}"
        for src, targets in graph.items()
        if _room(src) in source_rooms
        for dst in targets
        if any(dst == f or dst.startswith(f + ".") for f in forbidden)
    )


def test_api_has_no_import_circles(graph):
    """No module reaches itself through the imports of the modules it imports (a circle would
    mean two rooms each need the other: one of them is in the wrong place)."""
    seen: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        seen[module] = 1
        for target in sorted(graph[module]):
            if seen.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in seen:
                visit(target, [*path, target])
        seen[module] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module, [module])
    assert circles == []


def test_domain_packages_know_neither_the_web_nor_the_command_line(graph):
    domains = {f"api.{d}" for d in DOMAINS}
    upper = ("api.routes", "api.cli", "api.main", "api.deps", "api.demo")
    assert _violations(graph, domains, upper) == []
    third_party = []
    for name, path in _modules(*(f"api/{d}" for d in DOMAINS)).items():
        for imported in _imports(path, name):
            if imported.split(".")[0] in WEB_ONLY + CLI_ONLY:
                third_party.append(f"{name} imports {imported}")
    assert third_party == []


def test_storage_and_geo_stay_below_the_domains(graph):
    above_storage = [f"api.{d}" for d in (*DOMAINS, "routes", "cli", "main", "deps", "demo")]
    assert _violations(graph, {"api.storage"}, above_storage) == []
    assert _violations(graph, {"geo"}, ["api", "maps"]) == []


def test_only_the_command_line_imports_the_command_line(graph):
    outside = {_room(m) for m in graph} - {"api.cli"}
    assert _violations(graph, outside, ["api.cli"]) == []


def test_routes_import_no_other_door(graph):
    assert _violations(graph, {"api.routes"}, ["api.cli", "api.demo"]) == []


def _is_room(path: Path) -> bool:
    """A folder of the project's own (not a cache, a build product or a virtualenv)."""
    skip = ("__pycache__", "node_modules")
    name = path.name
    return path.is_dir() and not name.startswith(".") and name not in skip and "." not in name


def test_readme_layout_table_names_every_room():
    """Every folder of the code (and each domain package) has its line in the README's table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Layout") :]
    rooms = [p.name for p in ROOT.iterdir() if _is_room(p)]
    api_rooms = [f"api/{p.name}" for p in (ROOT / "api").iterdir() if _is_room(p)]
    missing = [r for r in sorted({*rooms, *api_rooms}) if f"`{r}/`" not in table]
    assert missing == []
