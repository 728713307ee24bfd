"""Micro-grids drawn anew inside grids whose land changed, so they nest and add up again."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84
from geo.grids.edit.geometry import _to84, _to_metric, _valid_metric
from geo.grids.edit.holdings import _holdings
from geo.grids.edit.layer import _Buildings, _Layer
from geo.grids.edit.prepare import _prepare_buildings, _text
from geo.grids.edit.redivide import _redivide, _Region
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
) -> gpd.GeoDataFrame:
    """`layer` with the micro-grids of `grid_codes` replaced by new ones (generate_grids).

    Every other row is kept as it is. Each grid is divided with the households it holds (its
    share of a building split between grids, the footprint cut to the grid), so its micro-grids
    nest, add up to it and keep to `micro_bounds` where the buildings allow. They are numbered
    001… in reading order. A layer without micro-grids comes back unchanged.
    """
    micro = layer.level == "micro"
    if layer.top != "grid" or not micro.any():
        return layer.frame
    keep = ~(micro & np.isin(layer.parent, list(grid_codes)))
    grids = layer.rows("grid")
    hold = _holdings(layer.geom[grids], layer.members(grids), b, tol=tol)
    row_of = pd.Series(np.arange(len(buildings)), index=buildings["building_id"].astype(str))
    row_of = row_of[~row_of.index.duplicated()]
    out = [layer.frame[keep]]
    for k, g in enumerate(grids):
        code = str(layer.code[g])
        if code not in grid_codes or layer.geom[g].is_empty:
            continue
        mine = hold.grid == k
        sub = _held(buildings, row_of, b, hold.building[mine], hold.share[mine], layer, g)
        own = _text(layer.frame["area_code"].iloc[g]) if "area_code" in layer.frame else None
        region = _Region(layer.geom[g], code, code, own or code[:12])
        made = _redivide(
            layer, _prepare_buildings(sub, layer.crs), sub, keep=keep, work_level="micro",
            regions=[region], level="micro", grid_bounds=grid_bounds, micro_bounds=micro_bounds,
            real_bounds=tuple(micro_bounds), roads=roads, tol=tol, report={},
        ).grids  # fmt: skip
        mine = made[(made["level"] == "micro") & (made["parent_code"] == code)].copy()
        out.append(_inside(mine, layer.frame.geometry.iloc[g], layer.crs))
    frame = gpd.GeoDataFrame(pd.concat(out, ignore_index=True), geometry="geometry", crs=WGS84)
    return frame.sort_values("code", kind="stable").reset_index(drop=True)


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


def _inside(micro: gpd.GeoDataFrame, grid84, crs) -> gpd.GeoDataFrame:
    """New micro-grids cut to their grid: the generator snaps to a centimetre grid, so their
    outer edges may stray a few millimetres over the grid's."""
    geometry = np.array([polygonal(g) for g in shapely.intersection(micro.geometry, grid84)])
    bad = ~shapely.is_valid(geometry) | ~shapely.is_valid(_to_metric(geometry, crs))
    geometry[bad] = [_valid_metric(g, crs) for g in geometry[bad]]
    return micro.set_geometry(gpd.GeoSeries(geometry, index=micro.index, crs=WGS84))
