"""Checking an edit's arguments and preparing the layer, buildings and boundary in metres."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.crs import WGS84, require_crs, utm_crs
from geo.errors import InputError
from geo.grids.codes import area_code
from geo.grids.edit.layer import LEVELS, _Area, _Buildings, _Layer
from geo.grids.edit.memo import Memo, each
from geo.grids.edit.messages import refusal
from geo.grids.footprints import clean_footprints, merge_stacked
from geo.grids.inputs import require_buildings
from geo.grids.tessellation import polygonal


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _prepare_layer(grids: gpd.GeoDataFrame, crs: CRS) -> _Layer:
    require_crs(grids, name="grids")
    if "code" not in grids.columns:
        raise InputError(refusal("no_code_column", columns=list(grids.columns)))
    frame = grids.reset_index(drop=True)
    n = len(frame)
    if "level" in frame.columns:
        level = np.array([str(v).strip().lower() for v in frame["level"]], dtype=object)
    else:
        level = np.full(n, "grid", dtype=object)
    odd = sorted({str(v) for v in level if v not in LEVELS})
    if odd:
        raise InputError(refusal("bad_levels", levels=odd))
    code = np.array([_text(v) for v in frame["code"]], dtype=object)
    parent = np.array(
        [_text(v) for v in frame["parent_code"]] if "parent_code" in frame.columns else [None] * n,
        dtype=object,
    )
    raw, geom = _in_metres(frame.geometry, crs)
    top = "micro" if n and not (level == "grid").any() else "grid"
    return _Layer(frame, grids.index, crs, raw, geom, code, level, parent, top)


# polygons in metres, as given and repaired, by (CRS from, CRS to, WKB): every step of an edit
# prepares the same layer, and consecutive edits leave most polygons as they were
_IN_METRES = Memo(16384)


def _in_metres(geoms: gpd.GeoSeries, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Each polygon in `crs` as given (empty for a missing one), and repaired to polygons
    (empty where nothing polygonal is left)."""
    frame_key = (geoms.crs.srs, crs.srs)
    keys = [(*frame_key, wkb) for wkb in shapely.to_wkb(geoms.to_numpy())]
    both = each(_IN_METRES, keys, lambda rows: _projected(geoms.iloc[rows], crs))
    raw, geom = np.empty(len(keys), dtype=object), np.empty(len(keys), dtype=object)
    for k, (given, repaired) in enumerate(both):
        raw[k], geom[k] = given, repaired
    return raw, geom


def _projected(geoms: gpd.GeoSeries, crs: CRS) -> list[tuple]:
    raw = geoms.to_crs(crs).to_numpy()
    raw = np.array([g if g is not None else shapely.Polygon() for g in raw], dtype=object)
    geom = raw.copy()
    polygon = np.isin(shapely.get_type_id(raw), (3, 6))
    bad = ~polygon | ~shapely.is_valid(raw)
    for i in np.flatnonzero(bad):
        geom[i] = polygonal(shapely.make_valid(raw[i])) if polygon[i] else shapely.Polygon()
    return list(zip(raw, geom, strict=True))


# the last few prepared building sets, by content: one edit prepares the same community's
# buildings several times (the edit, recount, validation, each micro re-division)
_PREPARED = Memo(8)


def _content_key(buildings: gpd.GeoDataFrame, crs: CRS) -> tuple:
    """What _prepare_buildings reads of `buildings`, digested (values with their types)."""
    digest = hashlib.blake2b(digest_size=16)
    for column in ("building_id", "households", "households_estimated", "title"):
        values = buildings[column].tolist() if column in buildings.columns else None
        digest.update(repr(values).encode())
    for wkb in shapely.to_wkb(buildings.geometry.to_numpy()):
        digest.update(b"-" if wkb is None else len(wkb).to_bytes(8, "little") + wkb)
    return digest.hexdigest(), buildings.crs, crs


def _prepare_buildings(buildings: gpd.GeoDataFrame, crs: CRS) -> _Buildings:
    require_buildings(buildings)
    key = _content_key(buildings, crs)
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = _prepared_buildings(buildings, crs)
        for array in (prepared.ids, prepared.households, prepared.estimated,
                      prepared.footprint, prepared.point, prepared.labels):  # fmt: skip
            array.flags.writeable = False  # shared between calls: nobody may change it
        _PREPARED.put(key, prepared)
    return dataclasses.replace(prepared, index=dict(prepared.index))


