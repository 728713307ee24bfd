"""多格合一 jobs: departments' grid layers from files to one unified GeoJSON layer (file mode)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from api.grids.generation import read_boundary, read_buildings, write_layer
from geo.errors import InputError
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS, GridLayer
from geo.grids.unify import compare_layers, summarise, unify_layers
from geo.io import read_vector, write_geojson
from geo.validate import validate_features


@dataclass
class UnifyResult:
    layer: GridLayer
    findings: gpd.GeoDataFrame
    summary: dict


def parse_layer_options(options: list[str]) -> dict[str, Path]:
    """``NAME=PATH`` options, in the order given, as a mapping; names must be unique."""
    layers: dict[str, Path] = {}
    for option in options:
        name, sep, path = option.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            msg = f"--layer expects NAME=PATH (e.g. 综治=zongzhi.geojson), got {option!r}"
            raise InputError(msg)
        if name in layers:
            msg = f"--layer {name!r} is given twice"
            raise InputError(msg)
        layers[name] = Path(path)
    if not layers:
        msg = "give at least one --layer NAME=PATH"
        raise InputError(msg)
    return layers


def parse_priority(text: str | None, names: list[str]) -> list[str] | None:
    """``NAME,NAME`` as a list of layer names (checked against the layers given)."""
    if text is None or not text.strip():
        return None
    priority = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in priority if p not in names]
    if unknown:
        msg = f"--priority names unknown layer(s) {unknown}; the layers are {names}"
        raise InputError(msg)
    return priority


def read_layer(name: str, path: Path) -> gpd.GeoDataFrame:
    """One department's grids: polygons, with invalid ones repaired and bad rows refused."""
    if not path.is_file():
        msg = f"layer {name!r}: no such file {path}"
        raise InputError(msg)
    frame = read_vector(path)
    if len(frame) == 0:
        msg = f"layer {name!r} ({path}): no grids in the file"
        raise InputError(msg)
    # rows are checked by position: ids may repeat in a department's layer (say so, not fail)
    numbered = frame.assign(_row=[str(i) for i in range(1, len(frame) + 1)])
    checked = validate_features(numbered, kind="boundaries", id_column="_row")
    if checked.problems:
        first = checked.problems[0]
        msg = (
            f"layer {name!r} ({path}): {len(checked.problems)} bad row(s) "
            f"(first: row {first.row}: {first.reason})"
        )
        raise InputError(msg)
    return checked.frame.drop(columns=["_row", "source_row"], errors="ignore")


def _one_level(frame: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """The rows of `level` of a layer that holds grids and micro-grids (as generated)."""
    if "level" in frame.columns and frame["level"].nunique() > 1:
        return frame[frame["level"].astype(str) == level]
    return frame


def unify_files(
    layers: dict[str, Path],
    buildings: Path,
    boundary: Path,
    out: Path,
    *,
    roads: Path | None = None,
    priority: list[str] | None = None,
    level: str = "grid",
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    tolerance_m: float = 1.0,
    report: Path | None = None,
    findings: Path | None = None,
    skip_invalid: bool = False,
) -> UnifyResult:
    """Read the layers and inputs, compare and unify, write OUT (GeoDataFrame as GeoJSON), the
    report (JSON, with the comparison summary under ``comparison``) and the findings."""
    top = "micro" if level == "micro" else "grid"
    frames = {name: _one_level(read_layer(name, path), top) for name, path in layers.items()}
    frame, rejected = read_buildings(buildings, skip_invalid=skip_invalid)
    area = read_boundary(boundary)
    lines = read_vector(roads) if roads is not None else None
    found = compare_layers(frames, boundary=area, buildings=frame, tolerance_m=tolerance_m)
    summary = summarise(found)
    layer = unify_layers(
        frames, frame, area,
        roads=lines, priority=priority, level=level,
        grid_bounds=grid_bounds, micro_bounds=micro_bounds, tolerance_m=tolerance_m,
    )  # fmt: skip
    layer.report["comparison"] = summary
    layer.report["sources"] = {name: str(path) for name, path in layers.items()}
    write_layer(layer, out, report=report, rejected=rejected)
    if findings is not None:
        write_geojson(found, findings)
    return UnifyResult(layer, found, summary)
