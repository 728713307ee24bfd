"""The barrier roads that land is cut along when grids are edited."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from geo.crs import WGS84
from geo.grids.edit.geometry import _to84
from geo.grids.edit.memo import Memo, digest
from geo.grids.generate import BARRIER_CLASSES

_BARRIERS = Memo(8)  # by roads and CRS: consecutive edits give the same roads


def _barriers(roads: gpd.GeoDataFrame | None, crs: CRS) -> np.ndarray | None:
    """Barrier lines of `roads` in `crs` (shared: never change the array)."""
    if roads is None:
        return None
    classes = roads["class"].astype(str).str.lower() if "class" in roads.columns else None
    key = (
        digest(shapely.to_wkb(roads.geometry.values)),
        None if classes is None else digest([c.encode() for c in classes]),
        str(roads.crs),
        crs,
    )
    found = _BARRIERS.get(key)
    if found is None:
        found = (_barrier_lines(roads, crs),)
        _BARRIERS.put(key, found)
    return found[0]


def _barrier_lines(roads: gpd.GeoDataFrame, crs: CRS) -> np.ndarray | None:
    roads = roads.to_crs(crs)
    if "class" in roads.columns:
        roads = roads[roads["class"].astype(str).str.lower().isin(BARRIER_CLASSES)]
    lines = roads.geometry.to_numpy()
    lines = lines[np.isin(shapely.get_type_id(lines), (1, 2, 5))] if len(lines) else lines
    return lines[~shapely.is_empty(lines)] if len(lines) else None


def _inner_roads(roads, geoms: list, crs: CRS, *, band: float) -> gpd.GeoDataFrame | None:
    """Barrier lines inside the areas, without stretches running along an area's edge.

    An edited area's edge often follows a road centreline to within millimetres; cut by the
    road, the area would leave sliver enclosures that the tessellation cannot use. Segments
    whose ends and middle all lie within `band` of the edge are dropped; roads crossing the
    area keep the segments that reach the edge, so they still cut it.
    """
    lines = _barriers(roads, crs)
    if lines is None or len(lines) == 0:
        return None
    kept = []
    for geom in geoms:
        clipped = shapely.intersection(lines, geom)
        parts = shapely.get_parts(clipped[~shapely.is_empty(clipped)])
        parts = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
        if len(parts) == 0:
            continue
        xy, which = shapely.get_coordinates(parts, return_index=True)
        same = which[:-1] == which[1:]
        start, end = xy[:-1][same], xy[1:][same]
        if len(start) == 0:
            continue
        segments = shapely.linestrings(np.stack([start, end], axis=1))
        edge = shapely.boundary(geom)
        shapely.prepare(edge)
        near = np.ones(len(segments), dtype=bool)
        for point in (start, end, (start + end) / 2):
            near &= shapely.dwithin(shapely.points(point), edge, band)
        kept += list(segments[~near & (shapely.length(segments) > 0)])
    if not kept:
        return None
    return gpd.GeoDataFrame(geometry=list(_to84(kept, crs)), crs=WGS84)
