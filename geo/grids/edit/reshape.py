"""Topological boundary editing: the corners that matter, and dragging one of them.

A level's polygons are read as a planar graph: *arcs* are runs of edges with the same owners
(two neighbours, or one polygon on the fixed line), *nodes* are where arcs meet. Fixed lines
are the layer's outer edge at grid level and every grid edge at micro level. Handles are the
nodes on a movable arc and the corners kept when each movable arc is simplified. Dragging a
handle moves every polygon that has it together: the vertices between the handle and the next
kept corner follow in proportion, so shared edges stay shared. The new polygons are the faces
of the moved linework (shapely.polygonize), so no overlap or gap can appear; a drag that would
make edges cross is refused. At grid level the micro-grids follow the moved edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from geo.crs import WGS84, require_crs
from geo.errors import InputError
from geo.grids.edit.counts import _recounted
from geo.grids.edit.geometry import _parts, _significant
from geo.grids.edit.layer import _Layer
from geo.grids.edit.messages import grid_name
from geo.grids.edit.moves import SNAP_DEG
from geo.grids.edit.prepare import _check_bounds, _metric_crs, _prepare_buildings, _prepare_layer
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS
from geo.grids.tessellation import polygonal

HANDLE_SIMPLIFY_M = 8.0  # corners of a shared edge that deviate less than this are no handles
HANDLE_PICK_M = 0.5  # `corner` names the handle within this distance
SLIDE_M = 15.0  # a handle on a fixed line is dragged along it when this close, else refused
SNAP_VERTEX_M = 0.05  # a slid corner this close to a vertex of the fixed line lands on it
M_PER_DEG = 111_320.0
CROSS_DEG = 1e-11  # a point noding adds this close to a moved edge is where it crosses
CLIP_GRID_DEG = 1e-9  # micro-grids cut by a moved grid edge are rounded to this (0.1 mm)
HANDLE_KINDS = ("junction", "corner", "boundary")
_WHOLE_LAYER = False  # True: give every face of the layer an owner (the reference for tests)

Key = tuple[float, float]


@dataclass
class _Arc:
    keys: list[Key]  # node to node (closed: first == last)
    owners: frozenset[int]  # layer rows having these edges
    fixed: bool


@dataclass
class _Handle:
    key: Key
    kind: str
    owners: set[int]
    arcs: list[tuple[int, int]]  # (arc, position of the handle in it)


def boundary_handles(
    grids: gpd.GeoDataFrame,
    *,
    level: str = "grid",
    codes: list[str] | None = None,
    simplify_m: float = HANDLE_SIMPLIFY_M,
) -> gpd.GeoDataFrame:
    """The corners of a level that a planner may drag, as points.

    Parameters
    ----------
    grids : GeoDataFrame
        EPSG:4326 layer with `code`, `level` and `parent_code`.
    level : {'grid', 'micro'}
        The polygons whose corners are wanted.
    codes : list of str, optional
        Only handles on these polygons.
    simplify_m : float
        Corners of a shared edge closer than this to its simplified line are left out.

    Returns
    -------
    GeoDataFrame
        One point per handle with `codes` (the polygons of the level sharing it) and `kind`:
        'junction' (three or more polygons meet), 'corner' (of a simplified shared edge) or
        'boundary' (on a fixed line: slides along it).
    """
    layer = _layer(grids)
    rows = _level_rows(layer, level)
    geoms = _noded(layer.frame.geometry.to_numpy())
    arcs = _arcs(geoms, rows, _fixed_edges(layer, geoms, level))
    found = _handles(arcs, simplify_m)
    wanted = None if codes is None else {str(c) for c in codes}
    out = [
        h for h in found.values() if wanted is None or wanted & {layer.code[r] for r in h.owners}
    ]
    return gpd.GeoDataFrame(
        {
            "codes": [sorted(str(layer.code[r]) for r in h.owners) for h in out],
            "kind": [h.kind for h in out],
        },
        geometry=shapely.points([h.key for h in out]) if out else [],
        crs=WGS84,
    )


def reshape_boundary(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    level: str,
    corner: tuple[float, float],
    to: tuple[float, float],
    locked: list[str] | tuple[str, ...] = (),
    simplify_m: float = HANDLE_SIMPLIFY_M,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    tolerance_m: float = 0.5,
) -> gpd.GeoDataFrame:
    """Drag the handle at `corner` to `to`, moving every polygon of `level` that has it.

    Shared edges move as one, buildings whose points change side change grid and the changed
    rows are recounted (as in recount). At grid level the micro-grids along the moved edges
    follow and stay inside their grids. A handle on a fixed line (kind 'boundary') slides along
    it: `to` is brought onto the line when within SLIDE_M.

    Parameters
    ----------
    grids, buildings : GeoDataFrame
        EPSG:4326 layer and its buildings.
    level : {'grid', 'micro'}
    corner, to : (lon, lat)
        A handle (as `handles` gives it) and where it goes.
    locked : list of str
        Grids that must not change (nor their micro-grids).
    simplify_m, grid_bounds, micro_bounds, tolerance_m
        As in `handles` and recount.

    Returns
    -------
    GeoDataFrame
        The edited layer: a new frame, rows in the same order and index.

    Raises
    ------
    InputError
        With a Chinese reason (English second): `corner` is no handle; the drag leaves the
        layer or its fixed line, makes edges cross or a polygon vanish; a locked grid changes.
    """
    _check_bounds(grid_bounds, micro_bounds, tolerance_m)
    require_crs(buildings, name="buildings")
    layer = _layer(grids)
    rows = _level_rows(layer, level)
    start, end = _point(corner, "corner"), _point(to, "to")
    geoms = _noded(layer.frame.geometry.to_numpy())
    invalid = [r for r in range(len(geoms)) if not geoms[r].is_valid][:3]
    if invalid:
        zh, en = "、".join(_zh(layer, r) for r in invalid), ", ".join(map(str, layer.code[invalid]))
        msg = f"请先修复无效的多边形：{zh} (fix the invalid polygons first: {en})"
        raise InputError(msg)
    arcs = _arcs(geoms, rows, _fixed_edges(layer, geoms, level))
    handle = _pick(_handles(arcs, simplify_m), start)
    target = _target(handle, end, arcs, layer, rows)
    moved = _displacement(handle, target, arcs, simplify_m)
    new = geoms.copy()
    # fixed lines stay as they are (a slid corner is a new vertex of theirs, see _target)
    lines = [shapely.linestrings(a.keys) if a.fixed else _moved(a.keys, moved) for a in arcs]
    touched = set(handle.owners)
    for arc in arcs:
        if not arc.fixed and any(k in moved for k in arc.keys):
            touched |= arc.owners
    moving = [not a.fixed and any(k in moved for k in a.keys) for a in arcs]
    _faces_into(new, rows, geoms, lines, moving, layer, level, tolerance_m, touched)
    if level == "grid" and len(layer.rows("micro")) and layer.top == "grid":
        micro = layer.rows("micro")
        codes = {layer.code[r] for r in touched}
        touched_micro = {int(m) for m in micro if layer.parent[m] in codes}
        on_grid = _fixed_edges(layer, geoms, "micro")
        inner = [
            arc.keys
            for arc in _arcs(geoms, _micro_near(layer, geoms, touched_micro | touched), on_grid)
            if (min(arc.keys[:2]), max(arc.keys[:2])) not in on_grid
        ]
        for keys in inner:
            _stretch(keys, moved)
        inner_lines = [_moved(keys, moved) for keys in inner]
        inner_moving = [any(k in moved for k in keys) for keys in inner]
        try:
            _faces_into(
                new, micro, geoms, lines + inner_lines, moving + inner_moving, layer, "micro",
                tolerance_m, touched_micro,
            )  # fmt: skip
            faulty = _micro_faults(layer, new, touched, tolerance_m)
        except InputError:  # the edge swept over micro corners: cut and hand over instead
            faulty = True
        if faulty:  # (or the faces left micro-grids overlapping or a gap in their grid)
            new[micro] = geoms[micro]
            _clip_micro(layer, geoms, new)
            if _micro_faults(layer, new, touched, tolerance_m):
                msg = (
                    "这样拖动会使微网格重叠或留下空隙，请拖得近一些 "
                    "(the drag would leave micro-grids overlapping or a gap; drag less far)"
                )
                raise InputError(msg)
    _require_nested(layer, new)
    changed = [
        r
        for r in range(len(new))
        if new[r] is not geoms[r] and not shapely.equals(new[r], geoms[r])
    ]
    levels = ("grid", "micro") if level == "grid" else ("micro",)
    changed += _snapped_neighbours(layer, geoms, changed, levels, locked)
    _require_unlocked(layer, changed, locked)
    final = layer.frame.geometry.to_numpy().copy()  # untouched rows keep their coordinates
    final[changed] = new[changed]
    out = _rebuilt(layer, buildings, final, changed, grid_bounds, micro_bounds, tolerance_m)
    _require_sums(out, {layer.code[r] for r in changed})
    return out


# -- the layer as a planar graph ----------------------------------------------------------------


def _layer(grids: gpd.GeoDataFrame) -> _Layer:
    require_crs(grids, name="grids")
    if len(grids) == 0:
        msg = "图层没有网格 (the layer has no grids)"
        raise InputError(msg)
    return _prepare_layer(grids, _metric_crs(grids, name="grids"))


def _level_rows(layer: _Layer, level: str) -> np.ndarray:
    if level not in ("grid", "micro"):
        msg = f"level 须为 grid 或 micro (level must be 'grid' or 'micro'), got {level!r}"
        raise InputError(msg)
    rows = layer.rows(level)
    if len(rows) == 0:
        msg = f"图层没有这一层级的多边形 (the layer has no {level} polygons)"
        raise InputError(msg)
    return rows


def _point(value, name: str) -> Key:
    try:
        lon, lat = (float(v) for v in value)
    except (TypeError, ValueError):
        msg = f"{name} 须为 [经度, 纬度] ({name} must be [lon, lat]), got {value!r}"
        raise InputError(msg) from None
    if not (np.isfinite([lon, lat]).all() and -180 <= lon <= 180 and -90 <= lat <= 90):
        msg = f"{name} 不是有效的经纬度 ({name} is not a WGS-84 lon/lat): {value!r}"
        raise InputError(msg)
    return (lon, lat)


def _noded(geoms: np.ndarray) -> np.ndarray:
    """Polygons whose vertices within SNAP_DEG of each other are made one (the first of each
    cluster), and with every vertex that lies on another polygon's edge inserted there, so
    that neighbours drawn to rounding share their vertices exactly."""
    xy = shapely.get_coordinates(geoms)
    unique, inverse = np.unique(xy, axis=0, return_inverse=True)
    points = shapely.points(unique)
    i, j = shapely.STRtree(points).query(points, predicate="dwithin", distance=SNAP_DEG)
    pairs = sparse.coo_matrix((np.ones(len(i)), (i, j)), shape=(len(unique), len(unique)))
    _, cluster = connected_components(pairs, directed=False)
    first = np.full(cluster.max() + 1 if len(cluster) else 0, len(unique))
    np.minimum.at(first, cluster, np.arange(len(unique)))
    clustered = shapely.set_coordinates(geoms.copy(), unique[first[cluster]][inverse.ravel()])
    clustered = shapely.remove_repeated_points(clustered)
    snapped = _snapped(clustered, shapely.points(unique[np.unique(first)]))
    good = shapely.is_valid(snapped) & ~shapely.is_empty(snapped)
    out = geoms.copy()
    out[good] = snapped[good]
    return out


def _snapped(geoms: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Each polygon snapped to the `vertices` within SNAP_DEG of its edges, all in one call
    (the vertices of each in their order in `vertices`)."""
    rows, near = shapely.STRtree(vertices).query(
        shapely.boundary(geoms), predicate="dwithin", distance=SNAP_DEG
    )
    targets = np.full(len(geoms), None, dtype=object)
    if len(rows):
        order = np.lexsort((near, rows))
        coords = shapely.get_coordinates(vertices[near[order]])
        shapely.multipoints(coords, indices=rows[order], out=targets)
    found = ~shapely.is_missing(targets)
    out = geoms.copy()
    out[found] = shapely.snap(geoms[found], targets[found], SNAP_DEG)
    return out


