"""Outlines of nested sets of raster cells, many grids at once (marching squares in numpy).

A grid of *ranks* says for each cell the first level whose set holds it (``levels`` for none),
so level ``j`` is the cells of rank ``<= j`` and the sets are nested. An outline runs through
the middle of each face between a cell in the set and one outside (halfway between the cell
centres, corners cut at 45 degrees; cells that touch only at a corner stay apart), pulled
``gap × (levels - 1 - j)`` cells towards the inside, so that where two levels share a face
the shorter one's outline keeps clear of the longer one's: the polygons are nested with room
to spare, also after projection and rounding. Points in a straight line are dropped and holes
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


def _flat(grids: Sequence[np.ndarray], levels: int) -> tuple[np.ndarray, np.ndarray, int]:
    """All grids' ranks in one flat array of rows of one width (the widest grid's; border
    cells and the padding set to outside), where each grid starts, and the width."""
    width = max(g.shape[1] for g in grids)
    rows = np.r_[0, np.cumsum([g.shape[0] for g in grids])]
    rank = np.full((rows[-1], width), levels, dtype=np.uint8 if levels < 255 else np.int32)
    for k, grid in enumerate(grids):
        h, w = grid.shape
        rank[rows[k] + 1 : rows[k] + h - 1, 1 : w - 1] = grid[1:-1, 1:-1]
    return rank.ravel(), rows * width, width


def _edges(rank: np.ndarray, offset: np.ndarray, width: int, levels: int, gap: float):
    """Directed faces (inside on the left), one per face and level it bounds, with the next
    one along the outline: (grid, level, x, y in cells, successor)."""
    # faces between cells of different rank: x = c + 1 (upright) or y = r + 1, with the
    # flat number of the cell west or south of them (borders are outside: nothing wraps)
    across = np.flatnonzero(rank[:-1] != rank[1:]).astype(np.int32)
    up = np.flatnonzero(rank[:-width] != rank[width:]).astype(np.int32)
    first = np.concatenate([across, up])
    upright = np.arange(len(first)) < len(across)
    key = 2 * first + upright
    order = np.argsort(key, kind="stable")  # two sorted runs: grid by grid
    first, upright, key = first[order], upright[order], key[order]
    ra = rank[first].astype(np.int32)
    rb = rank[first + np.where(upright, 1, width).astype(np.int32)].astype(np.int32)
    lo, count = np.minimum(ra, rb), np.abs(ra - rb)
    start = np.cumsum(count, dtype=np.int32) - count
    face = np.repeat(np.arange(len(first), dtype=np.int32), count)
    level = lo[face] + np.arange(len(face), dtype=np.int32) - start[face]
    inner, up, cell = (ra < rb)[face], upright[face], first[face]
    # along x = c + 1: north (first cell inside) or south; along y = r + 1: west or east
    heading = _HEADING[2 * up.view(np.int8) + inner.view(np.int8)]
    faces_at = np.searchsorted(first, offset)
    grid = np.repeat(np.arange(len(offset) - 1, dtype=np.int32), np.diff(faces_at))[face]
    r, c = np.divmod(cell, np.int32(width))
    r -= (offset // width).astype(np.int32)[grid]  # row within its grid
    shift = np.where(inner, -gap, gap) * (levels - 1 - level)
    x = np.where(up, c + 1 + shift, c + 0.5)
    y = np.where(up, r + 0.5, r + 1 + shift)
    step = np.array([1, width], dtype=np.int32)
    corner = cell + (_END @ step)[heading]
    # at the corner: turn left round an outside cell ahead-left, go on along an inside one,
    # else turn right (cells touching at a corner stay apart)
    left = rank[corner + (_AHEAD_LEFT @ step)[heading]]
    right = rank[corner + (_AHEAD_RIGHT @ step)[heading]]
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
    before = np.empty(n, dtype=np.int64)
    before[succ] = np.arange(n)
    chain = succ.copy()  # one path through all rings: each ring's last face leads to the next
    tail = before[lead]
    chain[tail[:-1]] = lead[1:]
    chain[tail[-1]] = tail[-1]
    path = sparse.csr_matrix((np.ones(n), chain, np.arange(n + 1)), shape=(n, n))
    order = csgraph.depth_first_order(path, int(lead[0]), directed=True)[0]
    sizes = np.bincount(ring, minlength=count)
    return order, np.repeat(np.arange(count), sizes), np.r_[0, np.cumsum(sizes)]


def _corners(x, y, starts):
    """Mask of the points where the outline turns (each ring cyclic)."""
    ring_of = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    k = np.arange(len(x))
    first, last = starts[:-1][ring_of], starts[1:][ring_of] - 1
    prev, nxt = np.where(k == first, last, k - 1), np.where(k == last, first, k + 1)
    cross = (x - x[prev]) * (y[nxt] - y) - (y - y[prev]) * (x[nxt] - x)
    return np.abs(cross) > 1e-9


def _area(x, y, starts):
    """Signed area of each ring (positive: counter-clockwise, an outer ring)."""
    ring_of = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    k = np.arange(len(x))
    nxt = np.where(k == starts[1:][ring_of] - 1, starts[:-1][ring_of], k + 1)
    return 0.5 * np.bincount(ring_of, x * y[nxt] - x[nxt] * y, minlength=len(starts) - 1)


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
    ranks: Sequence[np.ndarray],
    origins: np.ndarray,
    *,
    cell: float,
    levels: int,
    gap: float = 0.005,
    hole_cells: float = 10.0,
    project: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple] | None = None,
) -> np.ndarray:
    """Polygons of the nested cell sets of each rank grid.

    Parameters
    ----------
    ranks : sequence of 2-D integer arrays
        Per grid (rows = y up), the first level holding each cell, ``levels`` for none.
        Cells on the grid's border are taken as outside.
    origins : array of shape (len(ranks), 2)
        The lower-left corner of each grid's first cell, in the output's units.
    cell : float
        Cell size.
    levels : int
    gap : float, default 0.005
        Cells between the outlines of consecutive levels where they share a face.
    hole_cells : float, default 10
        Holes of smaller area (in cells) are filled.
    project : callable, optional
        ``project(grid, x, y) -> (x, y)`` maps the outlines' points (with the grid each
        belongs to) to the output CRS.

    Returns
    -------
    numpy.ndarray
        ``len(ranks) × levels`` Polygon/MultiPolygon objects; an empty Polygon for a level
        holding no cell.
    """
    out = np.full((len(ranks), levels), None, dtype=object)
    out[:] = shapely.Polygon()
    if not len(ranks):
        return out
    grid, level, x, y, succ = _edges(*_flat(ranks, levels), levels, gap)
    if not len(succ):
        return out
    group = grid * levels + level
    order, ring_of, starts = _rings(succ)
    group, grid = group[order][starts[:-1]], grid[order]
    x = x[order] * cell + origins[grid, 0]
    y = y[order] * cell + origins[grid, 1]
    area = _area(x, y, starts) / (cell * cell)
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
    shell_group = group[members][outer[members]]
    multi = shapely.multipolygons(polys, indices=_runs(shell_group))
    single = shapely.get_num_geometries(multi) == 1
    multi[single] = shapely.get_geometry(multi[single], 0)
    flat = out.reshape(-1)
    flat[np.unique(shell_group)] = multi
    return out


def _runs(values: np.ndarray) -> np.ndarray:
    """0, 1, 2 … numbering the runs of equal values."""
    return np.cumsum(np.r_[False, values[1:] != values[:-1]])
