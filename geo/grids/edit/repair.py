"""repair_layer: bring a broken layer back to one without errors, changing as little as possible.

Good codes stay; missing, malformed, duplicated or misplaced ones get the next free number
(recode.py). Locked grids (and their micro-grids) are not touched; only polygons
with an error change. At grid level: invalid polygons are repaired, overlaps go to one grid
(locked grids first, then by code), what reaches beyond the boundary is cut off, stray parts
and gaps go to the neighbour they share most edge with. At micro level: the micro-grids of each
grid with a micro-level error (or whose polygon changed) are drawn anew inside it
(redivide_micro); micro-grids naming no grid of the layer are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import WGS84
from geo.grids.edit.counts import _recounted
from geo.grids.edit.geometry import _geoms84, _parts, _significant, _to_metric, _valid_metric
from geo.grids.edit.layer import _Layer
from geo.grids.edit.nesting import redivide_micro
from geo.grids.edit.prepare import _prepare_inputs, _prepare_layer
from geo.grids.edit.recode import recode
from geo.grids.edit.validate import validate_layer
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS, GridLayer
from geo.grids.tessellation import polygonal

MICRO_KINDS = {"gap", "micro_not_nested", "micro_sum_mismatch", "overlap", "not_contiguous",
               "invalid_geometry", "building_left_out", "building_in_two_grids"}  # fmt: skip


def repair_layer(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    locked: Iterable[str] = (),
    roads: gpd.GeoDataFrame | None = None,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    tolerance_m: float = 0.5,
) -> GridLayer:
    """The layer with its geometric and nesting errors repaired (see the module docstring).

    Returns
    -------
    GridLayer
        The whole layer sorted by code, and a report: 'changed' (grid codes whose polygon
        changed), 'redivided' (grids whose micro-grids were drawn anew), 'dropped' (codes),
        'recoded' ({old code: new code}).
    """
    grids, recoded = recode(grids, boundary)
    crs, area, layer, b = _prepare_inputs(
        grids, buildings, boundary, grid_bounds=grid_bounds, micro_bounds=micro_bounds,
        tolerance_m=tolerance_m,
    )  # fmt: skip
    tol = float(tolerance_m)
    keep_codes = {str(c) for c in locked}
    top = layer.rows(layer.top)
    free = np.array([r for r in top if layer.code[r] not in keep_codes], dtype=np.int64)
    new = _geoms84(layer)
    broken = ~np.isin(shapely.get_type_id(layer.raw), (3, 6)) | ~shapely.is_valid(layer.raw)
    changed = {int(r) for r in free if broken[r]}
    changed |= _fix_overlaps(layer, new, top, keep_codes, crs, tol)
    changed |= _clip_to_boundary(new, free, area, crs, tol)
    changed |= _hand_over_strays(layer, new, top, free, b, crs, tol)
    changed |= _fill_gaps(new, top, free, area, crs, tol)
    frame = layer.frame.copy()
    rows = np.array(sorted(changed), dtype=np.int64)
    geometry = frame.geometry.to_numpy().copy()
    geometry[rows] = [_valid_metric(new[r], crs) for r in rows]
    frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=WGS84))
    edited = _prepare_layer(frame, crs)
    frame = _recounted(edited, b, rows, grid_bounds, micro_bounds, tol=tol, spread=True)
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=WGS84)
    report = {"changed": sorted(str(layer.code[r]) for r in rows), "redivided": [], "dropped": [],
              "recoded": recoded}  # fmt: skip
    if layer.top != "grid" or not (layer.level == "micro").any():
        return GridLayer(frame.sort_values("code").reset_index(drop=True), report)

    grid_codes = {str(c) for c in layer.code[layer.rows("grid")] if c}
    orphans = (frame["level"] == "micro") & ~frame["parent_code"].isin(grid_codes)
    report["dropped"] = sorted(frame.loc[orphans, "code"].astype(str))
    frame = frame[~orphans].reset_index(drop=True)
    redo = _grids_with_micro_errors(frame, buildings, boundary, grid_bounds, micro_bounds, tol)
    redo = (redo | set(report["changed"])) - keep_codes
    if redo:
        frame = redivide_micro(
            _prepare_layer(frame, crs), b, buildings, redo, roads=roads,
            grid_bounds=grid_bounds, micro_bounds=micro_bounds, tol=tol,
        )  # fmt: skip
    report["redivided"] = sorted(redo)
    return GridLayer(frame.sort_values("code", kind="stable").reset_index(drop=True), report)


def _fix_overlaps(layer: _Layer, new, top, keep_codes: set[str], crs, tol: float) -> set[int]:
    """Each overlap stays with one grid: locked grids first, then the lower code."""
    order = sorted(top, key=lambda r: (layer.code[r] not in keep_codes, layer.code[r] or ""))
    changed: set[int] = set()
    tree = shapely.STRtree(new[order])
    for k, r in enumerate(order):
        if layer.code[r] in keep_codes:
            continue
        earlier = [order[j] for j in tree.query(new[r], predicate="intersects") if j < k]
        if not earlier:
            continue
        overlap = shapely.intersection(new[r], shapely.union_all(new[earlier]))
        if not _matters(overlap, crs, tol):
            continue
        new[r] = polygonal(shapely.difference(new[r], shapely.union_all(new[earlier])))
        changed.add(int(r))
    return changed


def _matters(geom84, crs, tol: float) -> bool:
    """Whether `geom84` has a part larger and wider than the tolerance (not rounding)."""
    parts = _parts(geom84)
    return bool(len(parts)) and bool(_significant(_to_metric(list(parts), crs), tol).any())


def _clip_to_boundary(new, free, area, crs, tol: float) -> set[int]:
    whole = shapely.union_all(_to84_area(area, crs))
    changed = set()
    for r in free:
        if _matters(shapely.difference(new[r], whole), crs, tol):
            new[r] = polygonal(shapely.intersection(new[r], whole))
            changed.add(int(r))
    return changed


def _to84_area(area, crs):
    return gpd.GeoSeries(list(area.geoms), crs=crs).to_crs(WGS84).to_numpy()


def _hand_over_strays(layer: _Layer, new, top, free, b, crs, tol: float) -> set[int]:
    """Every part of a grid but the one with most buildings goes to a free neighbour."""
    changed: set[int] = set()
    for r in free:
        parts = _parts(new[r])
        if len(parts) <= 1:
            continue
        metric = _to_metric(list(parts), crs)
        held = np.bincount(
            shapely.STRtree(metric).query(b.point, predicate="intersects")[1],
            minlength=len(parts),
        )
        main = int(np.lexsort((-shapely.area(metric), -held))[0])
        kept = [parts[main]]
        for k, part in enumerate(parts):
            if k == main:
                continue
            home = _join(part, new, [g for g in free if g != r], crs)
            if home is None:
                kept.append(part)
                continue
            changed.add(int(home))
        new[r] = kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)
        changed.add(int(r))
    return changed


def _fill_gaps(new, top, free, area, crs, tol: float) -> set[int]:
    """Land of the boundary in no grid goes to the free grid sharing most edge with it."""
    changed: set[int] = set()
    whole = shapely.union_all(_to84_area(area, crs))
    for part in _parts(shapely.difference(whole, shapely.union_all(new[top]))):
        if not _significant(_to_metric([part], crs), tol)[0]:
            continue
        home = _join(part, new, list(free), crs)
        if home is not None:
            changed.add(int(home))
    return changed


def _join(part, new, candidates, crs) -> int | None:
    """Add `part` to the candidate sharing most edge with it whose polygon stays in as many
    pieces (else to the one sharing most edge); the candidate, None when none touches it."""
    ranked = _neighbours_by_edge(part, new, candidates, crs)
    if not ranked:
        return None
    unions = {}
    for home in ranked:
        unions[home] = polygonal(shapely.union(new[home], part))
        if len(_parts(unions[home])) <= len(_parts(new[home])):
            break
    else:
        home = ranked[0]
    new[home] = unions[home]
    return home


def _neighbours_by_edge(part, new, candidates, crs) -> list[int]:
    """The candidates touching `part`, most shared edge (metres) first."""
    near = [c for c in candidates if shapely.dwithin(part, new[c], 1e-7)]
    if not near:
        return []
    metric = _to_metric([part, *[new[c] for c in near]], crs)
    edge = shapely.buffer(metric[0].boundary, 0.05)
    shared = [shapely.length(shapely.intersection(edge, g.boundary)) for g in metric[1:]]
    return [int(near[k]) for k in np.argsort(-np.asarray(shared), kind="stable")]


def _grids_with_micro_errors(frame, buildings, boundary, grid_bounds, micro_bounds, tol):
    """Codes of grids whose micro-grids have an error."""
    problems = validate_layer(
        frame, buildings, boundary, grid_bounds=grid_bounds, micro_bounds=micro_bounds,
        tolerance_m=tol,
    )  # fmt: skip
    errors = problems[(problems["severity"] == "error") & (problems["level"] == "micro")]
    errors = errors[errors["kind"].isin(MICRO_KINDS)]
    grids = frame[frame["level"] == "grid"]
    parent = dict(zip(frame["code"], frame["parent_code"], strict=True))
    out: set[str] = set()
    for code, other, geom in zip(
        errors["code"], errors["other_code"], errors.geometry, strict=True
    ):
        for c in (code, other):
            if c and len(c) == 15:
                out.add(c)
            elif c and parent.get(c):
                out.add(parent[c])
        if not code and geom is not None:  # a building left out: the grid around its point
            hit = grids[grids.intersects(geom)]
            out |= set(hit["code"])
    return out
