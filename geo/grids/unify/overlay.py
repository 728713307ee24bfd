"""Polygon overlays snapped to a fixed precision grid, and telling slivers from real pieces."""

from __future__ import annotations

import numpy as np
import shapely

from geo.grids.tessellation import polygonal

#: Precision grid (metres) of the polygon overlays. Layers drawn separately meet along edges
#: that are almost but not quite the same; floating-point overlays of such edges can go wrong
#: by millimetres, overlays snapped to a fixed grid cannot.
GRID_M = 1e-6
#: Distance (metres) within which two pieces cut from each other count as sharing an edge.
TOUCH_M = 0.001


def _wide(geoms, tol: float) -> np.ndarray:
    """Whether each geometry is more than a sliver: something is left after shrinking it by
    half the tolerance (so a strip narrower than `tol` is not)."""
    geoms = np.asarray(geoms, dtype=object).reshape(-1)
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    solid = ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
    if tol <= 0:
        return solid
    shrunk = shapely.buffer(geoms[solid], -tol / 2, quad_segs=2)
    out = np.zeros(len(geoms), dtype=bool)
    out[solid] = ~shapely.is_empty(shrunk)
    return out


def _clean(geom, tol: float):
    """The polygonal part of `geom` without sliver parts (an empty Polygon if nothing is left)."""
    geom = polygonal(geom)
    if geom.is_empty:
        return geom
    parts = shapely.get_parts(geom)
    parts = parts[_wide(parts, tol)]
    if len(parts) == 0:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts))


def _inter(a, b):
    return shapely.intersection(a, b, grid_size=GRID_M)


def _diff(a, b):
    return shapely.difference(a, b, grid_size=GRID_M)


def _merge(geoms):
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    return shapely.union_all(geoms, grid_size=GRID_M) if geoms else shapely.Polygon()


def _pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j): left[i] and right[j] share some area (or at least touch)."""
    if len(left) == 0 or len(right) == 0:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    j, i = shapely.STRtree(right).query(left, predicate="intersects")
    return j, i


def _shared(part, geoms: list) -> np.ndarray:
    """Length of boundary each geometry shares with `part`; 0 where they only touch at a point.

    The pieces compared here are cut from one another with the snapped overlays, so shared
    edges agree to well within :data:`TOUCH_M`."""
    if not geoms:
        return np.zeros(0)
    near = shapely.buffer(shapely.boundary(part), TOUCH_M, quad_segs=2)
    lengths = shapely.length(shapely.intersection(shapely.boundary(np.array(geoms)), near))
    return np.where(lengths > 3 * TOUCH_M, lengths, 0.0)


def _join(geom, pieces):
    joined = polygonal(_merge([geom, *pieces]))
    if joined.geom_type == "MultiPolygon":  # touching only within the tolerance
        parts = shapely.get_parts(joined)
        if np.sort(shapely.area(parts))[:-1].sum() < 1e-6:
            joined = parts[int(np.argmax(shapely.area(parts)))]
    return joined