def _rings(geom) -> list[np.ndarray]:
    """Vertices of each ring of a (multi)polygon, without the closing one."""
    out = []
    for part in shapely.get_parts(geom):
        rings = [part.exterior, *part.interiors]
        out += [np.asarray(ring.coords)[:-1] for ring in rings if not ring.is_empty]
    return out


def _edges(geoms: np.ndarray, rows) -> dict[tuple[Key, Key], set[int]]:
    owners: dict[tuple[Key, Key], set[int]] = {}
    for r in rows:
        for ring in _rings(geoms[r]):
            keys = [tuple(xy) for xy in ring.tolist()]
            for a, b in zip(keys, keys[1:] + keys[:1], strict=True):
                if a != b:
                    owners.setdefault((min(a, b), max(a, b)), set()).add(int(r))
    return owners


def _fixed_edges(layer: _Layer, geoms: np.ndarray, level: str) -> set[tuple[Key, Key]]:
    """Edges that stay: the layer's outer edge, and at micro level every grid edge."""
    if level == "micro" and layer.top == "grid":
        return set(_edges(geoms, layer.rows("grid")))
    return set()


def _arcs(geoms: np.ndarray, rows, fixed: set) -> list[_Arc]:
    edges = _edges(geoms, rows)
    link: dict[Key, list[Key]] = {}
    for a, b in edges:
        link.setdefault(a, []).append(b)
        link.setdefault(b, []).append(a)

    labels = {edge: (frozenset(owners), len(owners) < 2 or edge in fixed)
              for edge, owners in edges.items()}  # fmt: skip

    def label(a: Key, b: Key) -> tuple[frozenset[int], bool]:
        return labels[(a, b) if a < b else (b, a)]

    def is_node(v: Key) -> bool:
        near = link[v]
        return len(near) != 2 or label(v, near[0]) != label(v, near[1])

    seen: set[tuple[Key, Key]] = set()
    arcs: list[_Arc] = []

    def walk(a: Key, b: Key) -> None:
        owners, fixed_arc = label(a, b)
        keys = [a]
        while True:
            seen.add((min(a, b), max(a, b)))
            keys.append(b)
            if is_node(b) or b == keys[0]:
                break
            u, w = link[b]  # not a node: exactly two neighbours
            a, b = b, u if u != a else w
        arcs.append(_Arc(keys, owners, fixed_arc))

    for v in link:
        if is_node(v):
            for w in link[v]:
                if (min(v, w), max(v, w)) not in seen:
                    walk(v, w)
    for a, b in edges:  # rings with no node: closed arcs
        if (a, b) not in seen:
            walk(a, b)
    return arcs


