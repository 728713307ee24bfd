"""move_buildings: hand buildings, with their land, from their grid to a neighbour."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import WGS84
from geo.errors import InputError
from geo.grids.edit.connect import bridge_to_target, keep_sources_whole
from geo.grids.edit.counts import _recounted
from geo.grids.edit.geometry import _geoms84, _parts, _to84, _to_metric, _valid_metric
from geo.grids.edit.holdings import _holdings
from geo.grids.edit.layer import _Area, _Buildings, _Layer, _name
from geo.grids.edit.messages import WORDS, grid_name, refusal
from geo.grids.edit.nesting import redivide_micro
from geo.grids.edit.prepare import (
    _prepare_inputs,
    _prepare_layer,
)
from geo.grids.edit.roads import _barriers
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS
from geo.grids.graph import build_graph, components, shared_edges
from geo.grids.tessellation import building_cells, polygonal, tessellate

SNAP_M = 0.02  # edited polygons snap to each other's vertices within this distance
SNAP_DEG = SNAP_M / 111_320  # the same in degrees, at most (a degree of latitude)
_WHOLE_REGION = False  # tests: tessellate the whole region for land cells, as before


def move_buildings(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    building_ids: Iterable[str] | str,
    *,
    to_code: str,
    roads: gpd.GeoDataFrame | None = None,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    tolerance_m: float = 0.5,
) -> gpd.GeoDataFrame:
    """Reassign buildings, with their land, to the grid `to_code` (at that grid's level).

    Each building's land cell (its share of the tessellation of the boundary polygon it lies in,
    cut by `roads` as in generate_grids) is cut out of the grids now holding the building and
    added to the target, so the layer stays free of gaps and overlaps. A move at grid level
    takes the land out of the source grids' micro-grids too and gives it to the target's
    micro-grid that shares the longest edge with it. A source left with no building hands the
    rest of its land to the target too and is dropped; stray bits of a source without buildings
    (and slivers) go to the edited neighbour they share most edge with. Households, members and
    shape measures are recomputed for the changed rows and for rows whose members change with
    them. Polygons stay single where the land allows; check the result with validate_layer.

    Parameters
    ----------
    grids, buildings, boundary : GeoDataFrame
        EPSG:4326 layer, buildings and the boundary the layer covers.
    building_ids : str or iterable of str
        Buildings to move.
    to_code : str
        The grid (or micro-grid) that receives them. Micro-grid moves stay inside one grid: a
        building standing across grids moves only its share in the target's grid.
    roads : GeoDataFrame, optional
        The roads given to generate_grids, so that land cells end at the same barriers.
    grid_bounds, micro_bounds, tolerance_m
        As in validate_layer.

    Returns
    -------
    GeoDataFrame
        The edited layer: a new frame, rows in the same order and index.

    Raises
    ------
    InputError
        Unknown code or building; a micro-grid move of a building with no share in the
        target's grid; land that does not touch the target ('not adjacent').
    """
    crs, area, layer, b = _prepare_inputs(
        grids, buildings, boundary, grid_bounds=grid_bounds, micro_bounds=micro_bounds,
        tolerance_m=tolerance_m, roads=roads,
    )  # fmt: skip
    tol = float(tolerance_m)
    target = layer.find(to_code)
    level = layer.level[target]
    moved = _building_rows(b, building_ids)
    rows = layer.rows(level)
    hold = _holdings(layer.geom[rows], layer.members(rows), b, tol=tol)
    sources: dict[int, list[int]] = {}
    for bi in moved:
        held = rows[hold.grid[hold.building == bi]]
        if len(held) == 0:
            word, word_en = WORDS[level]
            msg = refusal(
                "building_in_no_grid", building=b.label(bi), building_en=b.ids[bi], word=word,
                word_en=word_en,
            )  # fmt: skip
            raise InputError(msg)
        held = [int(s) for s in held if s != target]
        if held:
            sources[int(bi)] = held
    # the households each moved building ends with: (row, share) entries of its level
    force = {bi: [(int(target), int(b.households[bi]))] for bi in sources}
    if level == "micro" and layer.top == "grid":
        _share_only(layer, hold, rows, sources, force, target)
    if not sources:
        return grids.copy()

    involved = sorted({target, *(r for held in sources.values() for r in held)})
    near = shapely.union_all(layer.geom[involved])
    cells = _land_cells(b, list(sources), area, roads, crs, home=layer.geom[target], near=near)
    # the land each source gives up, in lon/lat so untouched edges keep their coordinates
    geom84 = _geoms84(layer)
    cells84 = dict(zip(cells, _to84(list(cells.values()), crs), strict=True))
    pieces: list[tuple[int, int, object]] = []  # (building, source row, land)
    for bi, held in sources.items():
        for s in held:
            land = polygonal(shapely.intersection(cells84[bi], geom84[s]))
            if not land.is_empty:
                pieces.append((bi, s, _snapped(land, geom84[s])))
    if not pieces:
        return grids.copy()
    pieces = bridge_to_target(layer, b, geom84, target, pieces, set(sources))
    _require_adjacent(layer, target, pieces, b, crs, geom84)
    keeps = {
        s: np.setdiff1d(hold.building[rows[hold.grid] == s], list(sources))
        for s in {s for _, s, _ in pieces}
    }
    pieces = keep_sources_whole(layer, b, geom84, target, pieces, keeps, _cut, tol=tol)

    new = geom84.copy()
    taken: dict[int, object] = {}
    for s in {s for _, s, _ in pieces}:
        taken[s] = shapely.union_all([land for _, t, land in pieces if t == s])
        new[s] = _cut(geom84[s], taken[s])
    # a source with no building left gives the rest of its land along when it borders the
    # target as it grows (a hairline left between two taken cells borders only new land)
    grown = shapely.union_all([geom84[target], *taken.values()])
    for s in [s for s in taken if not len(keeps[s])]:
        remnant = _remnant(new[s], grown, crs)
        if remnant is not None:
            pieces.append((-1, s, remnant))
            taken[s] = shapely.union(taken[s], remnant)
            new[s] = shapely.Polygon()
    new[target] = polygonal(shapely.union_all([geom84[target], *taken.values()]))
    changed = {target, *taken}
    _absorb_strays(layer, b, new, changed, crs, tol)
    force = {level: {bi: force[bi] for bi in sources}}
    out = _rebuild(layer, b, new, changed, grid_bounds, micro_bounds, tol=tol, force=force)
    if level == "micro" or layer.top != "grid":
        return out
    # the micro-grids the move broke are drawn anew inside their grids, also in a grid whose
    # share of a building changed with it (the building's other part moved)
    redraw = {str(layer.code[r]) for r in changed} | _recounted_grids(layer, out)
    return redivide_micro(
        _prepare_layer(out, crs), b, buildings, redraw,
        roads=roads, grid_bounds=grid_bounds, micro_bounds=micro_bounds, tol=tol, keep_intact=True,
    )  # fmt: skip


def _share_only(layer: _Layer, hold, rows, sources: dict, force: dict, target: int) -> None:
    """Micro-grid moves stay inside the target's grid: a building standing across grids moves
    only its share in that grid (the micro-grids of other grids keep theirs); one with no share
    in that grid is refused. Updates `sources` and `force` in place."""
    parent = layer.parent[target]
    strays = set()
    for bi in list(sources):
        held = rows[hold.grid[hold.building == bi]]
        shares = hold.share[hold.building == bi]
        inside = np.array([layer.parent[r] == parent for r in held], dtype=bool)
        if not inside.any():
            strays |= {str(layer.code[r]) for r in held}
            continue
        if inside.all():
            continue
        sources[bi] = [int(r) for r in held[inside] if r != target]
        kept = [(int(r), int(s)) for r, s in zip(held[~inside], shares[~inside], strict=True)]
        force[bi] = [(int(target), int(shares[inside].sum())), *kept]
        if not sources[bi]:
            del sources[bi]
    if strays:
        msg = refusal(
            "micro_between_grids", strays="、".join(sorted(strays)),
            grid=grid_name(parent, "grid"), parent=parent,
        )  # fmt: skip
        raise InputError(msg)


def _recounted_grids(layer: _Layer, out: gpd.GeoDataFrame) -> set[str]:
    """Codes of grids of `out` whose members differ from what `layer` recorded."""
    before = dict(zip(layer.code, layer.frame["members"], strict=True))
    grids = out[out["level"] == "grid"]
    return {str(c) for c, m in zip(grids["code"], grids["members"], strict=True)
            if c in before and _entries(m) != _entries(before[c])}  # fmt: skip


def _entries(members) -> list:
    return sorted((str(k), int(v)) for k, v in (members if members is not None else []))


def _building_rows(b: _Buildings, building_ids) -> np.ndarray:
    ids = [building_ids] if isinstance(building_ids, str) else [str(x) for x in building_ids]
    if not ids:
        raise InputError(refusal("no_buildings"))
    unknown = [x for x in ids if x not in b.index]
    if unknown:
        listed = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise InputError(refusal("unknown_buildings", n=len(unknown), listed=listed))
    return np.unique([b.index[x] for x in ids])


def _land_cells(
    b: _Buildings, moved: list[int], area: _Area, roads, crs, *, home, near
) -> dict[int, object]:
    """Land cell (metres) of each moved building, tessellating the part of the boundary polygon
    it is in that lies in `near` (the grids involved) among the buildings there; that polygon
    must hold the target grid `home` (moves stay inside a community)."""
    tree = shapely.STRtree(area.geoms)
    hit_b, hit_a = tree.query(b.point, predicate="intersects")
    order = np.lexsort((hit_a, hit_b))
    hit_b, hit_a = hit_b[order], hit_a[order]
    first = np.unique(hit_b, return_index=True)[1]
    area_of = np.full(len(b.ids), -1)
    area_of[hit_b[first]] = hit_a[first]
    barriers = _barriers(roads, crs)
    cells: dict[int, object] = {}
    for a in sorted({int(area_of[bi]) for bi in moved}):
        if a < 0:
            zh, en = b.listed([b.ids[bi] for bi in moved if area_of[bi] < 0])
            raise InputError(refusal("outside_area", buildings=zh, buildings_en=en))
        if not shapely.intersects(area.geoms[a], shapely.point_on_surface(home)):
            zh, en = b.listed([b.ids[bi] for bi in moved if area_of[bi] == a], limit=len(moved))
            raise InputError(refusal("move_across_areas", buildings=zh, buildings_en=en))
        region = polygonal(shapely.intersection(area.geoms[a], near))
        inside = np.flatnonzero(area_of == a)
        # buildings whose footprint reaches in keep the land they stand on, wherever their point
        inside = inside[shapely.intersects(region, b.footprint[inside]) | np.isin(inside, moved)]
        feet = b.footprint[inside]
        out = ~shapely.covered_by(feet, region) & (shapely.get_dimensions(feet) == 2)
        feet[out] = [polygonal(f) for f in shapely.intersection(feet[out], region)]
        mine = [bi for bi in moved if area_of[bi] == a]
        wanted = np.searchsorted(inside, mine)  # `inside` is sorted
        if _WHOLE_REGION:
            found = tessellate(feet, region, barriers=barriers)[0][wanted]
        else:
            found = building_cells(feet, region, wanted, barriers=barriers)
        cells.update(zip(mine, found, strict=True))
    return cells


def _require_adjacent(
    layer: _Layer, target: int, pieces, b: _Buildings, crs, geom84: np.ndarray
) -> None:
    """Every piece of land must connect to the target, directly or through other pieces."""
    metric = np.concatenate([[layer.geom[target]], _to_metric([p for _, _, p in pieces], crs)])
    i, j, _ = shared_edges(metric)
    graph = build_graph(len(metric), i, j, np.ones(len(i)), np.ones(len(i)))
    label = components(graph)
    apart = label[1:] != label[0]
    if not apart.any():  # edges within centimetres may still leave a hairline between them
        home = _parts(shapely.union_all([geom84[target], *(p for _, _, p in pieces)]))
        if len(home) > len(_parts(geom84[target])):
            main = shapely.union_all(
                home[shapely.area(shapely.intersection(home, geom84[target])) > 0]
            )
            inner = shapely.point_on_surface([p for _, _, p in pieces])
            apart = ~shapely.intersects(main, inner)
    lonely = sorted({b.ids[bi] for k, (bi, _, _) in enumerate(pieces) if apart[k]})
    if lonely:
        zh, en = b.listed(lonely)
        code, level = layer.code[target], layer.level[target]
        msg = refusal(
            "not_adjacent", buildings=zh, buildings_en=en, grid=grid_name(code, level), code=code,
            name_en=_name(layer, target),
        )  # fmt: skip
        raise InputError(msg)


def _remnant(geom, target, crs):
    """`geom` if it shares an edge with `target` (the caller knows it holds no building)."""
    if geom.is_empty:
        return None
    metric = _to_metric([geom, target], crs)
    shared = shapely.length(shapely.intersection(metric[0].boundary, metric[1].buffer(0.05)))
    return geom if shared >= 0.5 else None


def _snapped(geom, reference):
    """`geom` with vertices near `reference`'s vertices moved onto them (SNAP_M)."""
    out = shapely.snap(geom, reference, SNAP_DEG)
    return polygonal(shapely.make_valid(out)) if not shapely.is_valid(out) else out


