"""Polygon helpers shared by the edits: parts, significant parts, lon/lat and metres."""

from __future__ import annotations

import functools

import numpy as np
import shapely
from pyproj import CRS, Transformer

from geo.crs import WGS84
from geo.grids.edit.layer import _Layer
from geo.grids.tessellation import polygonal

QUAD_SEGS = 2  # erosion needs no round corners: a coarser arc only widens the search
PINCH_M = 0.002  # a polygon repaired after an edit is closed by this much (pinches open up)


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
    return reprojected(geoms, crs, WGS84)


def _to_metric(geoms: list, crs: CRS) -> np.ndarray:
    return reprojected(geoms, WGS84, crs)


def reprojected(geoms, source, target) -> np.ndarray:
    """`geoms` (None allowed) from CRS `source` to `target`: the coordinates GeoSeries.to_crs
    gives, without building a series for a few polygons (an edit does this dozens of times)."""
    geoms = np.asarray(list(geoms), dtype=object)
    source, target = _crs(source), _crs(target)
    if not len(geoms) or source.is_exact_same(target):
        return geoms.copy()
    out = np.empty_like(geoms)
    has_z = shapely.has_z(geoms)
    for rows, include_z in ((~has_z, False), (has_z, True)):
        if not rows.any():
            continue
        xyz = shapely.get_coordinates(geoms[rows], include_z=include_z)
        moved = _transformer(source, target).transform(*xyz.T)
        out[rows] = shapely.set_coordinates(geoms[rows].copy(), np.array(moved).T)
    return out


def _crs(value) -> CRS:
    if isinstance(value, CRS):
        return value
    try:
        return _crs_of(value)
    except TypeError:  # unhashable (a dict of parameters)
        return CRS.from_user_input(value)


@functools.lru_cache(maxsize=32)
def _crs_of(value) -> CRS:
    return CRS.from_user_input(value)


# by the CRS' definitions as given: hashing a CRS writes its WKT (~30 µs), and an edit
# reprojects dozens of times
_TRANSFORMERS: dict[tuple[str, str], Transformer] = {}


def _transformer(source: CRS, target: CRS) -> Transformer:
    key = (source.srs, target.srs)
    found = _TRANSFORMERS.get(key)
    if found is None:
        if len(_TRANSFORMERS) >= 64:
            _TRANSFORMERS.clear()
        found = _TRANSFORMERS[key] = Transformer.from_crs(source, target, always_xy=True)
    return found


def _valid_metric(geom84, crs):
    """`geom84`, or where it or its projection is not valid (a hairline spike or a pinch folds
    over once projected), the projection repaired, pinches opened, back in lon/lat."""
    if geom84.is_empty:
        return geom84
    metric = _to_metric([geom84], crs)[0]
    if shapely.is_valid(metric) and shapely.is_valid(geom84):
        return geom84
    fixed = polygonal(shapely.make_valid(metric))
    fixed = shapely.buffer(shapely.buffer(fixed, PINCH_M, join_style="mitre"), -PINCH_M,
                           join_style="mitre")  # fmt: skip
    parts = _parts(fixed)
    if len(parts) > 1:  # the fold's crumbs
        parts = parts[shapely.area(parts) >= 0.01 * shapely.area(parts).max()]
    fixed = parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts))
    out = _to84([fixed], crs)[0]
    return out if shapely.is_valid(out) else polygonal(shapely.make_valid(out))