def _micro_near(layer: _Layer, geoms: np.ndarray, reach: set[int]) -> np.ndarray:
    """Micro-grids whose edges can bound a face the drag changes: those of the grids touching a
    row in `reach` (or touching it themselves), and any without a grid. Farther ones only split
    faces no reached row touches."""
    micro, grids = layer.rows("micro"), layer.rows("grid")
    if _WHOLE_LAYER or not reach:
        return micro
    reached = geoms[sorted(reach)]
    near_grids = grids[np.unique(shapely.STRtree(geoms[grids]).query(reached, "intersects")[1])]
    near_micro = micro[np.unique(shapely.STRtree(geoms[micro]).query(reached, "intersects")[1])]
    codes = {layer.code[g] for g in near_grids}
    orphan = set(layer.parent[micro]) - {layer.code[g] for g in grids}
    keep = np.isin(layer.parent[micro], list(codes | orphan)) | np.isin(micro, near_micro)
    return micro[keep]


def _scale(lat: float) -> np.ndarray:
    """Metres per degree of longitude and latitude near `lat` (lengths of a few hundred m)."""
    return np.array([np.cos(np.radians(lat)), 1.0]) * M_PER_DEG


def _metres(keys, scale: np.ndarray | None = None) -> np.ndarray:
    xy = np.asarray(keys, dtype=float)
    return xy * (_scale(xy[:, 1].mean()) if scale is None else scale)


