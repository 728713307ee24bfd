"""Which grids hold which buildings, and with how many households.

A building is held by the grid containing its representative point, except where a split
recorded in ``members`` still holds (see :mod:`geo.grids.edit`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import shapely

from geo.grids.edit.layer import _Buildings
from geo.grids.edit.memo import Memo, each

# the area a grid and a footprint share, by their WKB: most pairs recur from edit to edit
_SHARED = Memo(16384)


@dataclass
class _Holdings:
    """Which grids of one level hold which buildings, and with how many households."""

    owner: np.ndarray  # per building: the grid containing its point, -1 if none
    doubles: list[tuple[int, int, int]]  # (building, grid, other grid): point inside both
    building: np.ndarray  # one entry per (building, grid) holding
    grid: np.ndarray
    share: np.ndarray
    split: np.ndarray  # per building: held in shares by several grids

    def households(self, n: int) -> np.ndarray:
        return np.bincount(self.grid, weights=self.share, minlength=n).astype(np.int64)

    def held(self, n_buildings: int) -> np.ndarray:
        mask = np.zeros(n_buildings, dtype=bool)
        mask[self.building] = True
        return mask


def _entries(value: object) -> list[tuple[str, int]]:
    """(building_id, households) pairs of a `members` value (list, array or JSON text)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    out = []
    for entry in value:
        try:
            out.append((str(entry[0]), int(entry[1])))
        except (TypeError, ValueError, IndexError):
            continue
    return out


def _holdings(
    geoms: np.ndarray,
    members: list,
    b: _Buildings,
    *,
    tol: float,
    force: dict[int, list[tuple[int, int]]] | None = None,
) -> _Holdings:
    """Holdings of the grids `geoms` (one level): by point, except splits that still hold and
    buildings in `force`, held by the (grid, households) entries given."""
    n_b = len(b.ids)
    tree = shapely.STRtree(geoms)
    pb, pg = tree.query(b.point, predicate="within")
    order = np.lexsort((pg, pb))
    pb, pg = pb[order], pg[order]
    owner = np.full(n_b, -1, dtype=np.int64)
    starts = np.unique(pb, return_index=True)[1]
    owner[pb[starts]] = pg[starts]
    ends = np.append(starts[1:], len(pb)) if len(starts) else starts
    doubles = [
        (int(pb[s]), int(pg[s]), int(pg[k]))
        for s, e in zip(starts, ends, strict=True)
        if e - s > 1
        for k in range(s + 1, e)
    ]
    lonely = np.flatnonzero(owner < 0)
    if len(lonely):  # on an edge, or in a rounding sliver: the nearest grid within tol
        qb, qg = tree.query(b.point[lonely], predicate="dwithin", distance=tol)
        if len(qb):
            gap = shapely.distance(b.point[lonely[qb]], geoms[qg])
            order = np.lexsort((qg, gap, qb))
            qb, qg = qb[order], qg[order]
            first = np.unique(qb, return_index=True)[1]
            owner[lonely[qb[first]]] = qg[first]

    split_b, split_g, split_s = _recorded_splits(geoms, members, b, owner, tol=tol)
    split = np.zeros(n_b, dtype=bool)
    split[split_b] = True
    single = np.flatnonzero(~split & (owner >= 0))
    building = np.concatenate([split_b, single])
    grid = np.concatenate([split_g, owner[single]])
    share = np.concatenate([split_s, b.households[single]])
    if force:  # moved buildings: their holdings as given
        moved = np.fromiter(force.keys(), dtype=np.int64)
        entries = [(bi, g, s) for bi, held in force.items() for g, s in held]
        fb, fg, fs = (np.array([e[k] for e in entries], dtype=np.int64) for k in range(3))
        keep = ~np.isin(building, moved)
        building = np.concatenate([building[keep], fb])
        grid = np.concatenate([grid[keep], fg])
        share = np.concatenate([share[keep], fs])
        split[moved] = False
        split[fb] = np.bincount(fb, minlength=n_b)[fb] > 1
    order = np.lexsort((building, grid))
    return _Holdings(
        owner,
        doubles,
        building[order].astype(np.int64),
        grid[order].astype(np.int64),
        share[order].astype(np.int64),
        split,
    )


def _recorded_splits(geoms, members, b: _Buildings, owner: np.ndarray, *, tol: float):
    """The (building, grid, share) entries of recorded splits that still hold."""
    eb, eg, es = [], [], []
    for g, value in enumerate(members):
        for building_id, households in _entries(value):
            bi = b.index.get(building_id)
            if bi is not None:
                eb.append(bi)
                eg.append(g)
                es.append(households)
    empty = (np.empty(0, np.int64),) * 3
    if not eb:
        return empty
    eb, eg, es = (np.asarray(x, dtype=np.int64) for x in (eb, eg, es))
    # an entry of no households records a touch, not a share: it needs none of the footprint
    held = es > 0
    eb, eg, es = eb[held], eg[held], es[held]
    if not len(eb):
        return empty
    # one entry per (building, grid), then only buildings named by several grids
    pairs, inverse = np.unique(np.column_stack([eb, eg]), axis=0, return_inverse=True)
    shares = np.bincount(inverse.ravel(), weights=es, minlength=len(pairs)).astype(np.int64)
    bi, gi = pairs[:, 0], pairs[:, 1]
    buildings, first, count = np.unique(bi, return_index=True, return_counts=True)
    several = np.repeat(count > 1, count)
    bi, gi, shares = bi[several], gi[several], shares[several]
    if len(bi) == 0:
        return empty
    foot = b.footprint[bi]
    overlaps = np.ones(len(bi), dtype=bool)
    polygon = np.isin(shapely.get_type_id(foot), (3, 6))
    if polygon.any():
        grids, feet = geoms[gi[polygon]], foot[polygon]
        keys = list(zip(shapely.to_wkb(grids), shapely.to_wkb(feet), strict=True))
        shared = each(_SHARED, keys, lambda k: _shared_area(grids[k], feet[k]))
        overlaps[polygon] = shared.astype(float) > tol**2
    group, start = np.unique(bi, return_index=True)
    all_overlap = np.minimum.reduceat(overlaps.astype(int), start).astype(bool)
    has_point = np.maximum.reduceat((gi == owner[bi]).astype(int), start).astype(bool)
    total = np.add.reduceat(shares, start)
    good = group[all_overlap & has_point & (total == b.households[group])]
    keep = np.isin(bi, good)
    return bi[keep], gi[keep], shares[keep]


def _shared_area(grids: np.ndarray, feet: np.ndarray) -> np.ndarray:
    return shapely.area(shapely.intersection(grids, feet))


def _member_lists(hold: _Holdings, n: int, b: _Buildings) -> list[list]:
    out: list[list] = [[] for _ in range(n)]
    for g, bi, s in zip(hold.grid, hold.building, hold.share, strict=True):
        out[g].append([str(b.ids[bi]), int(s)])
    return out
