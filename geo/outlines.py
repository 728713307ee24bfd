"""Outlines of nested sets of raster cells, many grids at once (marching squares in numpy).

A grid of *ranks* says for each cell the first level whose set holds it (``levels`` for none),
so level ``j`` is the cells of rank ``<= j`` and the sets are nested. An outline runs through
the middle of each face between a cell in the set and one outside (halfway between the cell
centres, corners cut at 45 degrees; cells that touch only at a corner stay apart), pulled
``gap × (levels - 1 - j)`` cells towards the inside, so that where two levels share a face
the shorter one's outline keeps clear of the longer one's: the polygons are nested with room
to spare, also after projection and rounding. With a grid of *values* and a threshold per
level instead, each outline point moves along the line between the two cell centres to where
the values (clipped to ``± clip`` about the threshold) cross it linearly; the order of the
levels along each such line, and so the nesting, is kept. Points in a straight line are
dropped and holes
smaller than ``hole_cells`` cells are filled (which keeps the nesting: a longer level's holes
lie inside the shorter one's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

__all__ = ["nested_outlines"]

# headings: east, north, west, south. With corner (r, c) the lower-left corner of cell (r, c),
# and cell numbers running along rows of width W, each table holds (a, b) for an offset a + b·W:
_END = np.array(
    [[1, 1], [1, 1], [0, 1], [1, 0]], dtype=np.int32
)  # from the face's first cell to its end corner
_AHEAD_LEFT = np.array(
    [[0, 0], [-1, 0], [-1, -1], [0, -1]], dtype=np.int32
)  # from the corner to the cell
_AHEAD_RIGHT = np.array(
    [[0, -1], [0, 0], [-1, 0], [-1, -1]], dtype=np.int32
)  # ahead on the left / right
_NEXT_FIRST = np.array(
    [[0, -1], [-1, 0], [-1, -1], [-1, -1]], dtype=np.int32
)  # to the next face's first cell
_NEXT_UPRIGHT = np.array([0, 1, 0, 1], dtype=np.int32)
# heading along a face by (upright, first cell inside): east, west, south, north
_HEADING = np.array([0, 2, 3, 1], dtype=np.int32)
# the turn at a corner by (cell ahead-left outside, cell ahead-right inside)
_TURN = np.array([0, 3, 1, 1], dtype=np.int32)


def _flat(grids: Sequence[np.ndarray], levels: int, thresholds=None):
    """All grids' ranks in one flat array of rows of one width (the widest grid's; border
    cells and the padding set to outside), where each grid starts, the width, and the values
    laid out the same way (None for rank grids)."""
    width = max(g.shape[1] for g in grids)
    rows = np.r_[0, np.cumsum([g.shape[0] for g in grids])]
    rtype = np.uint8 if levels < 255 else np.int32
    ranked = thresholds is None
    fill, dtype = (levels, rtype) if ranked else (np.inf, np.result_type(np.float32, *grids))
    flat = np.full((rows[-1], width), fill, dtype=dtype)
    for k, grid in enumerate(grids):
        h, w = grid.shape
        flat[rows[k] + 1 : rows[k] + h - 1, 1 : w - 1] = grid[1:-1, 1:-1]
    flat = flat.ravel()
    if thresholds is None:
        return flat, rows * width, width, None
    rank = np.zeros(len(flat), dtype=rtype)
    for t in np.asarray(thresholds, dtype=flat.dtype):
        rank += flat > t
    return rank, rows * width, width, flat


def _edges(rank, offset, width, val, levels: int, gap: float, thresholds=None, clip=1.0):
    """Directed faces (inside on the left), one per face and level it bounds, with the next
    one along the outline: (grid, level, x, y in cells, successor)."""
    # faces between cells of different rank: x = c + 1 (upright) or y = r + 1, with the
    # flat number of the cell west or south of them (borders are outside: nothing wraps)
    north = np.flatnonzero(rank[:-width] != rank[width:]).astype(np.int32)
    east = np.flatnonzero(rank[:-1] != rank[1:]).astype(np.int32)
    key = np.concatenate([2 * north, 2 * east + 1])  # 2 × cell + upright, grid by grid
    key.sort(kind="stable")  # two sorted runs: one merge
    first, upright = key >> 1, (key & 1).astype(bool)
    second = first + np.where(upright, np.int32(1), np.int32(width))  # east or north
    ra, rb = np.take(rank, first).astype(np.int32), np.take(rank, second).astype(np.int32)
    lo, count = np.minimum(ra, rb), np.abs(ra - rb)
    start = np.cumsum(count, dtype=np.int32) - count
    face = np.repeat(np.arange(len(first)), count)  # intp: the gathers below need no cast
    level = lo[face] + np.arange(len(face), dtype=np.int32) - start[face]
    inner, up, cell = (ra < rb)[face], upright[face], first[face]
    # along x = c + 1: north (first cell inside) or south; along y = r + 1: west or east
    heading = _HEADING[2 * up.view(np.int8) + inner.view(np.int8)]
    faces_at = np.searchsorted(first, offset)
    grid = np.repeat(np.arange(len(offset) - 1, dtype=np.int32), np.diff(faces_at))[face]
    r, c = np.divmod(cell, np.int32(width))
    r -= (offset // width).astype(np.int32)[grid]  # row within its grid
    shift = np.where(inner, -gap, gap) * (levels - 1 - level)
    shift += 0.5  # the first cell's centre, from its lower-left corner
    if val is None:
        shift += 0.5  # halfway to the next centre
    else:  # where the walk, clipped to ± clip about the limit, crosses it between the centres
        limit = np.asarray(thresholds, dtype=val.dtype)[level]
        fa = np.take(val, cell) - limit
        fb = np.take(val, np.take(second, face)) - limit
        for f in (fa, fb):
            np.minimum(np.maximum(f, -clip, out=f), clip, out=f)
        fb -= fa
        np.divide(fa, fb, out=fa)  # minus the crossing's distance from the first centre
        edge = 0.02 + gap * (levels - 1)
        np.minimum(np.maximum(fa, edge - 1, out=fa), -edge, out=fa)
        shift -= fa
    x = c + np.where(up, shift, 0.5)
    y = r + np.where(up, 0.5, shift)
    step = np.array([1, width], dtype=np.int32)
    corner = cell + (_END @ step)[heading]
    # at the corner: turn left round an outside cell ahead-left, go on along an inside one,
    # else turn right (cells touching at a corner stay apart)
    left = np.take(rank, corner + (_AHEAD_LEFT @ step)[heading])
    right = np.take(rank, corner + (_AHEAD_RIGHT @ step)[heading])
    after = (heading + _TURN[2 * (left > level).view(np.int8) + (right <= level).view(np.int8)]) & 3
    nxt = corner + (_NEXT_FIRST @ step)[after]
    # where each face is in the list, by (first cell, upright): one slot per cell and kind,
    # grid by grid (a face and the next one are in the same grid)
    nxt_key = 2 * nxt + _NEXT_UPRIGHT[after]
    where = np.empty(2 * int(np.diff(offset).max()), dtype=np.int32)
    edges_at = np.searchsorted(grid, np.arange(len(offset)))
    pos = np.empty(len(face), dtype=np.int32)
    for k in range(len(offset) - 1):
        f0, f1, e0, e1, base = *faces_at[k : k + 2], *edges_at[k : k + 2], 2 * offset[k]
        if f1 > f0:
            where[key[f0:f1] - base] = np.arange(f0, f1, dtype=np.int32)
            pos[e0:e1] = where[nxt_key[e0:e1] - base]
    return grid, level, x, y, start[pos] + level - lo[pos]


def _rings(succ: np.ndarray):
    """Faces in outline order: the order, each face's ring, and where each ring starts."""
    n = len(succ)
    graph = sparse.csr_matrix((np.ones(n), succ, np.arange(n + 1)), shape=(n, n))
    count, ring = csgraph.connected_components(graph, directed=True, connection="weak")
    lead = np.full(count, n, dtype=np.int64)
    np.minimum.at(lead, ring, np.arange(n))
    is_lead = np.zeros(n, dtype=bool)
    is_lead[lead] = True
    last = np.flatnonzero(is_lead[succ])  # the faces that lead back to their ring's first
    tail = np.empty(count, dtype=np.int64)
    tail[ring[last]] = last
    chain = succ.copy()  # one path through all rings: each ring's last face leads to the next
    chain[tail[:-1]] = lead[1:]
    chain[tail[-1]] = tail[-1]
    path = sparse.csr_matrix((np.ones(n), chain, np.arange(n + 1)), shape=(n, n))
    order = csgraph.depth_first_order(path, int(lead[0]), directed=True)[0]
    ring_of = ring[order]  # the path takes the rings in turn
    return order, ring_of, np.r_[np.flatnonzero(np.r_[True, ring_of[1:] != ring_of[:-1]]), n]