def _kept(arc: _Arc, simplify_m: float) -> list[int]:
    """Positions of the arc's vertices kept by Douglas-Peucker at simplify_m (ends included)."""
    xy = _metres(arc.keys)
    simple = shapely.simplify(shapely.linestrings(xy), simplify_m, preserve_topology=False)
    kept = {tuple(p) for p in shapely.get_coordinates(simple)}
    return [k for k, p in enumerate(map(tuple, xy)) if p in kept or k in (0, len(xy) - 1)]


def _handles(arcs: list[_Arc], simplify_m: float) -> dict[Key, _Handle]:
    found: dict[Key, _Handle] = {}
    on_fixed = {k for arc in arcs if arc.fixed for k in arc.keys}
    for a, arc in enumerate(arcs):
        if arc.fixed:
            continue
        ends = {0, len(arc.keys) - 1} if arc.keys[0] != arc.keys[-1] else set()
        for k in _kept(arc, simplify_m):
            key = arc.keys[k]
            kind = "boundary" if key in on_fixed else "junction" if k in ends else "corner"
            h = found.setdefault(key, _Handle(key, kind, set(), []))
            h.owners |= arc.owners
            h.arcs.append((a, k))
            if k == 0 and arc.keys[-1] == key:
                h.arcs.append((a, len(arc.keys) - 1))
    for arc in arcs:  # owners of fixed edges at a node share the corner too
        for k in (0, len(arc.keys) - 1):
            if arc.fixed and arc.keys[k] in found:
                found[arc.keys[k]].owners |= arc.owners
    return found


