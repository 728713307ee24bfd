"""Splitting a building that is too large for one grid or micro-grid into parts.

Households are split by unit (单元) and floor range, in unit-major order (unit 1 floors 1…F, then
unit 2 …), into near-equal parts; the building's land cell is cut into strips across its long
axis in the same order, and no strip is narrower than MIN_STRIP_M across the footprint: a
footprint too short for a strip per part gets fewer, larger parts (floor ranges of one unit
are not drawn as thinner and thinner strips). Such a part can hold more households than a
micro-grid's maximum; the micro-grid holding it says why in its reason.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely import Geometry

from geo.grids.tessellation import polygonal

UNIT = "{unit}单元"
FLOORS = "{first}–{last}层"
ONE_FLOOR = "{first}层"
MIN_STRIP_M = 5.25  # no strip of a building narrower across its footprint (5 m and a margin)


def part_count(households: int, lo: int, hi: int) -> int:
    """Number of parts for a building: 1 if it fits, else within bounds where possible."""
    if households <= hi:
        return 1
    kmin, kmax = math.ceil(households / hi), households // lo
    if kmin <= kmax:
        return min(max(round(households / ((lo + hi) / 2)), kmin), kmax)
    return kmin  # parts fall below lo and are grouped with neighbours


def split_households(households: int, parts: int) -> np.ndarray:
    """`parts` integers, as equal as possible, adding up to `households`."""
    base, extra = divmod(int(households), parts)
    return np.array([base + (1 if i < extra else 0) for i in range(parts)], dtype=np.int64)


def piece_shares(
    households: int, lo: int, hi: int, *, grain: int | None = None, most: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Households per piece and the part each piece belongs to.

    A building is cut into parts that each fit the bounds where possible (part_count), and
    each part into pieces of about `grain` (default lo/3) households, so that the partition
    can still move a few floors to a neighbour when whole parts leave no layer within bounds.
    At most `most` pieces in all (strip_count): a footprint too short for more gives fewer,
    larger parts, above the maximum if need be, rather than thinner strips.
    """
    grain = max(1, lo // 3) if grain is None else grain
    most = most if most else households + 1
    parts = max(1, min(part_count(households, lo, hi), most))
    shares, part_of = [], []
    for p, part in enumerate(split_households(households, parts)):
        n = max(1, math.ceil(part / grain)) if part > 2 * grain else 1
        n = min(n, max(1, most // parts))
        shares += split_households(int(part), n).tolist()
        part_of += [p] * n
    return np.asarray(shares, dtype=np.int64), np.asarray(part_of, dtype=np.int64)


def slot_ranges(shares: np.ndarray, *, units: int | None, floors: int | None) -> np.ndarray:
    """For each piece, the first and last (unit, floor) slot it covers, unit-major."""
    units = int(units) if units and units > 0 else 1
    floors = int(floors) if floors and floors > 0 else 1
    slots = units * floors
    total = max(int(shares.sum()), 1)
    bounds = np.round(np.concatenate([[0], np.cumsum(shares)]) / total * slots).astype(int)
    first = bounds[:-1]
    last = np.maximum(bounds[1:] - 1, first)
    return np.column_stack([first, np.minimum(last, slots - 1)])


def describe_slots(first: int, last: int, *, units: int | None, floors: int | None) -> str:
    """'2单元 1–11层' for the slots first..last (unit-major numbering)."""
    floors = int(floors) if floors and floors > 0 else 1
    (u0, f0), (u1, f1) = divmod(int(first), floors), divmod(int(last), floors)
    if u0 == u1:
        text = (ONE_FLOOR if f0 == f1 else FLOORS).format(first=f0 + 1, last=f1 + 1)
        return f"{UNIT.format(unit=u0 + 1)} {text}"
    start = f"{UNIT.format(unit=u0 + 1)}{ONE_FLOOR.format(first=f0 + 1)}"
    end = f"{UNIT.format(unit=u1 + 1)}{ONE_FLOOR.format(first=f1 + 1)}"
    return f"{start}–{end}"


def strip_count(cell: Geometry, footprint: Geometry) -> int:
    """How many strips the building's land can be cut into, none narrower than MIN_STRIP_M
    across the footprint (the footprint on this land, else the land)."""
    axis = _long_axis(cell, footprint)
    return 1 if axis is None else max(1, int((axis[3] - axis[2]) // MIN_STRIP_M))


def _long_axis(cell: Geometry, footprint: Geometry):
    """(shape cut across, origin, t_min, t_max, axis): the footprint on this land (else the
    land) and its extent along its long axis; None for empty land."""
    shape = cell
    if footprint.geom_type != "Point":
        on_land = shapely.intersection(footprint, cell)
        if on_land.area > 0.05 * footprint.area:
            shape = on_land
    if shape.is_empty:
        return None
    rect = shapely.get_coordinates(shapely.minimum_rotated_rectangle(shape))[:4]
    edges = np.diff(np.vstack([rect, rect[:1]]), axis=0)
    long_edge = edges[int(np.argmax(np.hypot(edges[:, 0], edges[:, 1])))]
    axis = long_edge / max(np.hypot(*long_edge), 1e-9)
    origin = rect.mean(axis=0)
    t_shape = (shapely.get_coordinates(shape) - origin) @ axis
    return shape, origin, float(t_shape.min()), float(t_shape.max()), axis


def slice_cell(cell: Geometry, footprint: Geometry, shares: np.ndarray) -> list[Geometry]:
    """Cut `cell` into len(shares) strips across the footprint's long axis."""
    k = len(shares)
    if k == 1:
        return [cell]
    # cut across the part of the footprint on this land (all of it, for a whole building)
    found = _long_axis(cell, footprint)
    if found is None:  # no land to cut: the first strip takes it all (see drop_empty)
        return [cell] + [shapely.Polygon()] * (k - 1)
    shape, origin, t_min, t_max, axis = found
    normal = np.array([-axis[1], axis[0]])
    t_cell = (shapely.get_coordinates(cell) - origin) @ axis
    reach = float(np.abs(shapely.get_coordinates(cell) - origin).max()) * 4 + 10
    cuts = t_min + (t_max - t_min) * np.cumsum(shares)[:-1] / shares.sum()
    if shape.geom_type == "MultiPolygon":  # a footprint in pieces (cut by kept grids)
        cuts = _area_cuts(shape, origin, axis, normal * reach, t_min, t_max, shares)
    edges_t = np.concatenate([[t_cell.min() - 1], cuts, [t_cell.max() + 1]])
    slabs = [
        shapely.Polygon(
            [
                origin + t * axis + side * reach * normal
                for t, side in ((t0, -1), (t1, -1), (t1, 1), (t0, 1))
            ]
        )
        for t0, t1 in zip(edges_t[:-1], edges_t[1:], strict=True)
    ]
    strips = shapely.intersection(cell, np.asarray(slabs, dtype=object), grid_size=0.01)
    return _merge_fragments(list(strips), footprint)


def _area_cuts(shape, origin, axis, side, t_min, t_max, shares) -> np.ndarray:
    """Cuts along the axis giving each strip footprint area in proportion to its share: even
    steps along the axis would leave strips in the gap between the pieces without any."""
    ts = np.linspace(t_min, t_max, 201)
    below = [
        shapely.Polygon([origin + (t_min - 1) * axis - side, origin + t * axis - side,
                         origin + t * axis + side, origin + (t_min - 1) * axis + side])
        for t in ts
    ]  # fmt: skip
    covered = shapely.area(shapely.intersection(shape, np.asarray(below, dtype=object)))
    wanted = covered[-1] * np.cumsum(shares)[:-1] / np.sum(shares)
    return np.interp(wanted, np.maximum.accumulate(covered), ts)


def _merge_fragments(strips: list[Geometry], footprint: Geometry) -> list[Geometry]:
    """Keep each strip's part with the most of the footprint (else its largest); give stray
    parts to a neighbouring strip they share an edge with (else keep them). No land is lost:
    the strips still add up to the cell."""
    out = [polygonal(s) for s in strips]
    for i in range(len(out)):
        parts = shapely.get_parts(out[i])
        parts = parts[shapely.area(parts) > 0]
        if len(parts) <= 1:
            continue
        parts = parts[footprint_first(parts, footprint)]
        keep = parts[0]
        for stray in parts[1:]:
            shared = {
                j: shapely.length(shapely.intersection(stray.boundary, out[j].boundary))
                for j in (i - 1, i + 1)
                if 0 <= j < len(out)
            }
            j = max(shared, key=shared.get) if shared else None
            if j is not None and shared[j] > 0:
                out[j] = polygonal(shapely.union(out[j], stray, grid_size=0.01))
            else:
                keep = polygonal(shapely.union(keep, stray, grid_size=0.01))
        out[i] = keep
    return out


def footprint_first(parts: np.ndarray, footprint: Geometry | None) -> np.ndarray:
    """Order of `parts` with the most of `footprint` first (touching it for a point), then by
    area. A part kept for a share of households must cover its building: one with only open
    land would record a share of a building it does not overlap."""
    area = shapely.area(parts)
    if footprint is None or footprint.is_empty:
        return np.argsort(-area, kind="stable")
    on_foot = shapely.area(shapely.intersection(parts, footprint))
    touches = shapely.intersects(parts, footprint)
    return np.lexsort((-area, ~touches, -on_foot))


def drop_empty(pieces: list, shares, parts, slots) -> tuple[list, list, list, list]:
    """Give the households and slots of empty strips to the nearest non-empty strip."""
    keep = [i for i, g in enumerate(pieces) if not g.is_empty]
    if not keep or len(keep) == len(pieces):
        return list(pieces), list(shares), list(parts), [tuple(x) for x in slots]
    shares = [int(x) for x in shares]
    slots = [list(x) for x in slots]
    for i in range(len(pieces)):
        if i in keep:
            continue
        j = min(keep, key=lambda k: (abs(k - i), k))
        shares[j] += shares[i]
        slots[j] = [min(slots[j][0], slots[i][0]), max(slots[j][1], slots[i][1])]
    return (
        [pieces[i] for i in keep],
        [shares[i] for i in keep],
        [parts[i] for i in keep],
        [tuple(slots[i]) for i in keep],
    )