def _shifted(a: np.ndarray, starts: np.ndarray, step: int) -> np.ndarray:
    """Each ring's points one ahead (``step`` 1) or one back (-1), the ring taken as cyclic."""
    out = np.empty_like(a)
    first, last = starts[:-1], starts[1:] - 1
    if step > 0:
        out[:-1], out[last] = a[1:], a[first]
    else:
        out[1:], out[first] = a[:-1], a[last]
    return out


def _corners(x, y, starts):
    """Mask of the points where the outline turns (each ring cyclic)."""
    dx, dy = x - _shifted(x, starts, -1), y - _shifted(y, starts, -1)
    return np.abs(dx * _shifted(dy, starts, 1) - dy * _shifted(dx, starts, 1)) > 1e-9


def _area(x, y, starts, ring_of):
    """Signed area of each ring (positive: counter-clockwise, an outer ring)."""
    cross = x * _shifted(y, starts, 1) - _shifted(x, starts, 1) * y
    return 0.5 * np.bincount(ring_of, cross, minlength=len(starts) - 1)


def _in_filled(x, y, starts, area, group, hole_cells) -> np.ndarray:
    """Outer rings inside a hole that is filled (small islands in small holes)."""
    filled = np.flatnonzero((area < 0) & (area > -hole_cells))
    small = np.flatnonzero((area > 0) & (area < hole_cells))
    if not len(filled) or not len(small):
        return np.zeros(0, dtype=np.int64)
    size = np.diff(starts)[filled]
    at = np.repeat(starts[filled] - np.cumsum(size) + size, size) + np.arange(size.sum())
    holes = shapely.polygons(
        shapely.linearrings(np.c_[x[at], y[at]], indices=np.repeat(np.arange(len(filled)), size))
    )
    island, hole = shapely.STRtree(holes).query(
        shapely.points(x[starts[small]], y[starts[small]]), predicate="within"
    )
    return small[island[group[small[island]] == group[filled[hole]]]]


