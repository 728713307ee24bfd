"""Point-in-polygon lookups shared by the spatial core."""

from __future__ import annotations

import numpy as np
import shapely


def first_containing(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Index of the lowest-numbered polygon each point lies in or on, -1 for none.

    A point on an edge shared by two polygons goes to the lower index, so the answer is fixed.
    """
    points = np.asarray(points, dtype=object)
    polygons = np.asarray(polygons, dtype=object)
    out = np.full(len(points), -1)
    if len(points) == 0 or len(polygons) == 0:
        return out
    hit_p, hit_a = shapely.STRtree(polygons).query(points, predicate="intersects")
    order = np.lexsort((hit_a, hit_p))
    hit_p, hit_a = hit_p[order], hit_a[order]
    first = np.unique(hit_p, return_index=True)[1]
    out[hit_p[first]] = hit_a[first]
    return out
