"""The departments' layers as read: checked, identified, in metres; households counted by point."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_crs
from geo.errors import InputError
from geo.grids.tessellation import polygonal

ID_COLUMNS = ("code", "id", "name")


@dataclass(frozen=True)
class _Layer:
    """One department's grids, in metres."""

    name: str
    id_label: str  # 'code', 'id', 'name' or 'row'
    ids: list[str]
    geoms: np.ndarray  # valid polygonal geometries (possibly empty)

    def ref(self, i: int) -> str:
        return f"{self.name} {self.id_label}={self.ids[i]}"


def _check_tolerance(tolerance_m: float) -> None:
    if not (isinstance(tolerance_m, int | float) and math.isfinite(tolerance_m)) or tolerance_m < 0:
        msg = f"tolerance_m must be a number of metres >= 0, got {tolerance_m!r}"
        raise InputError(msg)


def _check_polygons(frame: gpd.GeoDataFrame, name: str) -> None:
    require_crs(frame, name=name)
    missing = frame.geometry.isna() | frame.geometry.is_empty
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0]) + 1
        msg = f"{name}: row {row} has no geometry ({int(missing.sum())} such rows)"
        raise InputError(msg)
    kinds = set(frame.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        msg = f"{name} must be polygons, got {sorted(kinds)}"
        raise InputError(msg)


def _id_label(frame: gpd.GeoDataFrame) -> str:
    for column in ID_COLUMNS:
        if column in frame.columns:
            return column
    return "row"


def _read_layers(layers: Mapping[str, gpd.GeoDataFrame], crs, *, level: str | None) -> list[_Layer]:
    if not isinstance(layers, Mapping):
        msg = f"layers must be a mapping of layer name to GeoDataFrame, got {type(layers).__name__}"
        raise InputError(msg)
    out = []
    for name, frame in layers.items():
        if not isinstance(name, str) or not name.strip():
            msg = f"layer names must be non-empty strings, got {name!r}"
            raise InputError(msg)
        if not isinstance(frame, gpd.GeoDataFrame):
            msg = f"layer {name!r} must be a GeoDataFrame, got {type(frame).__name__}"
            raise InputError(msg)
        frame = _one_level(frame, name, level)
        _check_polygons(frame, f"layer {name!r}")
        label = _id_label(frame)
        if label == "row":
            ids = [str(i + 1) for i in range(len(frame))]
        else:
            ids = [
                str(v) if not pd.isna(v) and str(v).strip() else f"(row {i + 1})"
                for i, v in enumerate(frame[label].tolist())
            ]
        geoms = np.asarray(frame.to_crs(crs).geometry.to_numpy(), dtype=object)
        bad = ~shapely.is_valid(geoms)
        geoms[bad] = [polygonal(g) for g in shapely.make_valid(geoms[bad])]
        out.append(_Layer(name, label, ids, geoms))
    return out


def _one_level(frame: gpd.GeoDataFrame, name: str, level: str | None) -> gpd.GeoDataFrame:
    """A layer with a `level` column holding several levels: its rows of `level`, or an error."""
    if "level" not in frame.columns:
        return frame
    levels = sorted({str(v) for v in frame["level"].dropna()})
    if len(levels) <= 1:
        return frame
    if level is None:
        msg = f"layer {name!r} mixes levels {', '.join(levels)}: pass the rows of one level"
        raise InputError(msg)
    return frame[frame["level"].astype(str) == level]


def _points(buildings: gpd.GeoDataFrame | None, crs) -> tuple[np.ndarray, np.ndarray]:
    if buildings is None:
        return np.empty(0, dtype=object), np.empty(0)
    geoms = buildings.to_crs(crs).geometry.to_numpy()
    points = shapely.point_on_surface(geoms)
    hh = pd.to_numeric(buildings["households"]).to_numpy(dtype=float)
    return np.asarray(points, dtype=object), hh


def _sum_within(geoms, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sum of the weights of the points in (or on the edge of) each geometry."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0 or len(points) == 0:
        return np.zeros(len(geoms))
    p, g = shapely.STRtree(geoms).query(points, predicate="intersects")
    return np.bincount(g, weights=weights[p], minlength=len(geoms))


def _nones(frame: pd.DataFrame, columns: list[str]) -> None:
    """Missing values as None (not NaN) in text columns."""
    for column in columns:
        values = frame[column].astype(object)
        frame[column] = values.where(values.notna(), None)
