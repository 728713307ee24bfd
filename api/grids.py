"""Grid generation jobs: from files to a GeoJSON layer (file mode)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely

from geo.errors import InputError
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS, GridLayer, generate_grids
from geo.households import estimate_households
from geo.io import read_vector, write_geojson
from geo.validate import RowProblem, validate_features

CONTRACT_COLUMNS = ["code", "level", "parent_code", "households", "members"]


@dataclass(frozen=True)
class Bounds:
    grid: tuple[int, int] = GRID_BOUNDS
    micro: tuple[int, int] = MICRO_BOUNDS


def bounds_for(level: str, lo: int | None, hi: int | None, micro_lo=None, micro_hi=None) -> Bounds:
    """--min/--max apply to the level asked for (to grids when it is 'both')."""
    if level == "micro":
        micro = (lo or MICRO_BOUNDS[0], hi or MICRO_BOUNDS[1])
        return Bounds(micro=micro)
    grid = (lo or GRID_BOUNDS[0], hi or GRID_BOUNDS[1])
    return Bounds(grid=grid, micro=(micro_lo or MICRO_BOUNDS[0], micro_hi or MICRO_BOUNDS[1]))


class BadRows(InputError):
    """Input rows that cannot be used; each is listed."""

    def __init__(self, source: Path, problems: list[RowProblem]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(
            f"{source}: {len(problems)} bad building row(s) (first: row {first.row}"
            f"{f' ({first.id})' if first.id else ''}: {first.reason}); "
            "fix them or pass --skip-invalid"
        )


def read_buildings(path: Path, *, skip_invalid: bool = False) -> tuple[gpd.GeoDataFrame, list]:
    """Buildings from a file, validated, with missing household counts estimated and flagged."""
    checked = validate_features(read_vector(path), kind="buildings", id_column="building_id")
    if checked.problems and not skip_invalid:
        raise BadRows(path, list(checked.problems))
    return estimate_households(checked.frame), list(checked.problems)


def read_boundary(path: Path) -> gpd.GeoDataFrame:
    frame = read_vector(path)
    if len(frame) == 0:
        msg = f"{path}: no boundary polygons"
        raise InputError(msg)
    kinds = set(frame.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"} or frame.geometry.isna().any():
        msg = f"{path}: the boundary must be polygons, got {sorted(kinds)}"
        raise InputError(msg)
    fixed = shapely.make_valid(frame.geometry.to_numpy())
    fixed = [g if g.geom_type in ("Polygon", "MultiPolygon") else g.buffer(0) for g in fixed]
    return frame.set_geometry(gpd.GeoSeries(fixed, index=frame.index, crs=frame.crs))


def generate_file(
    buildings: Path,
    boundary: Path,
    out: Path,
    *,
    roads: Path | None = None,
    level: str = "grid",
    bounds: Bounds = Bounds(),
    report: Path | None = None,
    skip_invalid: bool = False,
) -> GridLayer:
    """Read the inputs, generate the layer, write OUT (GeoJSON) and the report (JSON)."""
    frame, rejected = read_buildings(buildings, skip_invalid=skip_invalid)
    area = read_boundary(boundary)
    lines = read_vector(roads) if roads is not None else None
    layer = generate_grids(
        frame, area, roads=lines, level=level, grid_bounds=bounds.grid, micro_bounds=bounds.micro
    )
    layer.report["rejected_rows"] = [
        p._asdict() if hasattr(p, "_asdict") else vars(p) for p in rejected
    ]
    columns = CONTRACT_COLUMNS + [c for c in layer.grids.columns if c not in CONTRACT_COLUMNS]
    write_geojson(layer.grids[columns], out)
    if report is not None:
        report.write_text(json.dumps(layer.report, ensure_ascii=False, indent=2), encoding="utf-8")
    return layer
