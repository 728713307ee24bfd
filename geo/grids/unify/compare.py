"""compare_layers and summarise: where layers overlap, leave gaps, leave the boundary, disagree."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_crs, utm_crs
from geo.errors import InputError
from geo.grids.inputs import require_buildings
from geo.grids.tessellation import polygonal
from geo.grids.unify.layers import (
    _check_polygons,
    _check_tolerance,
    _Layer,
    _nones,
    _points,
    _read_layers,
    _sum_within,
)
from geo.grids.unify.overlay import _clean, _diff, _inter, _merge, _pairs, _wide

FINDING_KINDS = ("overlap", "gap", "conflict", "outside_boundary")
FINDING_COLUMNS = [
    "kind", "layer", "code", "other_layer", "other_code", "area_m2", "households", "message",
]  # fmt: skip


def compare_layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    boundary: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    tolerance_m: float = 1.0,
) -> gpd.GeoDataFrame:
    """Find where grid layers overlap, leave gaps, leave the boundary and disagree.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        Each department's grids (EPSG:4326 polygons), by layer name, e.g. ``{"综治": ...,
        "城管": ...}``. A layer is identified by its ``code`` column, else ``id``, else ``name``,
        else row numbers.
    boundary : GeoDataFrame, optional
        The area all layers should cover (EPSG:4326 polygons). Without it gaps are measured
        against the union of all layers and nothing is outside.
    buildings : GeoDataFrame, optional
        EPSG:4326 buildings with ``households``; when given, each finding says how many
        households (buildings by representative point) it touches.
    tolerance_m : float, default 1.0
        Pieces narrower than this (metres) are ignored as drawing slivers.

    Returns
    -------
    GeoDataFrame
        One row per finding (EPSG:4326) with ``kind``, ``layer``, ``code``, ``other_layer``,
        ``other_code``, ``area_m2``, ``households`` (only with buildings), ``message`` and the
        piece as geometry. Kinds:

        - ``overlap``: two grids of one layer share land (``other_layer`` is the same layer);
        - ``gap``: land of the boundary in no grid of the layer (``code`` is empty);
        - ``conflict``: grid ``code`` of ``layer`` and grid ``other_code`` of ``other_layer``
          share a piece that is neither (nearly) all of the one nor all of the other: their
          boundaries disagree. Nested grids (one within the other) and equal grids are fine;
        - ``outside_boundary``: the part of a grid outside the boundary.

    Raises
    ------
    InputError
        Non-polygon layers, missing geometries, buildings without ``households``.
    CRSMismatchError
        Any frame not in EPSG:4326.

    Examples
    --------
    >>> findings = compare_layers({"综治": zongzhi, "城管": chengguan}, boundary=community)
    >>> summarise(findings)["kinds"]
    {'overlap': 0, 'gap': 1, 'conflict': 4, 'outside_boundary': 0}
    """
    _check_tolerance(tolerance_m)
    if boundary is not None:
        _check_polygons(boundary, "boundary")
    if buildings is not None:
        require_buildings(buildings, need_ids=False)
    if not isinstance(layers, Mapping):
        msg = f"layers must be a mapping of layer name to GeoDataFrame, got {type(layers).__name__}"
        raise InputError(msg)
    for name, frame in layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            require_crs(frame, name=f"layer {name!r}")
    located = [f.geometry for f in layers.values() if isinstance(f, gpd.GeoDataFrame) and len(f)]
    if boundary is not None:
        located.insert(0, boundary.geometry)
    if not located:
        return _findings_frame([], with_households=buildings is not None, crs=None)
    crs = utm_crs(gpd.GeoSeries(pd.concat(located, ignore_index=True), crs=4326))
    prepared = _read_layers(layers, crs, level=None)
    points, hh = _points(buildings, crs)
    tol = float(tolerance_m)

    rows: list[dict] = []
    for layer in prepared:
        rows += _overlaps(layer, tol)
    area = None
    if boundary is not None:
        area = _merge(shapely.make_valid(boundary.to_crs(crs).geometry.to_numpy()))
        area = polygonal(area)
    reference = area
    if reference is None:
        reference = polygonal(_merge(np.concatenate([p.geoms for p in prepared])))
    for layer in prepared:
        rows += _gaps(layer, reference, tol, against_boundary=area is not None)
        if area is not None:
            rows += _outside(layer, area, tol)
    for a, first in enumerate(prepared):
        for second in prepared[a + 1 :]:
            rows += _conflicts(first, second, tol)
    if buildings is not None and rows:
        counts = _sum_within([r["geometry"] for r in rows], points, hh)
        for row, n in zip(rows, counts, strict=True):
            row["households"] = int(round(n))
            row["message"] += f"; {int(round(n))} households"
    return _findings_frame(rows, with_households=buildings is not None, crs=crs)


def _findings_frame(rows: list[dict], *, with_households: bool, crs) -> gpd.GeoDataFrame:
    columns = [c for c in FINDING_COLUMNS if with_households or c != "households"]
    if not rows:
        frame = gpd.GeoDataFrame(
            {c: pd.Series([], dtype=float if c == "area_m2" else object) for c in columns},
            geometry=gpd.GeoSeries([], crs=4326),
        )
        return frame
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)[[*columns, "geometry"]]
    _nones(frame, ["code", "other_layer", "other_code"])
    frame["area_m2"] = frame["area_m2"].astype(float).round(1)
    if with_households:
        frame["households"] = frame["households"].astype("int64")
    return frame.to_crs(4326).reset_index(drop=True)


def _finding(kind, layer, code, other_layer, other_code, geom, message) -> dict:
    return {
        "kind": kind,
        "layer": layer,
        "code": code,
        "other_layer": other_layer,
        "other_code": other_code,
        "area_m2": float(geom.area),
        "households": 0,
        "message": message,
        "geometry": geom,
    }


def _overlaps(layer: _Layer, tol: float) -> list[dict]:
    i, j = _pairs(layer.geoms, layer.geoms)
    keep = i < j
    i, j = i[keep], j[keep]
    pieces = np.array(
        [_clean(g, tol) for g in _inter(layer.geoms[i], layer.geoms[j])],
        dtype=object,
    )
    rows = []
    for a, b, piece in zip(i, j, pieces, strict=True):
        if piece.is_empty:
            continue
        msg = f"{layer.ref(a)} and {layer.ref(b)} overlap by {piece.area:,.0f} m²"
        rows.append(
            _finding("overlap", layer.name, layer.ids[a], layer.name, layer.ids[b], piece, msg)
        )
    return rows


def _gaps(layer: _Layer, reference, tol: float, *, against_boundary: bool) -> list[dict]:
    gap = polygonal(_diff(reference, _merge(layer.geoms)))
    parts = shapely.get_parts(gap)
    parts = parts[_wide(parts, tol)]
    where = "the boundary" if against_boundary else "the land covered by the other layers"
    return [
        _finding(
            "gap",
            layer.name,
            None,
            None,
            None,
            part,
            f"{layer.name}: {part.area:,.0f} m² of {where} is in none of its grids",
        )  # fmt: skip
        for part in parts
    ]


def _outside(layer: _Layer, area, tol: float) -> list[dict]:
    rows = []
    for i, rest in enumerate(_diff(layer.geoms, area)):
        piece = _clean(rest, tol)
        if piece.is_empty:
            continue
        share = piece.area / layer.geoms[i].area
        msg = f"{layer.ref(i)} extends {piece.area:,.0f} m² ({share:.0%}) outside the boundary"
        rows.append(_finding("outside_boundary", layer.name, layer.ids[i], None, None, piece, msg))
    return rows


def _conflicts(first: _Layer, second: _Layer, tol: float) -> list[dict]:
    i, j = _pairs(first.geoms, second.geoms)
    if len(i) == 0:
        return []
    x, y = first.geoms[i], second.geoms[j]
    pieces = np.array([_clean(g, tol) for g in _inter(x, y)], dtype=object)
    real = ~shapely.is_empty(pieces)
    all_of_x = ~_wide([_clean(g, tol) for g in _diff(x, y)], tol)
    all_of_y = ~_wide([_clean(g, tol) for g in _diff(y, x)], tol)
    rows = []
    for k in np.flatnonzero(real & ~all_of_x & ~all_of_y):
        a, b, piece = i[k], j[k], pieces[k]
        msg = (
            f"{first.ref(a)} and {second.ref(b)} disagree: they share {piece.area:,.0f} m² "
            f"({piece.area / x[k].area:.0%} of the one, {piece.area / y[k].area:.0%} of the other)"
        )
        rows.append(
            _finding("conflict", first.name, first.ids[a], second.name, second.ids[b], piece, msg)
        )
    return rows


def summarise(findings: gpd.GeoDataFrame) -> dict:
    """Counts of findings per kind and per layer (a conflict counts for both its layers).

    Returns
    -------
    dict
        ``{"findings": n, "kinds": {kind: n}, "layers": {layer: {kind: n}},
        "area_m2": {kind: m²}, "households": {kind: n}}`` (``households`` only when the
        findings have that column). Every kind is present, with 0 when there is none.
    """
    missing = [c for c in ("kind", "layer", "other_layer", "area_m2") if c not in findings.columns]
    if missing:
        msg = f"findings need columns {missing}; pass the frame from compare_layers"
        raise InputError(msg)
    kinds = {k: 0 for k in FINDING_KINDS}
    area = {k: 0.0 for k in FINDING_KINDS}
    hh = {k: 0 for k in FINDING_KINDS}
    layers: dict[str, dict[str, int]] = {}
    has_hh = "households" in findings.columns
    for row in findings.itertuples(index=False):
        kinds[row.kind] = kinds.get(row.kind, 0) + 1
        area[row.kind] = area.get(row.kind, 0.0) + float(row.area_m2)
        if has_hh:
            hh[row.kind] = hh.get(row.kind, 0) + int(row.households)
        names = {row.layer} | ({row.other_layer} if isinstance(row.other_layer, str) else set())
        for name in names:
            per = layers.setdefault(name, {k: 0 for k in FINDING_KINDS})
            per[row.kind] = per.get(row.kind, 0) + 1
    out = {
        "findings": int(len(findings)),
        "kinds": kinds,
        "layers": layers,
        "area_m2": {k: round(v, 1) for k, v in area.items()},
    }
    if has_hh:
        out["households"] = hh
    return out