# -- the drag -------------------------------------------------------------------------------------


def _pick(found: dict[Key, _Handle], start: Key) -> _Handle:
    if found:
        keys = list(found)
        xy = _metres([*keys, start])
        far = np.hypot(*(xy[:-1] - xy[-1]).T)
        best = int(np.argmin(far))
        if far[best] <= HANDLE_PICK_M:
            return found[keys[best]]
    msg = (
        f"起点 {start[0]:.7f}, {start[1]:.7f} 不是可拖动的角点，请先取得角点 "
        "(the start is no handle: ask /api/grids/handles first)"
    )
    raise InputError(msg)


def _target(handle: _Handle, end: Key, arcs: list[_Arc], layer: _Layer, rows) -> Key:
    """Where the handle goes: `end`, or its nearest point on the fixed line for a boundary one."""
    if handle.kind != "boundary":
        inside = shapely.union_all(shapely.get_parts(layer.frame.geometry.to_numpy()[rows]))
        if not shapely.intersects(inside, shapely.Point(end)):
            msg = (
                "不能把角点拖出社区或所属网格的边界 "
                "(the corner cannot leave the community boundary or its grid)"
            )
            raise InputError(msg)
        return end
    fixed = [k for k, arc in enumerate(arcs) if arc.fixed]
    origin = _scale(end[1])
    lines = np.array([shapely.LineString(_metres(arcs[k].keys, origin)) for k in fixed])
    point = shapely.Point(np.asarray(end) * origin)
    k = int(np.argmin(shapely.distance(lines, point)))
    if shapely.distance(lines[k], point) > SLIDE_M:
        msg = (
            f"边界上的角点只能沿边界移动，目标离边界超过 {SLIDE_M:g} 米 "
            f"(a corner on the boundary slides along it; the target is over {SLIDE_M:g} m off)"
        )
        raise InputError(msg)
    arc = arcs[fixed[k]]
    on_line = np.asarray(lines[k].interpolate(lines[k].project(point)).coords[0])
    xy = _metres(arc.keys, origin)
    near = int(np.argmin(np.hypot(*(xy - on_line).T)))
    if np.hypot(*(xy[near] - on_line)) <= SNAP_VERTEX_M:
        return arc.keys[near]
    spot = (float(on_line[0] / origin[0]), float(on_line[1] / origin[1]))
    _insert(arc, spot)
    return spot


def _insert(arc: _Arc, spot: Key) -> None:
    """Put `spot` into the arc's segment nearest to it, so the moved edges end on the line."""
    xy = np.asarray(arc.keys)
    segments = shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1))
    k = int(np.argmin(shapely.distance(segments, shapely.Point(spot))))
    arc.keys.insert(k + 1, spot)


def _displacement(handle: _Handle, target: Key, arcs: list[_Arc], simplify_m: float) -> dict:
    """New position of each vertex that moves: the handle to `target`, the vertices between it
    and the next kept corner of each arc in proportion to the distance along the arc."""
    delta = np.subtract(target, handle.key)
    moved: dict[Key, Key] = {handle.key: target}
    for a, k in handle.arcs:
        arc = arcs[a]
        kept = _kept(arc, simplify_m)
        run = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(_metres(arc.keys), axis=0).T))])
        for lo, hi, toward in (
            (max((j for j in kept if j < k), default=None), k, True),
            (k, min((j for j in kept if j > k), default=None), False),
        ):
            if lo is None or hi is None or run[hi] == run[lo]:
                continue
            for j in range(lo + 1, hi):
                share = (run[j] - run[lo]) / (run[hi] - run[lo])
                weight = share if toward else 1 - share
                key = arc.keys[j]
                moved[key] = (key[0] + weight * delta[0], key[1] + weight * delta[1])
    return moved


