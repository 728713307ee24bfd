"""Start-up of the `wangge` command: help and small file-mode jobs load only what they use.

Each case runs the command in a fresh interpreter with ``-X importtime`` and reads the names of
the modules it imported (never the times, which depend on the machine's load).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# the web, database and spatial stacks: none is needed to print help
HEAVY = {
    "fastapi", "starlette", "uvicorn", "sqlalchemy", "geoalchemy2", "psycopg", "alembic",
    "pydantic_settings", "geopandas", "pandas", "numpy", "scipy", "shapely", "pyproj",
    "pyogrio", "momepy", "networkx", "pycrfsuite", "sklearn_crfsuite", "dask",
}  # fmt: skip
DATABASE_AND_WEB = {
    "fastapi", "starlette", "uvicorn", "sqlalchemy", "geoalchemy2", "psycopg", "alembic",
    "pydantic_settings",
}  # fmt: skip
# what a file-mode grid job never uses: morphology, graphs (the engine's are numpy arrays, not
# scipy's), Dask (only for --workers > 1), address parsing, plotting
UNUSED_BY_GRIDS = {
    "momepy", "networkx", "scipy", "dask", "distributed", "sklearn", "sklearn_crfsuite",
    "pycrfsuite", "matplotlib", "libpysal", "spopt",
}  # fmt: skip


def imported(*args: str, cwd: Path | None = None) -> set[str]:
    """Top-level packages that `python -m api.cli ARGS` imports; the command must succeed."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    names = set()
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "imported package" not in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "typer" in names  # the trace was read
    return names


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("grids", "--help"),
        ("grids", "generate", "--help"),
        ("db", "--help"),
        ("address", "parse", "--help"),
        ("geocode", "--help"),
        ("isochrones", "--help"),
        ("stations", "--help"),
        ("cases", "--help"),
        ("users", "--help"),
        ("ingest", "--help"),
        ("demo", "--help"),
    ],
    ids=lambda a: " ".join(a),
)
def test_help_loads_no_heavy_library(args):
    assert imported(*args) & HEAVY == set()


def test_help_text_is_typers_own():
    run = subprocess.run(
        [sys.executable, "-m", "api.cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0
    for group in ("db", "grids", "address", "geocode", "isochrones", "demo", "serve", "cases"):
        assert group in run.stdout


def test_address_parse_file_job_needs_no_spatial_or_database_stack(tmp_path):
    (tmp_path / "in.txt").write_text("南京市玄武区中山路100号\n", encoding="utf-8")
    names = imported("address", "parse", "--in", "in.txt", "--out", "out.jsonl", cwd=tmp_path)
    assert names & (HEAVY - {"pycrfsuite"}) == set()
    line = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert [c["label"] for c in line["components"]] == ["city", "district", "road", "roadno"]


def test_grids_generate_file_job_needs_no_database_or_web_stack(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point, box

    buildings = gpd.GeoDataFrame(
        {"building_id": ["b1", "b2", "b3", "b4"], "households": [100, 100, 100, 100]},
        geometry=[Point(118.7901 + 0.0004 * i, 32.0501 + 0.0003 * (i % 2)) for i in range(4)],
        crs=4326,
    )
    boundary = gpd.GeoDataFrame(
        {"code": ["320102001001"]}, geometry=[box(118.789, 32.049, 118.793, 32.052)], crs=4326
    )
    buildings.to_file(tmp_path / "b.geojson", driver="GeoJSON")
    boundary.to_file(tmp_path / "c.geojson", driver="GeoJSON")
    names = imported(
        "grids", "generate", "--buildings", "b.geojson", "--boundary", "c.geojson",
        "--level", "grid", "--out", "out.geojson", cwd=tmp_path,
    )  # fmt: skip
    assert names & DATABASE_AND_WEB == set()
    assert names & UNUSED_BY_GRIDS == set()
    assert "geopandas" in names  # the job itself ran
    layer = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["households"] for f in layer["features"]] == [400]
