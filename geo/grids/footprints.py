"""Footprints ready for the grid engine: degenerate shapes repaired, stacked ones merged.

OSM extracts hold `building:part` features stacked inside towers, duplicates and footprints
nested in others. Each such group is one building to the engine: footprints overlapping by
more than half of the smaller one (or identical points) are merged into the largest, which
keeps its id and row. Households: the **largest** of the group, not the sum: stacked parts and
duplicates describe the same dwellings again, so a sum would count them twice or more.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import InputError
from geo.grids.tessellation import polygonal

MIN_AREA_M2 = 1.0  # a smaller footprint (sliver, collinear ring) is taken as a point
MERGE_SHARE = 0.5  # overlap, as a share of the smaller footprint, that makes one building


def clean_footprints(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Repair footprints (metres): invalid rings made valid, tiny or flat ones made points.

    Raises InputError naming the first building whose geometry is missing, empty or not a
    point or polygon.
    """
    geoms = buildings.geometry.to_numpy()
    ids = buildings["building_id"].astype(str).to_numpy()
    missing = np.array([g is None for g in geoms], dtype=bool)
    missing[~missing] = shapely.is_empty(geoms[~missing])
    if missing.any():
        first = ids[missing][0]
        msg = f"楼栋 {first} 没有几何形状 (building {first} has an empty geometry)"
        raise InputError(msg)
    kind = shapely.get_type_id(geoms)
    odd = ~np.isin(kind, (0, 3, 6))
    if odd.any():
        i = int(np.flatnonzero(odd)[0])
        msg = (
            f"楼栋 {ids[i]} 应为点或面 (building {ids[i]} must be a point or polygon, "
            f"got {geoms[i].geom_type})"
        )
        raise InputError(msg)
    out = geoms.copy()
    polygons = np.flatnonzero(kind != 0)
    bad = polygons[~shapely.is_valid(geoms[polygons])]
    out[bad] = [polygonal(shapely.make_valid(g)) for g in geoms[bad]]
    small = polygons[shapely.area(out[polygons]) < MIN_AREA_M2]
    out[small] = shapely.centroid(geoms[small])  # a collinear ring still has its centre
    return buildings.set_geometry(gpd.GeoSeries(out, index=buildings.index, crs=buildings.crs))


def merge_stacked(
    buildings: gpd.GeoDataFrame, *, share: float = MERGE_SHARE
) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Merge footprints (metres) that overlap or nest into one building each.

    Returns the buildings left (the largest footprint of each group keeps its row and id, with
    the union of the group's footprints and the group's largest household count) and
    {merged building id: surviving id}.
    """
    geoms = buildings.geometry.to_numpy()
    groups = _groups(geoms, share)
    if (groups == np.arange(len(geoms))).all():
        return buildings, {}
    ids = buildings["building_id"].astype(str).to_numpy()
    households = buildings["households"].to_numpy()
    area = shapely.area(geoms)
    keep = np.ones(len(geoms), dtype=bool)
    out_geoms, out_households = geoms.copy(), households.copy()
    merged: dict[str, str] = {}
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        if len(rows) == 1:
            continue
        survivor = rows[np.argmax(area[rows])]  # first of the largest
        out_geoms[survivor] = (
            polygonal(shapely.union_all(geoms[rows])) if area[survivor] else geoms[survivor]
        )
        out_households[survivor] = households[rows].max()
        for r in rows[rows != survivor]:
            keep[r] = False
            merged[ids[r]] = ids[survivor]
    out = buildings.assign(households=out_households)
    out = out.set_geometry(gpd.GeoSeries(out_geoms, index=buildings.index, crs=buildings.crs))
    return out[keep], merged


def _groups(geoms: np.ndarray, share: float) -> np.ndarray:
    """Connected groups of footprints overlapping by more than `share` of the smaller one."""
    parent = np.arange(len(geoms))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    is_point = shapely.get_type_id(geoms) == 0
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pair = i < j
    i, j = i[pair], j[pair]
    both_points = is_point[i] & is_point[j]  # intersecting points are the same point
    poly = ~is_point[i] & ~is_point[j]
    overlap = np.zeros(len(i))
    if poly.any():
        inter = shapely.area(shapely.intersection(geoms[i[poly]], geoms[j[poly]]))
        smaller = np.minimum(shapely.area(geoms[i[poly]]), shapely.area(geoms[j[poly]]))
        overlap[poly] = inter / np.maximum(smaller, 1e-12)
    for a, b in zip(
        i[both_points | (overlap > share)], j[both_points | (overlap > share)], strict=True
    ):
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(k) for k in range(len(geoms))])
