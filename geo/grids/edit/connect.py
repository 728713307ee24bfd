"""Keep a grid in one piece when a move takes land out of it.

A building's land cell may run across its grid (cells follow the buildings, not the grid), so
taking the whole cell can cut what is left in two. The land given up is then trimmed to the part
of the cell next to the building and the target; when no trim keeps the source whole, the move
is refused before anything changes, naming the buildings cut off.
"""

from __future__ import annotations

import numpy as np
import shapely

from geo.errors import InputError
from geo.grids.edit.geometry import _parts, _significant, _to84, _to_metric
from geo.grids.edit.layer import _Buildings, _Layer
from geo.grids.edit.messages import grid_name, refusal

TRIM_M = (4.0, 8.0, 16.0, 32.0)  # corridor half-widths tried, narrowest first


def keep_sources_whole(
    layer: _Layer,
    b: _Buildings,
    geom84: np.ndarray,
    target: int,
    pieces: list[tuple[int, int, object]],
    keeps: dict[int, np.ndarray],
    cut,
    *,
    tol: float,
) -> list[tuple[int, int, object]]:
    """`pieces` (building, source, land in lon/lat) trimmed so that no source falls apart.

    `keeps[s]` are the buildings source `s` keeps; `cut(geom, land)` is the move's difference.
    Raises InputError (Chinese first) when a source would be cut in two whatever is trimmed.
    """
    crs = layer.crs
    out = list(pieces)
    for s in sorted({s for _, s, _ in pieces}):
        mine = [k for k, (_, t, _) in enumerate(out) if t == s]
        land = shapely.union_all([out[k][2] for k in mine])
        cut_off = _cut_off(cut(geom84[s], land), b, keeps.get(s, []), crs, tol)
        if not cut_off:
            continue
        for width in TRIM_M:
            trimmed = {k: _trim(out[k][2], b, out[k][0], geom84[target], width, crs) for k in mine}
            if any(t is None for t in trimmed.values()):
                continue
            land = shapely.union_all(list(trimmed.values()))
            if not _cut_off(cut(geom84[s], land), b, keeps.get(s, []), crs, tol):
                for k, piece in trimmed.items():
                    out[k] = (out[k][0], s, piece)
                break
        else:
            moved, moved_en = b.listed(sorted({str(b.ids[bi]) for bi, t, _ in out if t == s}))
            others, others_en = b.listed(cut_off)
            raise InputError(
                refusal(
                    "move_cuts_grid",
                    buildings=moved,
                    buildings_en=moved_en,
                    grid=grid_name(layer.code[s], layer.level[s]),
                    code=layer.code[s] or "",
                    others=others,
                    others_en=others_en,
                )
            )
    return out


def _cut_off(remainder84, b: _Buildings, keeps, crs, tol: float) -> list[str]:
    """Ids of kept buildings outside the part of `remainder84` holding most of them."""
    keeps = np.asarray(keeps, dtype=np.int64)
    if len(keeps) == 0:
        return []
    parts = _parts(remainder84)
    if len(parts) <= 1:
        return []
    metric = _to_metric(list(parts), crs)
    metric = metric[_significant(metric, tol)]
    if len(metric) <= 1:
        return []
    tree = shapely.STRtree(metric)
    hit_b, hit_p = tree.query(b.point[keeps], predicate="intersects")
    count = np.bincount(hit_p, minlength=len(metric))
    if (count > 0).sum() <= 1:
        return []
    main = int(np.argmax(count))
    return sorted(str(b.ids[keeps[k]]) for k, p in zip(hit_b, hit_p, strict=True) if p != main)


def _trim(land84, b: _Buildings, bi: int, target84, width: float, crs):
    """`land84` within `width` of the building and of its shortest way to the target; None
    when that strip no longer reaches the target. Cut in lon/lat, so the edges the strip keeps
    are the land's own."""
    if bi < 0:
        return land84
    target = _to_metric([target84], crs)[0]
    foot = b.footprint[bi]
    corridor = shapely.buffer(shapely.union(foot, shapely.shortest_line(foot, target)), width)
    corridor84, point84 = _to84([corridor, b.point[bi]], crs)
    holding = [p for p in _parts(shapely.intersection(land84, corridor84))
               if shapely.intersects(p, point84)]  # fmt: skip
    if not holding:
        return None
    strip = _to_metric([holding[0]], crs)[0]
    return holding[0] if _joins(strip, target, holding[0], target84) else None


def bridge_to_target(
    layer: _Layer,
    b: _Buildings,
    geom84: np.ndarray,
    target: int,
    pieces: list[tuple[int, int, object]],
    moved: set[int],
) -> list[tuple[int, int, object]]:
    """Pieces that do not reach the target, with the strip of their grid's land in between
    when that strip holds no other building (a road verge, a lawn): the connecting land goes
    along. Pieces that cannot be bridged are returned as they are (refused later)."""
    crs = layer.crs
    target_m = _to_metric([geom84[target]], crs)[0]
    tree = shapely.STRtree(b.point)
    out = []
    for bi, s, land in pieces:
        land_m = _to_metric([land], crs)[0]
        if bi < 0 or _joins(land_m, target_m, land, geom84[target]):
            out.append((bi, s, land))
            continue
        way = shapely.shortest_line(land_m, target_m)
        for width in TRIM_M:
            strip = shapely.buffer(way, width)
            others = set(tree.query(strip, predicate="intersects").tolist()) - moved
            if others:
                break
            strip84 = shapely.intersection(_to84([strip], crs)[0], geom84[s])
            joined = _parts(shapely.union(land, strip84))
            if len(joined) != 1 or not _joins(
                _to_metric(joined, crs)[0], target_m, joined[0], geom84[target]
            ):
                continue
            land = joined[0]
            break
        out.append((bi, s, land))
    return out


def _shared(geom_m, target_m) -> float:
    return float(
        shapely.length(shapely.intersection(geom_m.boundary, shapely.buffer(target_m, 0.05)))
    )


def _joins(piece_m, target_m, piece84, target84) -> bool:
    """Whether the piece shares an edge with the target: half a metre of it, and one polygon
    once joined (a corner, or an edge a centimetre off, is not enough)."""
    if _shared(piece_m, target_m) < 0.5:
        return False
    return len(_parts(shapely.union(piece84, target84))) == 1