def _prepared_buildings(buildings: gpd.GeoDataFrame, crs: CRS) -> _Buildings:
    foot = buildings.geometry.to_crs(crs).to_numpy()
    missing = np.flatnonzero(shapely.is_missing(foot) | shapely.is_empty(foot))
    if len(missing):
        first = buildings["building_id"].iloc[int(missing[0])]
        raise InputError(refusal("buildings_no_geometry", n=len(missing), first=first))
    # the same buildings the engine divides: footprints repaired, stacked ones merged
    frame = gpd.GeoDataFrame(
        {
            "building_id": buildings["building_id"].to_numpy(),
            "households": pd.to_numeric(buildings["households"]).to_numpy(dtype=np.int64),
            "households_estimated": buildings["households_estimated"].to_numpy()
            if "households_estimated" in buildings.columns
            else False,
            "title": buildings["title"].to_numpy() if "title" in buildings.columns else None,
        },
        geometry=foot,
        crs=crs,
    )
    buildings, _ = merge_stacked(clean_footprints(frame))
    foot = buildings.geometry.to_numpy()
    ids = buildings["building_id"].astype(str).to_numpy()
    estimated = (
        buildings["households_estimated"].fillna(False).astype(bool).to_numpy()
        if "households_estimated" in buildings.columns
        else np.zeros(len(ids), dtype=bool)
    )
    index: dict[str, int] = {}
    for i, building_id in enumerate(ids):
        index.setdefault(building_id, i)
    return _Buildings(
        ids,
        pd.to_numeric(buildings["households"]).to_numpy(dtype=np.int64),
        estimated,
        foot,
        shapely.point_on_surface(foot),
        index,
        _labels(buildings, ids),
    )


def _labels(buildings: gpd.GeoDataFrame, ids: np.ndarray) -> np.ndarray:
    """A building's title (name or address, given in a `title` column) where it has one, else
    its id."""
    titles = buildings["title"].to_numpy(dtype=object)
    named = np.array([isinstance(t, str) and bool(t.strip()) for t in titles], dtype=bool)
    return np.where(named, titles, ids).astype(str)


def _prepare_boundary(boundary: gpd.GeoDataFrame, crs: CRS) -> _Area:
    require_crs(boundary, name="boundary")
    if len(boundary) == 0:
        raise InputError(refusal("boundary_empty"))
    kinds = set(boundary.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(refusal("boundary_kinds", kinds=sorted(kinds)))
    geoms = boundary.geometry.to_crs(crs).to_numpy()
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = [polygonal(shapely.make_valid(g)) for g in geoms[invalid]]
    raw_codes = boundary["code"].tolist() if "code" in boundary.columns else [None] * len(geoms)
    codes = []
    for value in raw_codes:
        text = _text(value)
        codes.append(text if text and len(text) == 12 and text.isdigit() else None)
    prefixes = [area_code(value, i) for i, value in enumerate(raw_codes)]
    return _Area(geoms, codes, prefixes)


def _metric_crs(frame: gpd.GeoDataFrame, *, name: str) -> CRS:
    """geo.crs.utm_crs of the frame, remembered by extent (the look-up takes ~0.2 s)."""
    require_crs(frame, name=name)
    geoms = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
    if geoms.empty:
        return utm_crs(frame)  # raises the usual error
    minx, miny, maxx, maxy = (round(float(v), 3) for v in geoms.total_bounds)
    return _utm_of_box(minx, miny, maxx, maxy)


@functools.lru_cache(maxsize=64)
def _utm_of_box(minx: float, miny: float, maxx: float, maxy: float) -> CRS:
    box = gpd.GeoSeries([shapely.box(minx, miny, maxx, maxy)], crs=WGS84)
    return utm_crs(box)


def _check_bounds(grid_bounds, micro_bounds, tolerance_m: float | None = None) -> None:
    for name, (lo, hi) in (("grid", grid_bounds), ("micro", micro_bounds)):
        if not (0 < lo <= hi):
            raise InputError(refusal("bad_bounds", level=name, lo=lo, hi=hi))
    if tolerance_m is not None and not tolerance_m > 0:
        raise InputError(refusal("bad_tolerance", tolerance=tolerance_m))


def _prepare_inputs(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    grid_bounds,
    micro_bounds,
    tolerance_m: float,
    roads: gpd.GeoDataFrame | None = None,
) -> tuple[CRS, _Area, _Layer, _Buildings]:
    """Check an edit's arguments; the metric CRS, boundary, layer and buildings in it."""
    _check_bounds(grid_bounds, micro_bounds, tolerance_m)
    require_crs(grids, name="grids")
    require_crs(buildings, name="buildings")
    if roads is not None:
        require_crs(roads, name="roads")
    crs = _metric_crs(boundary, name="boundary")
    area = _prepare_boundary(boundary, crs)
    layer = _prepare_layer(grids, crs)
    if "name" in boundary.columns and "code" in boundary.columns:
        layer.names = {
            str(c): str(n) for c, n in zip(boundary["code"], boundary["name"], strict=True)
            if _text(c) and _text(n)
        }  # fmt: skip
    return crs, area, layer, _prepare_buildings(buildings, crs)