def _moved(keys: list[Key], moved: dict) -> shapely.LineString:
    return shapely.linestrings([moved.get(k, k) for k in keys])


def _stretch(keys: list[Key], moved: dict) -> None:
    """Micro edges inside a grid that end at a moved vertex follow it in proportion."""
    ends = [k for k in (0, len(keys) - 1) if keys[k] in moved]
    if not ends or all(k in moved for k in keys):
        return
    run = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(_metres(keys), axis=0).T))])
    total = run[-1] or 1.0
    first = np.subtract(moved.get(keys[0], keys[0]), keys[0])
    last = np.subtract(moved.get(keys[-1], keys[-1]), keys[-1])
    for j in range(1, len(keys) - 1):
        if keys[j] not in moved:
            share = run[j] / total
            d = (1 - share) * first + share * last
            moved[keys[j]] = (keys[j][0] + d[0], keys[j][1] + d[1])


def _faces_into(new, rows, geoms, lines, moving, layer: _Layer, level: str, tol: float, only):
    """The faces of `lines`, each given to the polygon of `rows` it overlaps most; only the rows
    in `only` (those the drag can reach) take theirs, the others stay as they were.

    Faces that overlap none stay gaps (as they were); faces too small or thin to matter (as the
    validator judges them: the seams of a layer drawn to rounding) join the polygon they overlap
    most without counting as a part.
    """
    crossing = "边界会与其他边界交叉或越过其他角点 (an edge would cross another edge or corner)"
    linework = shapely.multilinestrings(lines)
    noded = shapely.node(linework)
    # edges meet only at vertices they have; a point that noding adds on a moved edge is a
    # crossing (elsewhere it is the layer's own, within the validator's tolerance)
    given = set(map(tuple, shapely.get_coordinates(linework).tolist()))
    added = [xy for xy in shapely.get_coordinates(noded).tolist() if tuple(xy) not in given]
    if added and any(moving):
        edges = shapely.multilinestrings([ln for ln, m in zip(lines, moving, strict=True) if m])
        if shapely.dwithin(edges, shapely.points(added), CROSS_DEG).any():
            raise InputError(crossing)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    old = geoms[rows]
    tree = shapely.STRtree(old)
    mask = np.isin(rows, list(only))
    owner = np.full(len(faces), -1)
    # only a face touching a row that may change can go to one; the others keep no owner
    # (their rows keep their polygons), which spares an intersection per face of the layer
    near = shapely.STRtree(faces).query(old[mask], predicate="intersects")[1]
    for f in range(len(faces)) if _WHOLE_LAYER else np.unique(near):
        face = faces[f]
        hits = tree.query(face, predicate="intersects")
        if len(hits):
            areas = shapely.area(shapely.intersection(old[hits], face))
            owner[f] = hits[int(np.argmax(areas))] if areas.max() > 0 else -1
    scale = _scale(shapely.get_coordinates(faces[:1])[:, 1].mean()) if len(faces) else 1.0
    big = _significant(shapely.transform(faces, lambda xy: xy * scale), tol)
    got = np.bincount(owner[(owner >= 0) & big], minlength=len(rows))
    for f in np.flatnonzero(~big & (owner >= 0)):
        # a seam the layer had where an untouched polygon overlaps a touched one stays with
        # the untouched one (as it was)
        hits = tree.query(faces[f], predicate="intersects")
        fixed = hits[~mask[hits]]
        if len(fixed) and shapely.area(shapely.intersection(old[fixed], faces[f])).max() > 0:
            owner[f] = -1
    got[~mask] = shapely.get_num_geometries(old)[~mask]
    if (got == 0).any():
        lost = rows[np.flatnonzero(got == 0)[:3]]
        zh, gone = "、".join(_zh(layer, r) for r in lost), ", ".join(map(str, layer.code[lost]))
        msg = f"这样拖动会使{zh}消失或无效 (the drag would make {gone} vanish)"
        raise InputError(msg)
    if (got != shapely.get_num_geometries(old)).any():
        raise InputError(crossing)
    for k, r in enumerate(rows):
        if not mask[k]:
            continue
        mine = faces[owner == k]
        if len(mine) == 1:
            new[r] = mine[0]
        elif (owner == k).sum() == got[k]:
            new[r] = shapely.MultiPolygon(list(mine))
        else:
            new[r] = polygonal(shapely.union_all(mine))


