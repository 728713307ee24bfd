"""Settling the land left over between kept grids: join what cannot be grids of its own."""

from __future__ import annotations

import math

import numpy as np
import shapely

from geo.grids.tessellation import polygonal
from geo.grids.unify.candidates import _Kept
from geo.grids.unify.overlay import _diff, _join, _merge, _shared, _wide
from geo.lookup import first_containing


def _feasible(households: float, lo: int, hi: int) -> bool:
    """Whether some number of grids of lo..hi households holds exactly this many."""
    return math.ceil(households / hi) <= math.floor(households / lo)


def _least_trusted(shared: np.ndarray, ranks: list[tuple]) -> int:
    """The neighbour (shared boundary > 0) to give up: lowest priority, then fewest layers
    agreeing, then the longest shared boundary."""
    neighbours = np.flatnonzero(shared > 0)
    return int(max(neighbours, key=lambda k: (ranks[k], shared[k])))


def _settle(area, chosen: list[_Kept], ranks, points, hh, bounds, tol):
    """Join leftover pieces that cannot be grids of their own to kept neighbours.

    Returns (kept grids with the land joined, pieces left to divide, the piece of each
    building or -1), or the candidate to give up when a piece no neighbour can take."""
    lo, hi = bounds
    geoms = [k.geom for k in chosen]
    remaining = polygonal(_diff(area, _merge(geoms)))
    parts = [p for p in shapely.get_parts(remaining) if p.area > 0]
    owner_k = first_containing(points, geoms)
    inside = owner_k >= 0
    h_kept = np.bincount(owner_k[inside], weights=hh[inside], minlength=len(chosen))
    owner_p = np.full(len(points), -1)
    owner_p[~inside] = first_containing(points[~inside], parts)
    counted = owner_p >= 0
    h_part = np.bincount(owner_p[counted], weights=hh[counted], minlength=len(parts))
    chosen_ranks = [ranks[k.candidate] for k in chosen]
    joined: dict[int, list[int]] = {}
    for p, part in enumerate(parts):
        h = h_part[p]
        shared = _shared(part, geoms)
        neighbours = np.flatnonzero(shared > 0) if shared.size else np.zeros(0, dtype=int)
        if not len(neighbours):
            continue  # divided on its own, within bounds or not
        sliver = not _wide([part], tol)[0]
        if h == 0:
            target = neighbours[np.argmax(shared[neighbours])]
        elif _feasible(h, lo, hi) and not sliver:
            continue
        else:
            fits = neighbours[h_kept[neighbours] + h <= hi]
            if len(fits):
                target = fits[np.argmax(shared[fits])]
            elif sliver and _feasible(h, lo, hi):
                continue
            else:
                return chosen[_least_trusted(shared, chosen_ranks)].candidate
        h_kept[target] += h
        joined.setdefault(int(target), []).append(p)
    kept = []
    for i, k in enumerate(chosen):
        ps = joined.get(i, [])
        if not ps:
            kept.append(_Kept(k.candidate, k.geom))
            continue
        kept.append(
            _Kept(
                k.candidate,
                _join(k.geom, [parts[p] for p in ps]),
                added_m2=float(sum(parts[p].area for p in ps)),
                added_households=int(round(sum(h_part[p] for p in ps))),
            )
        )
    taken = {p for ps in joined.values() for p in ps}
    left = [p for p in range(len(parts)) if p not in taken]
    remap = np.full(max(len(parts), 1), -1)
    remap[left] = np.arange(len(left))
    owner = np.where(owner_p >= 0, remap[np.maximum(owner_p, 0)], -1)
    return kept, [parts[p] for p in left], owner
