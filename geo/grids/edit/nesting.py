"""Micro-grids drawn anew inside grids whose land changed, so they nest and add up again."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84
from geo.grids.edit.geometry import _parts, _significant, _to84, _to_metric, _valid_metric
from geo.grids.edit.holdings import _holdings
from geo.grids.edit.layer import _Buildings, _Layer
from geo.grids.edit.prepare import _prepare_buildings, _text
from geo.grids.edit.redivide import _redivide, _Region
from geo.grids.edit.strays import settle_shares, without_strays
from geo.grids.tessellation import polygonal


def redivide_micro(
    layer: _Layer,
    b: _Buildings,
    buildings: gpd.GeoDataFrame,
    grid_codes: set[str],
    *,
    roads,
    grid_bounds,
    micro_bounds,
    tol: float,
    keep_intact: bool = False,
) -> gpd.GeoDataFrame:
    """`layer` with the micro-grids of `grid_codes` replaced by new ones (generate_grids).

    Every other row is kept as it is. Each grid is divided with the households it holds (its
    share of a building split between grids, the footprint cut to the grid), so its micro-grids
    nest, add up to it and keep to `micro_bounds` where the buildings allow. They are numbered
    001… in reading order. A layer without micro-grids comes back unchanged.

    With `keep_intact` (micro-grids that were right before an edit of their grid's land), only
    the part of a grid the edit broke is divided: its micro-grids still inside it and away from
    the land to redraw are kept, the new ones take the free numbers. When the new ones would
    break `micro_bounds` or not add up to the grid, the whole grid is divided after all.
    """
    micro = layer.level == "micro"
    if layer.top != "grid" or not micro.any():
        return layer.frame
    keep = ~(micro & np.isin(layer.parent, list(grid_codes)))
    grids = layer.rows("grid")
    hold = _holdings(layer.geom[grids], layer.members(grids), b, tol=tol)
    row_of = pd.Series(np.arange(len(buildings)), index=buildings["building_id"].astype(str))
    row_of = row_of[~row_of.index.duplicated()]
    none = np.zeros(0, dtype=np.int64)
    tiers = {str(layer.code[g]): _intact(layer, g, tol) if keep_intact else []
             for g in grids if str(layer.code[g]) in grid_codes}  # fmt: skip
    intact = {code: t[0] if t else none for code, t in tiers.items()}
    for rows in intact.values():
        keep[rows] = True
    frame84 = layer.frame.geometry.to_numpy()
    out = []
    for k, g in enumerate(grids):
        code = str(layer.code[g])
        if code not in grid_codes or layer.geom[g].is_empty:
            continue
        mine = hold.grid == k
        sub = _held(buildings, row_of, b, hold.building[mine], hold.share[mine], layer, g)
        own = _text(layer.frame["area_code"].iloc[g]) if "area_code" in layer.frame else None
        prepared = _prepare_buildings(sub, layer.crs)

        def divide(kept_rows, *, g=g, code=code, own=own, sub=sub, prepared=prepared):
            here = keep.copy()
            here[np.setdiff1d(intact[code], kept_rows)] = False
            rest = layer.geom[g]
            if len(kept_rows):
                rest = shapely.difference(rest, shapely.union_all(layer.geom[kept_rows]))
            region = _Region(rest, code, code, own or code[:12])
            made = _redivide(
                layer, prepared, sub, keep=here, work_level="micro", regions=[region],
                level="micro", grid_bounds=grid_bounds, micro_bounds=micro_bounds,
                real_bounds=tuple(micro_bounds), roads=roads, tol=tol, report={}, only_new=True,
            )  # fmt: skip
            new = made.grids if made.report["new_codes"] else made.grids.iloc[:0]
            room = layer.frame.geometry.iloc[g]
            if len(kept_rows):  # new micro-grids stay off the kept ones
                room = shapely.difference(room, shapely.union_all(frame84[kept_rows]))
            return _inside(new, room, layer.crs, sub, micro_bounds)

        new = None
        for kept_rows in tiers[code]:  # the fewest micro-grids redrawn first
            if not _can_add_up(layer, g, kept_rows, micro_bounds):
                continue  # _adds_up would refuse whatever the division: spare it
            new = divide(kept_rows)
            if _adds_up(layer, g, kept_rows, new):
                keep[np.setdiff1d(intact[code], kept_rows)] = False
                break
            new = None
        if new is None:
            keep[intact[code]] = False
            new = divide(none)
        if not len(new) and not (keep & micro & (layer.parent == code)).any():
            new = _whole(layer, g, own)  # a grid left without buildings: one micro-grid
        out.append(new)
    out.insert(0, layer.frame[keep])
    frame = gpd.GeoDataFrame(pd.concat(out, ignore_index=True), geometry="geometry", crs=WGS84)
    return frame.sort_values("code", kind="stable").reset_index(drop=True)


def _whole(layer: _Layer, g: int, own: str | None) -> gpd.GeoDataFrame:
    """One micro-grid of no households covering grid `g`."""
    code = str(layer.code[g])
    row = {"level": "micro", "households": 0, "members": [[]], "parts": [[]],
           "within_bounds": False, "code": code + "001", "parent_code": code,
           "area_code": own or code[:12]}  # fmt: skip
    frame = pd.DataFrame({k: [v] if k not in ("members", "parts") else v for k, v in row.items()})
    return gpd.GeoDataFrame(frame, geometry=[layer.frame.geometry.iloc[g]], crs=WGS84)


def _adds_up(layer: _Layer, g: int, kept: np.ndarray, new: gpd.GeoDataFrame) -> bool:
    """The new micro-grids keep to their bounds and, with the kept ones, add up to grid `g`."""
    if not new["within_bounds"].astype(bool).all():
        return False
    households = layer.stored_households()
    total = np.nansum(households[kept]) + pd.to_numeric(new["households"]).sum()
    return bool(total == households[g])


def _can_add_up(layer: _Layer, g: int, kept: np.ndarray, bounds) -> bool:
    """Whether micro-grids within `bounds` could hold what grid `g` holds beyond the `kept`
    ones: k of them hold k * lo to k * hi households, so 55 households (bounds 30–50) cannot
    be divided. False only where _adds_up is sure to fail."""
    households = layer.stored_households()
    need = households[g] - np.nansum(households[kept])
    if not (np.isfinite(need) and need > 0):
        return True
    lo, hi = bounds
    return math.ceil(need / hi) <= math.floor(need / lo)


def _intact(layer: _Layer, g: int, tol: float) -> list[np.ndarray]:
    """Rows of grid `g`'s micro-grids that may be kept, most first: those inside the grid as it
    now is; then of those, the ones sharing no edge with the land to redraw (land it was
    given, or what is left of micro-grids it lost land from)."""
    code = layer.code[g]
    children = np.flatnonzero((layer.level == "micro") & (layer.parent == code))
    if not len(children):
        return []
    grid84 = layer.frame.geometry.iloc[g]
    micro84 = layer.frame.geometry.to_numpy()[children]
    inside = shapely.covered_by(micro84, grid84)
    children, inside_metric = children[inside], layer.geom[children[inside]]
    if not len(children):
        return []
    bare = shapely.difference(layer.geom[g], shapely.union_all(inside_metric))
    bare = _parts(bare)
    bare = bare[_significant(bare, tol)]
    if not len(bare):
        return [children]
    near = shapely.buffer(shapely.union_all(bare), tol / 10)
    edge = shapely.length(shapely.intersection(shapely.boundary(inside_metric), near))
    away = children[edge < tol]
    return [children, away] if len(away) else [children]


def _held(buildings, row_of, b: _Buildings, bi, share, layer: _Layer, g: int):
    """The buildings grid `g` holds, with its share of households and footprints cut to it."""
    rows = row_of.reindex([str(b.ids[i]) for i in bi]).to_numpy()
    found = ~pd.isna(rows)
    sub = buildings.iloc[rows[found].astype(np.int64)].copy()
    sub["households"] = np.asarray(share)[found]
    foot = b.footprint[np.asarray(bi)[found]]
    over = np.isin(shapely.get_type_id(foot), (3, 6)) & ~shapely.covered_by(foot, layer.geom[g])
    if over.any():
        cut = shapely.intersection(foot[over], layer.geom[g])
        good = ~shapely.is_empty(cut) & np.isin(shapely.get_type_id(cut), (3, 6))
        geometry = sub.geometry.to_numpy().copy()
        where = np.flatnonzero(over)[good]
        geometry[where] = _to84(list(cut[good]), layer.crs)
        sub = sub.set_geometry(gpd.GeoSeries(geometry, index=sub.index, crs=WGS84))
    return sub


def _inside(micro: gpd.GeoDataFrame, grid84, crs, held, bounds) -> gpd.GeoDataFrame:
    """New micro-grids cut to their grid (the generator snaps to a centimetre grid, so their
    outer edges may stray a few millimetres over the grid's), without stray bits, each share of
    a building `held` in a micro-grid holding some of its footprint."""
    geometry = np.array([polygonal(g) for g in shapely.intersection(micro.geometry, grid84)])
    bad = ~shapely.is_valid(geometry) | ~shapely.is_valid(_to_metric(geometry, crs))
    geometry[bad] = [_valid_metric(g, crs) for g in geometry[bad]]
    micro = micro.set_geometry(gpd.GeoSeries(geometry, index=micro.index, crs=WGS84))
    micro = without_strays(micro, held.geometry.to_numpy(), crs)
    return settle_shares(micro, held, crs, bounds)