def _clip_micro(layer: _Layer, geoms: np.ndarray, new: np.ndarray) -> None:
    """Micro-grids of each changed grid cut to its new polygon. The land the grid gained, and
    the smaller pieces of a micro-grid the cut splits, go to the micro-grid sharing the longest
    edge with them."""
    micro = layer.rows("micro")
    for g in layer.rows("grid"):
        if shapely.equals(new[g], geoms[g]):
            continue
        mine = micro[layer.parent[micro] == layer.code[g]]
        loose = []
        for m in mine:
            parts = _parts(shapely.intersection(geoms[m], new[g]))
            if len(parts) == 0:
                gone = layer.code[m]
                msg = (
                    f"这样拖动会使{_zh(layer, m)}消失，请拖得近一些 "
                    f"(the drag would make micro-grid {gone} vanish; drag less far)"
                )
                raise InputError(msg)
            main = int(np.argmax(shapely.area(parts)))
            new[m] = parts[main]
            loose += [(p, m) for k, p in enumerate(parts) if k != main]
        gained = shapely.difference(new[g], shapely.union_all(new[mine]))
        loose += [(p, -1) for p in _parts(gained)]
        for _ in range(3):  # a piece touching only another piece waits for it
            waiting = []
            for part, came_from in loose:
                near = shapely.buffer(part, SNAP_DEG)
                shared = shapely.length(shapely.intersection(shapely.boundary(new[mine]), near))
                shared[mine == came_from] = 0.0
                joined = None
                for k in np.argsort(-shared):  # the longest edge whose union stays one piece
                    if shared[k] <= 0:
                        break
                    m = mine[k]
                    union = polygonal(shapely.union(new[m], part))
                    if shapely.get_num_geometries(union) <= shapely.get_num_geometries(new[m]):
                        joined, new[m] = m, union
                        break
                if joined is None:
                    waiting.append((part, came_from))
            loose = waiting
        # overlay leaves spikes a hair wide that turn invalid once projected; rounding them
        # away must not cut a thin neck
        rounded = shapely.set_precision(new[mine], CLIP_GRID_DEG)
        keep = shapely.get_num_geometries(rounded) <= shapely.get_num_geometries(new[mine])
        new[mine[keep]] = rounded[keep]


def _zh(layer: _Layer, r: int) -> str:
    """Row r as people name it (瑞祥社区第3网格第2微网格)."""
    return grid_name(layer.code[r], layer.level[r], layer.community_name(r))


def _micro_faults(layer: _Layer, new: np.ndarray, grids, tol: float) -> bool:
    """Whether the micro-grids of `grids` overlap or leave a gap in their grid (larger than
    the validator's tolerance)."""
    micro = layer.rows("micro")
    for g in grids:
        mine = micro[layer.parent[micro] == layer.code[g]]
        if not len(mine):
            continue
        i, j = shapely.STRtree(new[mine]).query(new[mine], predicate="intersects")
        pairs = i < j
        pieces = [
            *shapely.intersection(new[mine][i[pairs]], new[mine][j[pairs]]),
            shapely.difference(new[g], shapely.union_all(new[mine])),
        ]
        parts = _parts(shapely.union_all(np.asarray(pieces, dtype=object)))
        if not len(parts):
            continue
        scale = _scale(shapely.get_coordinates(new[g])[:, 1].mean())
        if _significant(shapely.transform(parts, lambda xy, s=scale: xy * s), tol).any():
            return True
    return False