def _cut(geom, land):
    """`geom` minus `land`, its edges first bent onto `land`'s nearby vertices.

    Land cells are snapped to a 1 cm grid by the tessellation, so their edges run within
    millimetres of a hand-drawn grid's edges; cut as they are, they would leave hairline
    spikes that turn invalid once projected.
    """
    cut = shapely.difference(_snapped(geom, land), land)
    return polygonal(shapely.make_valid(cut)) if not shapely.is_valid(cut) else polygonal(cut)


def _absorb_strays(layer: _Layer, b: _Buildings, new, changed: set[int], crs, tol: float):
    """Give the stray parts of an edited polygon to an edited neighbour of the same level.

    A part other than the largest goes when it is a sliver (under tol²) or holds no building;
    it goes to the neighbour (same parent first) that it shares most edge with.
    """
    tree = shapely.STRtree(b.point)
    for r in sorted(changed):
        parts = _parts(new[r])
        if len(parts) <= 1:
            continue
        metric = _to_metric(list(parts), crs)
        areas = shapely.area(metric)
        main = int(np.argmax(areas))
        peers = sorted(
            (c for c in changed if c != r and layer.level[c] == layer.level[r]),
            key=lambda c: layer.parent[c] != layer.parent[r],
        )
        rest = [parts[main]]
        for k, part in enumerate(parts):
            if k == main:
                continue
            empty = len(tree.query(metric[k], predicate="contains")) == 0
            shared = [shapely.length(shapely.intersection(part, new[c])) for c in peers]
            home = peers[int(np.argmax(shared))] if peers and max(shared) > 0 else None
            if home is None and peers:  # a sliver may only touch at its tip
                home = next((c for c in peers if shapely.dwithin(part, new[c], 1e-9)), None)
            if home is not None and (areas[k] < tol**2 or empty):
                new[home] = polygonal(shapely.union(new[home], _snapped(part, new[home])))
            else:
                rest.append(part)
        new[r] = rest[0] if len(rest) == 1 else shapely.MultiPolygon(rest)
    for r in changed:
        new[r] = _fill_pinholes(new[r], crs, tol)


