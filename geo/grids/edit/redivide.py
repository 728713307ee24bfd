"""regenerate and split_grid: divide part of a layer anew, keeping the rest as it is.

Both hand the area to divide to generate_grids with the buildings (or the households) that the
kept grids do not hold, and code the new grids around the codes kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84, require_crs
from geo.errors import InputError
from geo.grids.edit.geometry import _parts, _significant, _to84
from geo.grids.edit.holdings import _holdings
from geo.grids.edit.layer import _bounds_of, _Buildings, _Layer, _name
from geo.grids.edit.messages import grid_name, refusal
from geo.grids.edit.prepare import (
    _check_bounds,
    _metric_crs,
    _prepare_buildings,
    _prepare_inputs,
    _prepare_layer,
    _text,
)
from geo.grids.edit.roads import _inner_roads
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS, NO_PARENT, GridLayer, generate_grids

SPLIT_SLACK = 0.2  # split_grid: parts may differ from an even share by this fraction


@dataclass
class _Region:
    """An area to divide anew, and how its new grids are coded."""

    geom: object  # metres
    prefix: str  # code prefix of the new top-level rows (12 digits, or a grid's 15)
    parent: str | None  # parent_code of the new top-level rows
    area_code: str  # the community code written to `area_code`
    first_code: str | None = None  # a code the first new row (reading order) keeps


def regenerate(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    locked: Iterable[str] | str,
    roads: gpd.GeoDataFrame | None = None,
    level: str = "both",
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    tolerance_m: float = 0.5,
) -> GridLayer:
    """Divide the area again with generate_grids, keeping the locked grids exactly as they are.

    The locked grids and their micro-grids are copied unchanged (geometry, code and every other
    column). The rest of each boundary polygon (minus the locked polygons) is divided with the
    buildings not held by locked grids; a building shared with a locked grid brings only its
    remaining households. New grids are numbered in reading order with the sequence numbers the
    locked grids of the same community do not use.

    Parameters
    ----------
    grids, buildings, boundary : GeoDataFrame
        EPSG:4326 layer, buildings and the boundary the layer covers.
    locked : str or iterable of str
        Codes of top-level grids to keep (grid codes; micro-grid codes in a layer of
        micro-grids only).
    roads, level, grid_bounds, micro_bounds
        As in generate_grids. `level` applies to the new grids ('grid', 'both'; 'micro' for a
        layer of micro-grids only).
    tolerance_m : float
        Leftover area thinner than this is not divided (rounding along locked edges).

    Returns
    -------
    GridLayer
        The whole layer, sorted by code, and the report of generate_grids for the new part
        plus 'locked' (codes), 'locked_households' and 'new_codes'.
    """
    crs, area, layer, b = _prepare_inputs(
        grids, buildings, boundary, grid_bounds=grid_bounds, micro_bounds=micro_bounds,
        tolerance_m=tolerance_m,
    )  # fmt: skip
    top = layer.top
    allowed = ("micro",) if top == "micro" and len(layer.code) else ("grid", "both")
    if level not in allowed:
        msg = refusal("regenerate_level", allowed=", ".join(allowed), level=repr(level)[:40])
        raise InputError(msg)
    codes = [locked] if isinstance(locked, str) else [str(c) for c in locked]
    locked_rows = []
    for code in dict.fromkeys(codes):
        row = layer.find(code)
        if layer.level[row] != top:
            raise InputError(refusal("lock_micro_code", code=code, parent=layer.parent[row]))
        locked_rows.append(row)
    locked_rows = np.asarray(locked_rows, dtype=np.int64)
    keep = np.zeros(len(layer.code), dtype=bool)
    keep[locked_rows] = True
    if top == "grid":
        keep |= (layer.level == "micro") & np.isin(layer.parent, list(layer.code[locked_rows]))
    kept_union = shapely.union_all(layer.geom[locked_rows]) if len(locked_rows) else None
    regions = []
    for a, geom in enumerate(area.geoms):
        rest = shapely.difference(geom, kept_union) if kept_union is not None else geom
        prefix = area.prefixes[a] + (NO_PARENT if top == "micro" else "")
        regions.append(_Region(rest, prefix, None, area.prefixes[a]))
    stored = layer.stored_households()
    report = {
        "locked": sorted(layer.code[locked_rows].tolist()),
        "locked_households": int(np.nansum(stored[locked_rows])) if len(locked_rows) else 0,
    }
    gen_level = "micro" if top == "micro" and len(layer.code) else level
    return _redivide(
        layer, b, buildings, keep=keep, work_level=top, regions=regions, level=gen_level,
        grid_bounds=grid_bounds, micro_bounds=micro_bounds, real_bounds=None, roads=roads,
        tol=float(tolerance_m), report=report,
    )  # fmt: skip


def split_grid(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    code: str,
    *,
    parts: int = 2,
    roads: gpd.GeoDataFrame | None = None,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    tolerance_m: float = 0.5,
) -> GridLayer:
    """Divide one grid (or micro-grid) into `parts` of about equal households.

    The grid's polygon is divided with generate_grids (each part within ±20 % of an even
    share); a grid with micro-grids gets new micro-grids. The first part in reading order
    keeps the code, the others take the lowest sequence numbers free in the community (or, for
    micro-grids, in the grid). Everything else is unchanged. `within_bounds` and `reason` of
    the parts are judged against `grid_bounds` / `micro_bounds`.

    Returns
    -------
    GridLayer
        The whole layer, sorted by code, and the report of generate_grids for the grid's area
        plus 'split' (the code) and 'new_codes'.
    """
    _check_bounds(grid_bounds, micro_bounds, tolerance_m)
    if not isinstance(parts, int | np.integer) or parts < 2:
        raise InputError(refusal("split_parts", parts=repr(parts)[:40]))
    require_crs(grids, name="grids")
    require_crs(buildings, name="buildings")
    crs = _metric_crs(boundary, name="boundary")
    layer = _prepare_layer(grids, crs)
    b = _prepare_buildings(buildings, crs)
    row = layer.find(code)
    level = layer.level[row]
    nested = level == "micro" and layer.top == "grid"
    rows = layer.rows(level)
    hold = _holdings(layer.geom[rows], layer.members(rows), b, tol=tolerance_m)
    total = int(hold.households(len(rows))[int(np.searchsorted(rows, row))])
    if total < parts:
        msg = refusal(
            "split_too_few", grid=grid_name(layer.code[row], level), name_en=_name(layer, row),
            households=total, parts=parts,
        )  # fmt: skip
        raise InputError(msg)
    share = total / parts
    lo = max(1, math.floor(share * (1 - SPLIT_SLACK)))
    hi = max(lo, math.ceil(share * (1 + SPLIT_SLACK)))
    keep = np.ones(len(layer.code), dtype=bool)
    keep[row] = False
    has_micro = False
    if not nested and layer.top == "grid":
        children = (layer.level == "micro") & (layer.parent == layer.code[row])
        has_micro = bool(children.any())
        keep &= ~children
    own = _text(layer.frame["area_code"].iloc[row]) if "area_code" in layer.frame else None
    prefix = layer.code[row][:-3]
    region = _Region(
        layer.geom[row],
        prefix,
        layer.parent[row] if nested else None,
        own or layer.code[row][:12],
        first_code=layer.code[row],
    )
    if nested or layer.top == "micro":
        gen_level, gen_grid, gen_micro = "micro", grid_bounds, (lo, hi)
        real = _bounds_of("micro", grid_bounds, micro_bounds)
    else:
        gen_level = "both" if has_micro else "grid"
        gen_grid, gen_micro = (lo, hi), micro_bounds
        real = tuple(grid_bounds)
    return _redivide(
        layer, b, buildings, keep=keep, work_level=level, regions=[region], level=gen_level,
        grid_bounds=gen_grid, micro_bounds=gen_micro, real_bounds=real, roads=roads,
        tol=float(tolerance_m), report={"split": layer.code[row]},
    )  # fmt: skip


def _redivide(
    layer: _Layer,
    b: _Buildings,
    buildings: gpd.GeoDataFrame,
    *,
    keep: np.ndarray,
    work_level: str,
    regions: list[_Region],
    level: str,
    grid_bounds,
    micro_bounds,
    real_bounds: tuple[int, int] | None,
    roads,
    tol: float,
    report: dict,
    only_new: bool = False,
) -> GridLayer:
    """Keep rows `keep`, divide `regions` with generate_grids, code the new rows, join.

    With `only_new` the layer holds the new rows alone (as the whole layer would give them:
    its columns and types, sorted by code), when the caller has the kept rows already.
    """
    crs = layer.crs
    rows = layer.rows(work_level)
    kept_pos = keep[rows]
    hold = _holdings(layer.geom[rows], layer.members(rows), b, tol=tol)
    by_kept = kept_pos[hold.grid] if len(rows) else np.zeros(0, dtype=bool)
    kept_share = np.bincount(
        hold.building[by_kept], weights=hold.share[by_kept], minlength=len(b.ids)
    ).astype(np.int64)
    held_by_kept = np.zeros(len(b.ids), dtype=bool)
    held_by_kept[hold.building[by_kept]] = True
    rest = b.households - kept_share

    # the area to divide: drop leftovers thinner than the tolerance (rounding along kept edges)
    geoms, placeholders = [], []
    for k, region in enumerate(regions):
        parts = _parts(region.geom)
        parts = parts[_significant(parts, tol)]
        if len(parts):
            geoms.append(parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts)))
            placeholders.append(f"{k + 1:012d}")
    report = dict(report)
    if not geoms:
        out = layer.frame[keep].sort_values("code", kind="stable").reset_index(drop=True)
        report.update(level=level, new_codes=[])
        return GridLayer(out, report)
    used_regions = [regions[int(p) - 1] for p in placeholders]

    # the buildings: what kept grids do not hold, with footprints cut to the free area
    footprint = b.footprint.copy()
    partial = held_by_kept & (rest > 0) & np.isin(shapely.get_type_id(footprint), (3, 6))
    if partial.any() and kept_pos.any():
        # only the kept polygons these footprints touch (a union of all is slow on a street)
        kept = layer.geom[rows[kept_pos]]
        near = np.unique(shapely.STRtree(kept).query(footprint[partial], predicate="intersects")[1])
        cut = shapely.difference(footprint[partial], shapely.union_all(kept[near]))
        footprint[partial] = np.where(shapely.is_empty(cut), footprint[partial], cut)
    wanted = (rest > 0) | ((b.households == 0) & ~held_by_kept)
    points = shapely.point_on_surface(footprint)
    hit, _ = shapely.STRtree(np.asarray(geoms, dtype=object)).query(points, predicate="intersects")
    inside = np.zeros(len(b.ids), dtype=bool)
    inside[hit] = True
    chosen = np.flatnonzero(wanted & inside)
    sub = buildings.iloc[chosen].copy()
    sub["households"] = rest[chosen]
    moved = np.flatnonzero(partial[chosen])
    if len(moved):
        geometry = sub.geometry.to_numpy().copy()
        geometry[moved] = _to84(list(footprint[chosen[moved]]), crs)
        sub = sub.set_geometry(gpd.GeoSeries(geometry, index=sub.index, crs=WGS84))
    area_frame = gpd.GeoDataFrame(
        {"code": placeholders}, geometry=list(_to84(geoms, crs)), crs=WGS84
    )
    inner = _inner_roads(roads, geoms, crs, band=tol) if roads is not None else None
    made = generate_grids(
        sub, area_frame, roads=inner, level=level, grid_bounds=grid_bounds,
        micro_bounds=micro_bounds,
    )  # fmt: skip
    new, codes = _recode(made.grids, layer, rows[kept_pos], used_regions, placeholders, level)
    if real_bounds is not None:
        lo, hi = real_bounds
        top = new["level"] == ("micro" if level == "micro" else "grid")
        h = new.loc[top, "households"].astype(int)
        new.loc[top, "within_bounds"] = (h >= lo) & (h <= hi)
        new.loc[top, "reason"] = [
            None if lo <= v <= hi else f"{v} households, outside {lo}–{hi}" for v in h
        ]
    # the kept rows' columns and types still shape the new rows' (an empty frame carries them)
    out = pd.concat([layer.frame.iloc[:0] if only_new else layer.frame[keep], new],
                    ignore_index=True)  # fmt: skip
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=WGS84)
    out = out.sort_values("code", kind="stable").reset_index(drop=True)
    report.update(made.report)
    report["new_codes"] = codes
    return GridLayer(out, report)


def _recode(
    new: gpd.GeoDataFrame,
    layer: _Layer,
    kept_rows: np.ndarray,
    regions: list[_Region],
    placeholders: list[str],
    level: str,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Codes for generated rows that do not collide with the rows kept."""
    new = new.copy()
    top_level = "micro" if level == "micro" else "grid"
    used: dict[str, set[int]] = {}
    for code in layer.code[kept_rows]:
        if code and len(code) > 3 and code[-3:].isdigit():
            used.setdefault(code[:-3], set()).add(int(code[-3:]))
    mapping: dict[str, str] = {}
    region_of = dict(zip(placeholders, regions, strict=True))
    top = new["level"] == top_level
    for placeholder, group in new[top].groupby("area_code"):
        region = region_of[placeholder]
        taken = used.setdefault(region.prefix, set())
        ordered = sorted(group["code"])  # generate_grids numbers in reading order
        if region.first_code and region.first_code[:-3] == region.prefix:
            mapping[ordered[0]] = region.first_code
            taken.add(int(region.first_code[-3:]))
            ordered = ordered[1:]
        free = (n for n in range(1, 1000) if n not in taken)
        for old in ordered:
            number = next(free, None)
            if number is None:
                raise InputError(refusal("sequence_full", prefix=region.prefix))
            taken.add(number)
            mapping[old] = f"{region.prefix}{number:03d}"
    area_codes = {p: r.area_code for p, r in region_of.items()}
    parents = {p: r.parent for p, r in region_of.items()}
    codes, parent_codes = [], []
    for code, lvl, parent, placeholder in zip(
        new["code"], new["level"], new["parent_code"], new["area_code"], strict=True
    ):
        if lvl == top_level:
            codes.append(mapping[code])
            parent_codes.append(parents[placeholder])
        else:
            new_parent = mapping[parent]
            codes.append(new_parent + code[len(parent) :])
            parent_codes.append(new_parent)
    new["code"] = codes
    new["parent_code"] = pd.Series(parent_codes, index=new.index, dtype=object)
    new["area_code"] = [area_codes[p] for p in new["area_code"]]
    return new, [mapping[c] for c in sorted(mapping)]