def _owners(group, outer, rings, x, y, starts):
    """The outer ring each kept ring belongs to (itself for an outer ring)."""
    owner = np.where(outer, np.arange(len(outer)), -1)
    shells = np.bincount(group[outer], minlength=group.max() + 1)
    alone = ~outer & (shells[group] == 1)
    only = np.full(len(shells), -1)
    only[group[outer]] = np.flatnonzero(outer)
    owner[alone] = only[group[alone]]
    open_ = np.flatnonzero(~outer & (shells[group] > 1))
    if len(open_):  # a hole among several outer rings: the smallest outer ring around it
        cand = np.flatnonzero(outer & np.isin(group, group[open_]))
        hole, shell = np.nonzero(group[open_][:, None] == group[cand][None, :])
        hole, shell = open_[hole], cand[shell]
        around = shapely.polygons(rings[shell])
        inside = shapely.contains_xy(around, x[starts[hole]], y[starts[hole]])
        hole, shell, area = hole[inside], shell[inside], shapely.area(around[inside])
        best = np.lexsort((area, hole))
        keep = np.r_[True, hole[best][1:] != hole[best][:-1]]
        owner[hole[best][keep]] = shell[best][keep]
    return owner


def nested_outlines(
    grids: Sequence[np.ndarray],
    origins: np.ndarray,
    *,
    cell: float,
    levels: int | None = None,
    thresholds: Sequence[float] | None = None,
    clip: float = 1.0,
    gap: float = 0.005,
    hole_cells: float = 10.0,
    project: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple] | None = None,
) -> np.ndarray:
    """Polygons of the nested cell sets of each grid of ranks or of values.

    Parameters
    ----------
    grids : sequence of 2-D arrays
        Per grid (rows = y up), the first level holding each cell (``levels`` for none), or
        with ``thresholds`` a value per cell. Cells on the grid's border are taken as outside.
    origins : array of shape (len(grids), 2)
        The lower-left corner of each grid's first cell, in the output's units.
    cell : float
        Cell size.
    levels : int, optional
        Number of levels of rank grids.
    thresholds : sequence of float, optional
        Ascending: level ``j`` holds the cells whose value is at most ``thresholds[j]``, and
        its outline crosses each face where the values of the two cells, each clipped to
        ``± clip`` about the threshold, cross it linearly (instead of halfway).
    clip : float, default 1
        See ``thresholds`` (in the values' units).
    gap : float, default 0.005
        Cells between the outlines of consecutive levels where they share a face.
    hole_cells : float, default 10
        Holes of smaller area (in cells) are filled.
    project : callable, optional
        ``project(grid, x, y) -> (x, y)`` maps the outlines' points (with the grid each
        belongs to, in ascending order) to the output CRS.

    Returns
    -------
    numpy.ndarray
        ``len(grids) × levels`` Polygon/MultiPolygon objects; an empty Polygon for a level
        holding no cell.
    """
    if thresholds is not None:
        levels = len(thresholds)
    out = np.full((len(grids), levels), None, dtype=object)
    out[:] = shapely.Polygon()
    if not len(grids):
        return out
    grid, level, x, y, succ = _edges(
        *_flat(grids, levels, thresholds), levels, gap, thresholds, clip
    )
    if not len(succ):
        return out
    group = grid * levels + level
    order, ring_of, starts = _rings(succ)
    group, grid = group[order][starts[:-1]], grid[order]
    x = x[order] * cell + origins[grid, 0]
    y = y[order] * cell + origins[grid, 1]
    area = _area(x, y, starts, ring_of) / (cell * cell)
    keep = (area > 0) | (area <= -hole_cells)
    keep[_in_filled(x, y, starts, area, group, hole_cells)] = False
    turn = _corners(x, y, starts) & keep[ring_of]
    starts = np.r_[0, np.cumsum(np.bincount(ring_of[turn], minlength=len(keep)))[keep]]
    group, outer = group[keep], area[keep] > 0
    x, y = x[turn], y[turn]
    if project is not None:
        x, y = project(grid[turn], x, y)
    ring_index = np.repeat(np.arange(len(group)), np.diff(starts))
    rings = shapely.linearrings(np.c_[x, y], indices=ring_index)
    owner = _owners(group, outer, rings, x, y, starts)
    members = np.flatnonzero(owner >= 0)
    # by grid and level, then each outer ring followed by its holes
    members = members[np.lexsort((~outer[members], owner[members], group[members]))]
    polys = shapely.polygons(rings[members], indices=_runs(owner[members]))
    shell_group = group[members][outer[members]]  # one per polygon, grouped
    groups, first, count = np.unique(shell_group, return_index=True, return_counts=True)
    flat = out.reshape(-1)
    flat[groups] = polys[first]
    if (count > 1).any():  # several polygons: a MultiPolygon
        parts = np.isin(shell_group, groups[count > 1])
        multi = shapely.multipolygons(polys[parts], indices=_runs(shell_group[parts]))
        flat[groups[count > 1]] = multi
    return out


def _runs(values: np.ndarray) -> np.ndarray:
    """0, 1, 2 … numbering the runs of equal values."""
    return np.cumsum(np.r_[False, values[1:] != values[:-1]])