def _fill_pinholes(geom, crs, tol: float):
    """`geom` without holes smaller than tol² (the seams of unions of nearly matching edges)."""
    polygons = _parts(geom)
    holes = [list(shapely.get_interior_ring(p, k) for k in range(shapely.get_num_interior_rings(p)))
             for p in polygons]  # fmt: skip
    if not any(holes):
        return geom
    out = []
    for polygon, rings in zip(polygons, holes, strict=True):
        if rings:
            areas = shapely.area(_to_metric([shapely.Polygon(r) for r in rings], crs))
            rings = [r for r, a in zip(rings, areas, strict=True) if a >= tol**2]
        out.append(shapely.Polygon(polygon.exterior, rings))
    return out[0] if len(out) == 1 else shapely.MultiPolygon(out)


def _rebuild(
    layer: _Layer,
    b: _Buildings,
    new84: np.ndarray,
    changed: set[int],
    grid_bounds,
    micro_bounds,
    *,
    tol: float,
    force: dict[str, dict[int, list[tuple[int, int]]]] | None = None,
) -> gpd.GeoDataFrame:
    """The layer with new polygons for `changed` rows, recounted, empty rows dropped;
    `force` gives, per level, moved buildings' (layer row, households) entries."""
    frame = layer.frame.copy()
    changed_rows = np.array(sorted(changed), dtype=np.int64)
    geometry = frame.geometry.to_numpy().copy()
    geometry[changed_rows] = [_valid_metric(new84[r], layer.crs) for r in changed_rows]
    frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=WGS84))
    edited = _prepare_layer(frame, layer.crs)
    # force is keyed by row of the level; convert layer rows to positions within the level
    level_force = {}
    for level, moves in (force or {}).items():
        rows = edited.rows(level)
        position = {int(r): k for k, r in enumerate(rows)}
        level_force[level] = {
            bi: [(position[int(g)], s) for g, s in entries] for bi, entries in moves.items()
        }
    out = _recounted(edited, b, changed_rows, grid_bounds, micro_bounds, tol=tol,
                     force=level_force, spread=True)  # fmt: skip
    areas = shapely.area(edited.geom)
    empty = np.zeros(len(frame), dtype=bool)
    empty[changed_rows] = areas[changed_rows] <= tol**2
    out.index = layer.index
    return out[~empty]
