"""unify_layers: one grid layer from several, keeping as many existing grids as fit the bounds.

Per boundary polygon, candidates are chosen, the land left over is settled and divided, and
kept grids are given up (and taken back) until the new grids fit; several orders are tried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_crs, utm_crs
from geo.errors import InputError
from geo.grids.codes import area_code
from geo.grids.generate import GRID_BOUNDS, LEVELS, MICRO_BOUNDS, GridLayer
from geo.grids.inputs import require_buildings
from geo.grids.tessellation import polygonal
from geo.grids.unify.candidates import _candidates, _choose, _Kept, _ranks
from geo.grids.unify.divide import _add_micro, _divide, _tile
from geo.grids.unify.layers import _check_polygons, _check_tolerance, _Layer, _points, _read_layers
from geo.grids.unify.overlay import GRID_M, _clean, _diff, _merge, _shared
from geo.grids.unify.report import _decide, _finish_rows, _grid_frame, _kept_rows, _unify_report
from geo.grids.unify.settle import _least_trusted, _settle
from geo.lookup import first_containing

#: Rounds of giving up a kept grid so that the land left over can be divided within bounds.
MAX_RELEASE_ROUNDS = 6


def unify_layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None = None,
    priority: Sequence[str] | None = None,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    level: str = "grid",
    tolerance_m: float = 1.0,
) -> GridLayer:
    """One grid layer from several departments' layers, keeping as many of their grids as fit.

    Per boundary polygon: every grid of every layer, clipped to the polygon, is a candidate.
    A candidate can be kept when it is one piece and its households (buildings by
    representative point) are within the bounds. Candidates are taken in order — layer
    priority, then how many other layers drew the same grid (intersection over union at least
    :data:`AGREE_IOU`), then fewest clashes with other candidates still open — and kept
    unless they overlap a grid already kept by more than a sliver (slivers are trimmed off).

    The land left over is then settled: pieces without households (and slivers) join the
    kept neighbour they share most boundary with; pieces whose households cannot make whole
    grids within bounds join a neighbour that stays within bounds, or else the least trusted
    neighbour (lowest priority, fewest layers agreeing) is given up and the choice made again
    without it. The rest is divided with :func:`generate_grids`; where that misses the bounds,
    a neighbour is given up the same way (at most :data:`MAX_RELEASE_ROUNDS` times). Grids
    given up early are taken back at the end when that makes nothing worse.

    Without a priority this is tried with agreement alone and with each layer first; the
    outcome with fewest grids out of bounds, then most grids kept, is returned (the report's
    ``orders`` says which, per boundary polygon).

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        Each department's grids (EPSG:4326 polygons) by layer name; see :func:`compare_layers`.
        A layer with a ``level`` column holding several levels contributes the rows of the
        level being unified.
    buildings : GeoDataFrame
        EPSG:4326 buildings with ``building_id`` and ``households`` (filled in), optionally
        ``compound``, ``units``, ``floors``.
    boundary : GeoDataFrame
        EPSG:4326 polygons, each unified on its own; ``code`` (12 digits) prefixes the codes.
    roads : GeoDataFrame, optional
        Barrier lines for the newly divided land (see :func:`generate_grids`).
    priority : sequence of str, optional
        Layer names, most trusted first; layers not named follow in the mapping's order.
        Without it, grids drawn alike by more layers go first (see above).
    grid_bounds, micro_bounds : (int, int)
        Households per grid and per micro-grid.
    level : {'grid', 'micro', 'both'}
        'grid' or 'micro': the layers are of that level and are unified at it; 'both':
        unified grids, then micro-grids generated inside each. Households are counted by
        whole buildings, so micro-grid layers that slice tall buildings by floor cannot be
        kept as drawn (their slices count 0 or all of a building).
    tolerance_m : float, default 1.0
        Overlaps and leftover pieces narrower than this (metres) are slivers.

    Returns
    -------
    GridLayer
        ``grids``: the columns of :func:`generate_grids` (codes: boundary code + 3-digit
        sequence in reading order) plus ``origin`` ('kept' or 'new'), ``source_layer`` and
        ``source_code`` (the kept grid's layer and id), ``agreeing`` (``layer:id`` of the
        same grid in other layers) and ``added_m2`` (land a kept grid took over).
        ``report``: counts per source layer, ``kept``/``new``/``released``, ``kept_share``,
        ``boundary_share`` (share of the unified layer's boundary length lying within
        ``tolerance_m`` of some original grid boundary) and ``internal_boundary_share`` (the
        same without the outline of the boundary polygons), the decision on every candidate,
        and every infeasible part.

    Raises
    ------
    InputError
        Bad level, bounds, priority names, missing columns or non-polygon layers.
    CRSMismatchError
        Any frame not in EPSG:4326.

    Examples
    --------
    >>> unified = unify_layers({"综治": zongzhi, "城管": chengguan}, buildings, community,
    ...                        priority=["综治"])
    >>> unified.report["kept"], unified.report["new"]
    (5, 2)
    """
    _check_unify_inputs(buildings, boundary, roads, level, grid_bounds, micro_bounds)
    _check_tolerance(tolerance_m)
    tol = float(tolerance_m)
    top = "micro" if level == "micro" else "grid"
    bounds = micro_bounds if top == "micro" else grid_bounds
    crs = utm_crs(boundary)
    prepared = _read_layers(layers, crs, level=top)
    order = _priority(prepared, priority)
    b = buildings.reset_index(drop=True)
    points, hh = _points(b, crs)
    area_m = boundary.to_crs(crs).reset_index(drop=True)
    areas = [
        polygonal(shapely.set_precision(g, GRID_M))
        for g in shapely.make_valid(area_m.geometry.to_numpy())
    ]
    area_of = first_containing(points, areas)
    codes = area_m["code"] if "code" in area_m.columns else pd.Series([None] * len(area_m))

    rows: list[dict] = []
    decisions: list[dict] = []
    released_total = 0
    strategies = []
    for a, area in enumerate(areas):
        inside = np.flatnonzero(area_of == a)
        result = _unify_area(
            area,
            b.iloc[inside].reset_index(drop=True),
            points[inside],
            hh[inside],
            prepared,
            order,
            crs=crs,
            prefix=area_code(codes.iloc[a], a),
            roads=roads,
            level=top,
            bounds=bounds,
            tol=tol,
        )
        rows += result.rows
        decisions += result.decisions
        released_total += result.released
        strategies.append({"area_code": area_code(codes.iloc[a], a), "order": result.strategy})
    frame = _grid_frame(rows, crs)
    report = _unify_report(
        frame, decisions, prepared, areas, tol,
        level=level, grid_bounds=grid_bounds, micro_bounds=micro_bounds, bounds=bounds,
    )  # fmt: skip
    report["released"] = released_total
    report["orders"] = strategies
    report["buildings"] = int(len(b))
    report["households"] = int(hh.sum())
    report["buildings_outside"] = b.loc[area_of < 0, "building_id"].astype(str).tolist()
    grids = frame.to_crs(4326)
    if level == "both":
        grids = _add_micro(grids, b, roads, micro_bounds, report, tol)
    infeasible = [
        item for lvl in ("grid", "micro") for item in report.get(lvl, {}).get("infeasible", [])
    ]
    report["infeasible"] = infeasible
    return GridLayer(grids.reset_index(drop=True), report)


def _check_unify_inputs(buildings, boundary, roads, level, grid_bounds, micro_bounds) -> None:
    if level not in LEVELS:
        msg = f"level must be one of {', '.join(LEVELS)}, not {level!r}"
        raise InputError(msg)
    for name, pair in (("grid", grid_bounds), ("micro", micro_bounds)):
        lo, hi = pair
        if not (0 < lo <= hi):
            msg = f"{name} bounds must satisfy 0 < min <= max, got {lo}–{hi}"
            raise InputError(msg)
    require_buildings(buildings)
    _check_polygons(boundary, "boundary")
    if roads is not None:
        require_crs(roads, name="roads")


def _priority(layers: list[_Layer], priority: Sequence[str] | None) -> list[int] | None:
    """Rank of each layer: its place in `priority` (unnamed layers after, in given order)."""
    names = [layer.name for layer in layers]
    if priority is None:
        return None
    if isinstance(priority, str):
        priority = [p for p in priority.split(",") if p.strip()]
    priority = [p.strip() for p in priority]
    unknown = [p for p in priority if p not in names]
    if unknown:
        msg = f"priority names unknown layer(s) {unknown}; the layers are {names}"
        raise InputError(msg)
    if len(set(priority)) != len(priority):
        msg = f"priority names a layer twice: {priority}"
        raise InputError(msg)
    rest = [n for n in names if n not in priority]
    ranked = list(priority) + rest
    return [ranked.index(n) for n in names]


@dataclass
class _AreaResult:
    rows: list[dict]
    decisions: list[dict]
    released: int
    strategy: str


@dataclass
class _Outcome:
    """One way of dividing an area: the kept grids (with land joined to them) and new grids."""

    kept: list[_Kept]
    rows: list[dict]
    failed: int  # new grids out of bounds


def _unify_area(
    area,
    b: gpd.GeoDataFrame,
    points: np.ndarray,
    hh: np.ndarray,
    layers: list[_Layer],
    order: list[int] | None,
    *,
    crs,
    prefix: str,
    roads,
    level: str,
    bounds: tuple[int, int],
    tol: float,
) -> _AreaResult:
    cands = _candidates(area, points, hh, layers, bounds, tol)
    divided: dict[tuple, tuple[list[dict], int]] = {}  # the same leftover land comes up again

    def attempt(chosen: list[_Kept], ranks, *, may_give_up: bool) -> _Outcome | int | None:
        settled = _settle(area, chosen, ranks, points, hh, bounds, tol)
        if isinstance(settled, int):
            return settled if may_give_up else None
        kept, parts, owner = settled
        key = tuple(shapely.to_wkb(parts)) if parts else ()
        if key not in divided:
            divided[key] = _divide(parts, owner, b, roads, crs, level=level, bounds=bounds, tol=tol)
        rows, failed = divided[key]
        return _Outcome(kept, [dict(r) for r in rows], failed)

    # with a priority, that order; without, layers that agree first, and each layer first
    if order is not None:
        strategies = [("priority", order)]
    else:
        present = sorted({c.layer for c in cands})
        strategies = [("agreement", [0] * len(layers))]
        if len(present) > 1:
            strategies += [
                (f"{layers[li].name} first", [0 if k == li else 1 for k in range(len(layers))])
                for li in present
            ]
    best = None
    for name, ranking in strategies:
        ranks = _ranks(cands, ranking)
        result, given_up = _solve(cands, ranks, attempt, tol)
        key = (result.failed, -len(result.kept), len(given_up))
        if best is None or key < best[0]:
            best = (key, name, result, given_up)
    _, strategy, result, given_up = best
    _decide(cands, result.kept, set(given_up), layers)
    rows = _kept_rows(result.kept, cands, layers, b, points, hh, level) + result.rows
    for row, geom in zip(rows, _tile(area, [r["geometry"] for r in rows], tol), strict=True):
        row["geometry"] = geom  # an exact partition of the area, slivers and all
    _finish_rows(rows, bounds, prefix)
    decisions = [
        {
            "layer": layers[c.layer].name,
            "code": layers[c.layer].ids[c.row],
            "area_code": prefix,
            "households": c.households,
            "decision": c.decision,
            "reason": c.note,
        }
        for c in cands
    ]
    return _AreaResult(rows, decisions, len(given_up), strategy)


def _solve(cands, ranks, attempt, tol) -> tuple[_Outcome, list[int]]:
    """Choose, settle and divide, giving up kept grids while the rest cannot be divided within
    bounds; then take back any given up that fits again. Returns the outcome and the given up."""
    given_up: list[int] = []
    regenerated = 0
    while True:
        chosen = _choose(cands, ranks, tol, set(given_up))
        result = attempt(chosen, ranks, may_give_up=True)
        if isinstance(result, int):  # leftover land no neighbour can take: give one up
            given_up.append(result)
            continue
        if result.failed and regenerated < MAX_RELEASE_ROUNDS:
            pick = _release_for(result, ranks)
            if pick is not None:
                given_up.append(pick)
                regenerated += 1
                continue
        break
    # a grid given up early may fit again once others have gone: take it back if nothing worsens
    for c in sorted(given_up, key=lambda i: (ranks[i], i)):
        if cands[c].overlaps & {k.candidate for k in chosen}:
            continue
        geom = _clean(_diff(cands[c].geom, _merge([k.geom for k in chosen])), tol)
        if geom.geom_type != "Polygon":
            continue
        trial = attempt([*chosen, _Kept(c, geom)], ranks, may_give_up=False)
        if isinstance(trial, _Outcome) and trial.failed <= result.failed:
            chosen, result = [*chosen, _Kept(c, geom)], trial
            given_up.remove(c)
    return result, given_up


def _release_for(result: _Outcome, ranks) -> int | None:
    """The kept grid to give up next to a piece whose new grids are out of bounds."""
    geoms = [k.geom for k in result.kept]
    for row in result.rows:
        if row["within_bounds_generated"]:
            continue
        shared = _shared(row["_piece"], geoms)
        if shared.size and shared.max() > 0:
            pick = _least_trusted(shared, [ranks[k.candidate] for k in result.kept])
            return result.kept[pick].candidate
    return None