def _snapped_neighbours(layer: _Layer, geoms, changed, levels, locked) -> list:
    """Unchanged rows of `levels` whose vertices were snapped (_noded) and that touch a changed
    row, or such a row in turn: they take the snapped polygon too, so that shared edges stay
    identical (a building point millimetres from an edge would otherwise fall in a hairline
    overlap). Locked grids keep theirs."""
    given = layer.frame.geometry.to_numpy()
    locked = {str(c) for c in locked}
    rows = np.flatnonzero(np.isin(layer.level, levels))
    rows = rows[~np.isin(rows, changed)]
    free = np.array(
        [layer.code[r] not in locked and layer.parent[r] not in locked for r in rows], dtype=bool
    )
    snapped = shapely.to_wkb(geoms[rows]) != shapely.to_wkb(given[rows])
    candidates = rows[free & snapped].astype(np.int64)
    if not len(candidates) or not changed:
        return []
    tree = shapely.STRtree(geoms[candidates])
    taken: set[int] = set()
    frontier = list(changed)
    while frontier:
        _, hits = tree.query(geoms[frontier], predicate="intersects")
        fresh = {int(candidates[h]) for h in hits} - taken
        taken |= fresh
        frontier = sorted(fresh)
    return sorted(taken)


def _require_nested(layer: _Layer, new: np.ndarray) -> None:
    """Refuse a result with a micro-grid reaching out of its grid."""
    grid_of = {layer.code[g]: g for g in layer.rows("grid")}
    pairs = [(m, grid_of[layer.parent[m]]) for m in layer.rows("micro")
             if layer.parent[m] in grid_of]  # fmt: skip
    if not pairs:
        return
    micro, parent = np.asarray(pairs, dtype=np.int64).T
    outside = shapely.area(shapely.difference(new[micro], new[parent]))
    for m in micro[outside * M_PER_DEG**2 > 1.0]:  # m², roughly: more than rounding
        msg = (
            f"{_zh(layer, m)}会越出所属网格，请沿网格边界拖动或拖得近一些 "
            f"(micro-grid {layer.code[m]} would leave its grid; drag along the edge or "
            "a shorter way)"
        )
        raise InputError(msg)


def _require_unlocked(layer: _Layer, changed: list[int], locked) -> None:
    locked = {str(c) for c in locked}
    hit = sorted(
        {layer.code[r] if layer.code[r] in locked else layer.parent[r] for r in changed} & locked
    )
    if hit:
        names = "、".join(grid_name(c, "grid", layer.names.get(c[:12])) for c in hit)
        msg = f"{names}已锁定，请先解锁 (grid {', '.join(hit)} is locked; unlock it)"
        raise InputError(msg)


def _require_sums(out: gpd.GeoDataFrame, codes: set) -> None:
    """Refuse a result whose micro-grids no longer add up to their grid: the edge went through
    a building shared by several grids, and its shares could not follow at both levels."""
    if "level" not in out.columns or not (out["level"] == "micro").any():
        return
    wanted = codes | {c[:15] for c in codes}
    level, households = out["level"].tolist(), out["households"].tolist()
    micro: dict[str, int] = {}
    for lvl, parent, h in zip(level, out["parent_code"].tolist(), households, strict=True):
        if lvl == "micro" and isinstance(parent, str):
            micro[parent] = micro.get(parent, 0) + h
    for lvl, code, h in zip(level, out["code"].tolist(), households, strict=True):
        if lvl == "grid" and code in wanted and code in micro and int(micro[code]) != int(h):
            name = grid_name(code, "grid")
            msg = (
                f"这条边会穿过一栋分属几个网格的楼，{name}与其微网格的户数对不上；"
                "请让边绕开这栋楼 "
                f"(the edge would cut a building shared by several grids: grid {code} and its "
                "micro-grids would disagree; keep the edge off that building)"
            )
            raise InputError(msg)


def _rebuilt(layer, buildings, new, changed, grid_bounds, micro_bounds, tol) -> gpd.GeoDataFrame:
    """The layer with the new polygons of `changed`, recounted where buildings change side."""
    frame = layer.frame.copy()
    frame = frame.set_geometry(gpd.GeoSeries(new, index=frame.index, crs=WGS84))
    if not changed:
        out = frame
    else:
        edited = _prepare_layer(frame, layer.crs)
        b = _prepare_buildings(buildings, layer.crs)
        rows = np.asarray(changed, dtype=np.int64)
        out = _recounted(edited, b, rows, grid_bounds, micro_bounds, tol=tol, spread=True)
    out.index = layer.index
    return out
