"""Cleaning of generated polygons: pinholes filled, coordinates on one precision grid.

Dissolving thousands of cells leaves sub-square-metre holes where snapped cell edges did not
meet exactly. A hole smaller than PINHOLE_M2 that no other polygon of the layer fills is
such a gap, and is filled; a small hole that another polygon fills (a tiny enclosed cell)
is kept, so polygons never overlap.
"""

from __future__ import annotations

import numpy as np
import shapely

from geo.grids.tessellation import PRECISION_M

PINHOLE_M2 = 1.0


def fill_pinholes(geoms: np.ndarray, *, max_area: float = PINHOLE_M2) -> np.ndarray:
    """Polygons (metres) with their unfilled holes below `max_area` filled, snapped to
    PRECISION_M."""
    geoms = shapely.set_precision(np.asarray(geoms, dtype=object), PRECISION_M)
    out = geoms.copy()
    tree = shapely.STRtree(geoms)
    for i, geom in enumerate(geoms):
        parts = shapely.get_parts(geom)
        if not any(len(p.interiors) for p in parts):
            continue
        filled = [_fill(p, i, geoms, tree, max_area) for p in parts]
        out[i] = filled[0] if len(filled) == 1 else shapely.MultiPolygon(filled)
    return out


def _fill(polygon, i: int, geoms, tree, max_area: float):
    keep = []
    for ring in polygon.interiors:
        hole = shapely.Polygon(ring)
        if hole.area >= max_area or _filled_by_other(hole, i, geoms, tree):
            keep.append(ring)
    if len(keep) == len(polygon.interiors):
        return polygon
    return shapely.Polygon(polygon.exterior, keep)


def _filled_by_other(hole, i: int, geoms, tree) -> bool:
    near = [j for j in tree.query(hole, predicate="intersects") if j != i]
    if not near:
        return False
    covered = shapely.area(shapely.intersection(geoms[near], hole)).sum()
    return covered > 0.5 * hole.area
