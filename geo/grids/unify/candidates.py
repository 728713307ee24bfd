"""Existing grids as candidates for the unified layer: which agree, which clash, which to keep.

Every grid of every layer, clipped to a boundary polygon, is a candidate; they are ranked by
layer priority and agreement, and chosen greedily so that no two kept grids overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from geo.grids.unify.layers import _sum_within
from geo.grids.unify.overlay import _clean, _diff, _inter, _merge, _pairs, _wide

#: Grids of two layers "agree" (are the same grid drawn twice) when their intersection is at
#: least this share of their union.
AGREE_IOU = 0.9


@dataclass
class _Candidate:
    """An existing grid, clipped to one boundary polygon."""

    layer: int
    row: int
    geom: shapely.Geometry
    households: int
    reason: str | None  # why it cannot be kept as drawn; None if it can
    agrees: set[int] = field(default_factory=set)  # candidates of other layers, same grid
    overlaps: set[int] = field(default_factory=set)  # candidates sharing more than a sliver
    inside: float = 1.0  # share of the drawn grid inside this boundary polygon
    decision: str = "rejected"
    note: str | None = None


@dataclass
class _Kept:
    candidate: int
    geom: shapely.Geometry
    added_m2: float = 0.0
    added_households: int = 0


def _candidates(area, points, hh, layers, bounds, tol) -> list[_Candidate]:
    lo, hi = bounds
    cands: list[_Candidate] = []
    for li, layer in enumerate(layers):
        if len(layer.geoms) == 0:
            continue
        hit = np.flatnonzero(shapely.intersects(layer.geoms, area))
        clipped = _inter(layer.geoms[hit], area)
        for row, geom in zip(hit, clipped, strict=True):
            geom = _clean(geom, tol)
            if geom.is_empty:
                continue
            whole = layer.geoms[row].area
            cands.append(_Candidate(li, int(row), geom, 0, None))
            cands[-1].inside = geom.area / whole if whole else 1.0
    counts = _sum_within([c.geom for c in cands], points, hh)
    for c, n in zip(cands, counts, strict=True):
        c.households = int(round(n))
        if c.geom.geom_type != "Polygon":
            parts = len(shapely.get_parts(c.geom))
            c.reason = f"not one piece inside the boundary ({parts} parts)"
        elif not lo <= c.households <= hi:
            c.reason = f"{c.households} households, outside {lo}–{hi}"
    _relate(cands, tol)
    return cands


def _relate(cands: list[_Candidate], tol: float) -> None:
    """Fill in which candidates agree with (same grid) and overlap each other."""
    geoms = np.array([c.geom for c in cands], dtype=object)
    i, j = _pairs(geoms, geoms)
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return
    pieces = _inter(geoms[i], geoms[j])
    inter = shapely.area(pieces)
    union = shapely.area(geoms[i]) + shapely.area(geoms[j]) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    wide = _wide([_clean(p, tol) for p in pieces], tol)
    for a, b, w, same in zip(i, j, wide, iou >= AGREE_IOU, strict=True):
        if w:
            cands[a].overlaps.add(int(b))
            cands[b].overlaps.add(int(a))
        if same and cands[a].layer != cands[b].layer:
            cands[a].agrees.add(int(b))
            cands[b].agrees.add(int(a))


def _ranks(cands: list[_Candidate], order: list[int]) -> list[tuple[int, int]]:
    """Sort key of each candidate: its layer's place in the order, then most layers agreeing."""
    return [(order[c.layer], -len({cands[o].layer for o in c.agrees})) for c in cands]


def _choose(cands: list[_Candidate], ranks, tol: float, excluded: set[int]) -> list[_Kept]:
    """Greedy choice of candidates that can be kept together: by rank (priority, agreement),
    then the one clashing with the fewest others still open."""
    open_ = {i for i, c in enumerate(cands) if c.reason is None and i not in excluded}
    kept: list[_Kept] = []
    taken = shapely.Polygon()
    while open_:
        best = min(ranks[i] for i in open_)
        tier = [i for i in open_ if ranks[i] == best]
        pick = min(tier, key=lambda i: (len(cands[i].overlaps & open_), cands[i].layer, i))
        open_.discard(pick)
        geom = _clean(_diff(cands[pick].geom, taken), tol)
        if geom.is_empty:
            continue
        if geom.geom_type != "Polygon":  # a sliver of a kept grid cut it: keep the main piece
            parts = shapely.get_parts(geom)
            geom = parts[int(np.argmax(shapely.area(parts)))]
        kept.append(_Kept(pick, geom))
        taken = _merge([taken, geom])
        open_ -= cands[pick].overlaps
    return kept
