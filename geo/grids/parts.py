"""A huge boundary cut into independent parts, and the codes of its parts' grids made one.

A boundary that holds far more households than a community is first cut along its barrier
lines (major roads, rivers, rail) into enclosures; an enclosure that cannot hold grids within
the bounds on its own joins the neighbour it shares most edge with. Each part is then divided
on its own (in any process), so the work per grid does not grow with the boundary and the parts
run in parallel. Grids never cross a part line. All work is in metres (the caller projects).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely

from geo.grids.codes import sequence_codes
from geo.grids.graph import shared_edges
from geo.grids.partition import choose_k
from geo.grids.tessellation import enclosures
from geo.lookup import first_containing

PART_HOUSEHOLDS = 20_000  # a boundary above this is cut: about two large communities


def cut_area(
    area: shapely.Geometry,
    anchors: np.ndarray,
    households: np.ndarray,
    barriers: np.ndarray | None,
    *,
    bounds: tuple[int, int],
    most: int = PART_HOUSEHOLDS,
) -> list[tuple[shapely.Geometry, np.ndarray]] | None:
    """Parts of `area` as (polygon, indices of the anchors in it), or None when it stays whole.

    Parameters
    ----------
    area : Polygon or MultiPolygon
    anchors : array of Point
        One point per building, inside `area`.
    households : int array
        Households per building.
    barriers : array of LineString, optional
        The lines the area is cut along.
    bounds : (int, int)
        Households per grid: every part can hold grids within them where the whole can.
    most : int
        Areas of at most this many households are not cut.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> road = np.array([shapely.LineString([(100, -1), (100, 201)])])
    >>> homes = shapely.points([(50, 50), (150, 50)])
    >>> parts = cut_area(shapely.box(0, 0, 200, 200), homes, np.array([900, 900]), road,
    ...                  bounds=(300, 500), most=1000)
    >>> [(p.bounds, i.tolist()) for p, i in parts]
    [((100.0, 0.0, 200.0, 200.0), [1]), ((0.0, 0.0, 100.0, 200.0), [0])]
    """
    households = np.asarray(households, dtype=np.int64)
    if int(households.sum()) <= most or barriers is None or len(barriers) == 0:
        return None
    faces = enclosures(area, barriers)
    if len(faces) < 2:
        return None
    face_of = _face_of(np.asarray(anchors, dtype=object), faces)
    part = _merge(faces, np.bincount(face_of, weights=households, minlength=len(faces)), bounds)
    kept = np.unique(part)
    if len(kept) < 2:
        return None
    # parts in the order of their first face, which follows the noded faces: fixed for an input
    out = []
    for p in kept:
        members = np.flatnonzero(part == p)
        polygon = shapely.union_all(faces[members]) if len(members) > 1 else faces[members[0]]
        out.append((polygon, np.flatnonzero(np.isin(face_of, members))))
    return out


def _face_of(anchors: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """The face of each anchor; one on no face (round-off at the outline) takes the nearest."""
    face_of = first_containing(anchors, faces)
    lost = np.flatnonzero(face_of < 0)
    if len(lost):
        which, near = shapely.STRtree(faces).query_nearest(anchors[lost], all_matches=False)
        face_of[lost[which]] = near
    return face_of


def _merge(faces: np.ndarray, totals: np.ndarray, bounds: tuple[int, int]) -> np.ndarray:
    """The part of each face: a face that cannot stand alone joins a neighbour, smallest first.

    A part stands alone when its households divide into grids within `bounds`. It joins the
    neighbouring part it shares the longest edge with (the nearest part, if it touches none).
    """
    i, j, length = shared_edges(faces)
    part = np.arange(len(faces))
    totals = totals.astype(np.int64)
    lo, hi = bounds
    while True:
        ids = np.unique(part)
        if len(ids) < 2:
            return part
        held = np.bincount(part, weights=totals, minlength=len(faces)).astype(np.int64)
        weak = [p for p in ids if choose_k(int(held[p]), lo, hi)[1] is not None]
        if not weak:
            return part
        p = min(weak, key=lambda q: (held[q], q))
        part[part == _neighbour(p, part, faces, i, j, length)] = p
        part = _renumber_low(part)  # ids stay in the order of the faces


def _neighbour(p, part, faces, i, j, length) -> int:
    a, b = part[i], part[j]
    touch = (a == p) ^ (b == p)
    if touch.any():
        other = np.where(a[touch] == p, b[touch], a[touch])
        shared = np.bincount(other, weights=length[touch], minlength=len(faces))
        return int(np.argmax(shared))
    mine = shapely.union_all(faces[part == p])
    others = np.flatnonzero(part != p)
    return int(part[others[int(np.argmin(shapely.distance(faces[others], mine)))]])


def _renumber_low(part: np.ndarray) -> np.ndarray:
    """Each part named by its lowest face."""
    lowest = {}
    for f, p in enumerate(part):
        lowest.setdefault(int(p), f)
    return np.array([lowest[int(p)] for p in part])


def join_parts(
    works: list[tuple[str, int | None]], results: Iterable[list[dict]], *, level: str
) -> list[dict]:
    """The rows of every work, (prefix, part) each, in order; the parts of one area renumbered
    as one (consecutive works with the same prefix and a part number)."""
    rows: list[dict] = []
    pending: list[list[dict]] = []
    for k, ((prefix, part), result) in enumerate(zip(works, results, strict=True)):
        if part is None:
            rows += result
            continue
        pending.append(result)
        if k + 1 == len(works) or works[k + 1][1] in (None, 0):
            rows += renumber(pending, prefix, level=level)
            pending = []
    return rows


def renumber(rows_of_parts: list[list[dict]], prefix: str, *, level: str) -> list[dict]:
    """The rows of an area's parts with one code sequence, as if the area was divided whole.

    Top-level regions (grids; micro-grids at level 'micro', under ``prefix + '000'``) are
    numbered again in reading order over the whole area; micro-grids keep their sequence under
    their grid's new code. Rows come out grouped by grid, in the order of the new codes.
    """
    top_level = "micro" if level == "micro" else "grid"
    top = [(k, r) for k, rows in enumerate(rows_of_parts) for r in rows if r["level"] == top_level]
    centroids = shapely.centroid(np.array([r["geometry"] for _, r in top], dtype=object))
    xy = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)]).reshape(-1, 2)
    top_prefix = prefix + "000" if top_level == "micro" else prefix
    codes = sequence_codes(top_prefix, xy)
    new = {(k, r["code"]): code for (k, r), code in zip(top, codes, strict=True)}
    groups: dict[str, list[dict]] = {}
    for k, rows in enumerate(rows_of_parts):
        for r in rows:
            if r["level"] == top_level:
                code = new[(k, r["code"])]
                groups.setdefault(code, []).insert(0, {**r, "code": code})
            else:
                parent = new[(k, r["parent_code"])]
                code = parent + r["code"][len(r["parent_code"]) :]
                groups.setdefault(parent, []).append({**r, "code": code, "parent_code": parent})
    return [r for code in sorted(groups) for r in groups[code]]
