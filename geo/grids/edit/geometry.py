"""Polygon helpers shared by the edits: parts, significant parts, lon/lat and metres."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from geo.crs import WGS84
from geo.grids.edit.layer import _Layer
from geo.grids.tessellation import polygonal

QUAD_SEGS = 2  # erosion needs no round corners: a coarser arc only widens the search


def _parts(geom) -> np.ndarray:
    parts = shapely.get_parts(polygonal(geom))
    return parts[~shapely.is_empty(parts)]


def _significant(parts: np.ndarray, tol: float, *, slack: float = 0.0) -> np.ndarray:
    """Parts larger than tol² and wide enough to hold a disc of diameter tol (less slack)."""
    parts = np.asarray(parts, dtype=object)
    if len(parts) == 0:
        return np.zeros(0, dtype=bool)
    big = shapely.area(parts) > max(tol - 2 * slack, 0.0) ** 2
    out = np.zeros(len(parts), dtype=bool)
    if big.any():
        radius = max(tol / 2 - slack, 0.0)
        core = shapely.buffer(parts[big], -radius, quad_segs=QUAD_SEGS)
        out[big] = ~shapely.is_empty(core)
    return out


def _geoms84(layer: _Layer) -> np.ndarray:
    """The layer's polygons in lon/lat: as given where valid, repaired elsewhere."""
    given = layer.frame.geometry.to_numpy().copy()
    fixed = np.flatnonzero(
        ~np.isin(shapely.get_type_id(layer.raw), (3, 6)) | ~shapely.is_valid(layer.raw)
    )
    if len(fixed):
        given[fixed] = _to84(list(layer.geom[fixed]), layer.crs)
    return given


def _to84(geoms: list, crs: CRS) -> np.ndarray:
    if not geoms:
        return np.empty(0, dtype=object)
    return gpd.GeoSeries(geoms, crs=crs).to_crs(WGS84).to_numpy()


def _to_metric(geoms: list, crs: CRS) -> np.ndarray:
    if not len(geoms):
        return np.empty(0, dtype=object)
    return gpd.GeoSeries(list(geoms), crs=WGS84).to_crs(crs).to_numpy()
