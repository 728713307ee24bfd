"""多格合一 ("many grids into one"): compare departments' grid layers and unify them.

Departments (综治 governance, 城管 city management, 公安 police, 民政 civil affairs …) each drew
their own grids over the same land. :func:`compare_layers` lists where a layer overlaps itself,
leaves gaps or sticks out of the boundary, and where two layers disagree; :func:`unify_layers`
builds one layer that keeps as many of the existing grids as the household bounds allow and
divides the rest of the land with :func:`geo.grids.generate.generate_grids`.

Everything is measured in the UTM zone of the data. Pieces narrower than ``tolerance_m`` — the
slivers that layers drawn by hand always leave along edges they share — are ignored.

Each layer frame is identified by a column of its own: ``code`` if it has one, else ``id``, else
``name``, else the 1-based row number; messages say which (``综治 code=A01``, ``城管 row=3``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_crs, utm_crs
from geo.errors import InputError
from geo.grids.codes import area_code, sequence_codes
from geo.grids.generate import (
    BARRIER_CLASSES,
    GRID_BOUNDS,
    LEVELS,
    MICRO_BOUNDS,
    NO_PARENT,
    GridLayer,
    generate_grids,
)
from geo.grids.inputs import require_buildings
from geo.grids.tessellation import PRECISION_M, polygonal
from geo.lookup import first_containing

__all__ = [
    "AGREE_IOU",
    "FINDING_COLUMNS",
    "FINDING_KINDS",
    "compare_layers",
    "summarise",
    "unify_layers",
]

FINDING_KINDS = ("overlap", "gap", "conflict", "outside_boundary")
FINDING_COLUMNS = [
    "kind", "layer", "code", "other_layer", "other_code", "area_m2", "households", "message",
]  # fmt: skip
ID_COLUMNS = ("code", "id", "name")
#: Grids of two layers "agree" (are the same grid drawn twice) when their intersection is at
#: least this share of their union.
AGREE_IOU = 0.9
#: Precision grid (metres) of the polygon overlays. Layers drawn separately meet along edges
#: that are almost but not quite the same; floating-point overlays of such edges can go wrong
#: by millimetres, overlays snapped to a fixed grid cannot.
GRID_M = 1e-6
#: Distance (metres) within which two pieces cut from each other count as sharing an edge.
TOUCH_M = 0.001
#: Rounds of giving up a kept grid so that the land left over can be divided within bounds.
MAX_RELEASE_ROUNDS = 6


@dataclass(frozen=True)
class _Layer:
    """One department's grids, in metres."""

    name: str
    id_label: str  # 'code', 'id', 'name' or 'row'
    ids: list[str]
    geoms: np.ndarray  # valid polygonal geometries (possibly empty)

    def ref(self, i: int) -> str:
        return f"{self.name} {self.id_label}={self.ids[i]}"


# -- shared helpers -------------------------------------------------------------------------


def _check_tolerance(tolerance_m: float) -> None:
    if not (isinstance(tolerance_m, int | float) and math.isfinite(tolerance_m)) or tolerance_m < 0:
        msg = f"tolerance_m must be a number of metres >= 0, got {tolerance_m!r}"
        raise InputError(msg)


def _check_polygons(frame: gpd.GeoDataFrame, name: str) -> None:
    require_crs(frame, name=name)
    missing = frame.geometry.isna() | frame.geometry.is_empty
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0]) + 1
        msg = f"{name}: row {row} has no geometry ({int(missing.sum())} such rows)"
        raise InputError(msg)
    kinds = set(frame.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        msg = f"{name} must be polygons, got {sorted(kinds)}"
        raise InputError(msg)


def _id_label(frame: gpd.GeoDataFrame) -> str:
    for column in ID_COLUMNS:
        if column in frame.columns:
            return column
    return "row"


def _read_layers(layers: Mapping[str, gpd.GeoDataFrame], crs, *, level: str | None) -> list[_Layer]:
    if not isinstance(layers, Mapping):
        msg = f"layers must be a mapping of layer name to GeoDataFrame, got {type(layers).__name__}"
        raise InputError(msg)
    out = []
    for name, frame in layers.items():
        if not isinstance(name, str) or not name.strip():
            msg = f"layer names must be non-empty strings, got {name!r}"
            raise InputError(msg)
        if not isinstance(frame, gpd.GeoDataFrame):
            msg = f"layer {name!r} must be a GeoDataFrame, got {type(frame).__name__}"
            raise InputError(msg)
        frame = _one_level(frame, name, level)
        _check_polygons(frame, f"layer {name!r}")
        label = _id_label(frame)
        if label == "row":
            ids = [str(i + 1) for i in range(len(frame))]
        else:
            ids = [
                str(v) if not pd.isna(v) and str(v).strip() else f"(row {i + 1})"
                for i, v in enumerate(frame[label].tolist())
            ]
        geoms = np.asarray(frame.to_crs(crs).geometry.to_numpy(), dtype=object)
        bad = ~shapely.is_valid(geoms)
        geoms[bad] = [polygonal(g) for g in shapely.make_valid(geoms[bad])]
        out.append(_Layer(name, label, ids, geoms))
    return out


def _one_level(frame: gpd.GeoDataFrame, name: str, level: str | None) -> gpd.GeoDataFrame:
    """A layer with a `level` column holding several levels: its rows of `level`, or an error."""
    if "level" not in frame.columns:
        return frame
    levels = sorted({str(v) for v in frame["level"].dropna()})
    if len(levels) <= 1:
        return frame
    if level is None:
        msg = f"layer {name!r} mixes levels {', '.join(levels)}: pass the rows of one level"
        raise InputError(msg)
    return frame[frame["level"].astype(str) == level]


def _wide(geoms, tol: float) -> np.ndarray:
    """Whether each geometry is more than a sliver: something is left after shrinking it by
    half the tolerance (so a strip narrower than `tol` is not)."""
    geoms = np.asarray(geoms, dtype=object).reshape(-1)
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    solid = ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
    if tol <= 0:
        return solid
    shrunk = shapely.buffer(geoms[solid], -tol / 2, quad_segs=2)
    out = np.zeros(len(geoms), dtype=bool)
    out[solid] = ~shapely.is_empty(shrunk)
    return out


def _clean(geom, tol: float):
    """The polygonal part of `geom` without sliver parts (an empty Polygon if nothing is left)."""
    geom = polygonal(geom)
    if geom.is_empty:
        return geom
    parts = shapely.get_parts(geom)
    parts = parts[_wide(parts, tol)]
    if len(parts) == 0:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts))


def _inter(a, b):
    return shapely.intersection(a, b, grid_size=GRID_M)


def _diff(a, b):
    return shapely.difference(a, b, grid_size=GRID_M)


def _merge(geoms):
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    return shapely.union_all(geoms, grid_size=GRID_M) if geoms else shapely.Polygon()


def _points(buildings: gpd.GeoDataFrame | None, crs) -> tuple[np.ndarray, np.ndarray]:
    if buildings is None:
        return np.empty(0, dtype=object), np.empty(0)
    geoms = buildings.to_crs(crs).geometry.to_numpy()
    points = shapely.point_on_surface(geoms)
    hh = pd.to_numeric(buildings["households"]).to_numpy(dtype=float)
    return np.asarray(points, dtype=object), hh


def _sum_within(geoms, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sum of the weights of the points in (or on the edge of) each geometry."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0 or len(points) == 0:
        return np.zeros(len(geoms))
    p, g = shapely.STRtree(geoms).query(points, predicate="intersects")
    return np.bincount(g, weights=weights[p], minlength=len(geoms))


# -- compare --------------------------------------------------------------------------------


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


def _nones(frame: pd.DataFrame, columns: list[str]) -> None:
    """Missing values as None (not NaN) in text columns."""
    for column in columns:
        values = frame[column].astype(object)
        frame[column] = values.where(values.notna(), None)


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


def _pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j): left[i] and right[j] share some area (or at least touch)."""
    if len(left) == 0 or len(right) == 0:
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    j, i = shapely.STRtree(right).query(left, predicate="intersects")
    return j, i


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


# -- unify ----------------------------------------------------------------------------------


@dataclass
class _Candidate:
    """An existing grid, clipped to one boundary polygon."""

    layer: int
    row: int
    geom: shapely.Geometry
    households: int
    reason: str | None  # why it cannot be kept as drawn; None if it can
    agrees: set[int] = field(default_factory=set)  # candidates of other layers, same grid
    overlaps: set[int] = field(default_factory=set)  # candidates sharing more than a sliver
    inside: float = 1.0  # share of the drawn grid inside this boundary polygon
    decision: str = "rejected"
    note: str | None = None


@dataclass
class _Kept:
    candidate: int
    geom: shapely.Geometry
    added_m2: float = 0.0
    added_households: int = 0


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


def _ranks(cands: list[_Candidate], order: list[int]) -> list[tuple[int, int]]:
    """Sort key of each candidate: its layer's place in the order, then most layers agreeing."""
    return [(order[c.layer], -len({cands[o].layer for o in c.agrees})) for c in cands]


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


def _kept_rows(kept, cands, layers, b, points, hh, level) -> list[dict]:
    owner = first_containing(points, [k.geom for k in kept])
    rows = []
    for i, k in enumerate(kept):
        c = cands[k.candidate]
        layer = layers[c.layer]
        members = np.flatnonzero(owner == i)
        agreeing = [cands[o] for o in sorted(c.agrees) if cands[o].decision == "agrees"]
        rows.append(
            {
                "level": level,
                "households": int(round(hh[members].sum())),
                "members": [[str(b["building_id"].iloc[m]), int(round(hh[m]))] for m in members],
                "parts": [],
                "geometry": k.geom,
                "origin": "kept",
                "source_layer": layer.name,
                "source_code": layer.ids[c.row],
                "agreeing": [
                    f"{layers[o.layer].name}:{layers[o.layer].ids[o.row]}" for o in agreeing
                ],
                "added_m2": round(k.added_m2, 1),
                "reason": None,
            }
        )
    return rows


def _finish_rows(rows: list[dict], bounds, prefix: str) -> None:
    """Bounds, compactness, reasons and codes (reading order within the area)."""
    lo, hi = bounds
    for row in rows:
        geom = row["geometry"]
        row.pop("_piece", None)
        row.pop("within_bounds_generated", None)
        row["within_bounds"] = lo <= row["households"] <= hi
        perimeter = geom.length
        row["polsby_popper"] = 4 * math.pi * geom.area / perimeter**2 if perimeter else 0.0
        if row["reason"] is None and not row["within_bounds"]:
            row["reason"] = f"{row['households']} households, outside {lo}–{hi}"
        row["parent_code"] = None
        row["area_code"] = prefix
    if rows:
        xy = np.array([[r["geometry"].centroid.x, r["geometry"].centroid.y] for r in rows])
        # micro-grids without grids above them: grid sequence 000, as generate_grids does
        top = prefix + NO_PARENT if rows[0]["level"] == "micro" else prefix
        for row, code in zip(rows, sequence_codes(top, xy), strict=True):
            row["code"] = code


def _candidates(area, points, hh, layers, bounds, tol) -> list[_Candidate]:
    lo, hi = bounds
    cands: list[_Candidate] = []
    for li, layer in enumerate(layers):
        if len(layer.geoms) == 0:
            continue
        hit = np.flatnonzero(shapely.intersects(layer.geoms, area))
        clipped = _inter(layer.geoms[hit], area)
        for row, geom in zip(hit, clipped, strict=True):
            geom = _clean(geom, tol)
            if geom.is_empty:
                continue
            whole = layer.geoms[row].area
            cands.append(_Candidate(li, int(row), geom, 0, None))
            cands[-1].inside = geom.area / whole if whole else 1.0
    counts = _sum_within([c.geom for c in cands], points, hh)
    for c, n in zip(cands, counts, strict=True):
        c.households = int(round(n))
        if c.geom.geom_type != "Polygon":
            parts = len(shapely.get_parts(c.geom))
            c.reason = f"not one piece inside the boundary ({parts} parts)"
        elif not lo <= c.households <= hi:
            c.reason = f"{c.households} households, outside {lo}–{hi}"
    _relate(cands, tol)
    return cands


def _relate(cands: list[_Candidate], tol: float) -> None:
    """Fill in which candidates agree with (same grid) and overlap each other."""
    geoms = np.array([c.geom for c in cands], dtype=object)
    i, j = _pairs(geoms, geoms)
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return
    pieces = _inter(geoms[i], geoms[j])
    inter = shapely.area(pieces)
    union = shapely.area(geoms[i]) + shapely.area(geoms[j]) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    wide = _wide([_clean(p, tol) for p in pieces], tol)
    for a, b, w, same in zip(i, j, wide, iou >= AGREE_IOU, strict=True):
        if w:
            cands[a].overlaps.add(int(b))
            cands[b].overlaps.add(int(a))
        if same and cands[a].layer != cands[b].layer:
            cands[a].agrees.add(int(b))
            cands[b].agrees.add(int(a))


def _choose(cands: list[_Candidate], ranks, tol: float, excluded: set[int]) -> list[_Kept]:
    """Greedy choice of candidates that can be kept together: by rank (priority, agreement),
    then the one clashing with the fewest others still open."""
    open_ = {i for i, c in enumerate(cands) if c.reason is None and i not in excluded}
    kept: list[_Kept] = []
    taken = shapely.Polygon()
    while open_:
        best = min(ranks[i] for i in open_)
        tier = [i for i in open_ if ranks[i] == best]
        pick = min(tier, key=lambda i: (len(cands[i].overlaps & open_), cands[i].layer, i))
        open_.discard(pick)
        geom = _clean(_diff(cands[pick].geom, taken), tol)
        if geom.is_empty:
            continue
        if geom.geom_type != "Polygon":  # a sliver of a kept grid cut it: keep the main piece
            parts = shapely.get_parts(geom)
            geom = parts[int(np.argmax(shapely.area(parts)))]
        kept.append(_Kept(pick, geom))
        taken = _merge([taken, geom])
        open_ -= cands[pick].overlaps
    return kept


def _feasible(households: float, lo: int, hi: int) -> bool:
    """Whether some number of grids of lo..hi households holds exactly this many."""
    return math.ceil(households / hi) <= math.floor(households / lo)


def _shared(part, geoms: list) -> np.ndarray:
    """Length of boundary each geometry shares with `part`; 0 where they only touch at a point.

    The pieces compared here are cut from one another with the snapped overlays, so shared
    edges agree to well within :data:`TOUCH_M`."""
    if not geoms:
        return np.zeros(0)
    near = shapely.buffer(shapely.boundary(part), TOUCH_M, quad_segs=2)
    lengths = shapely.length(shapely.intersection(shapely.boundary(np.array(geoms)), near))
    return np.where(lengths > 3 * TOUCH_M, lengths, 0.0)


def _least_trusted(shared: np.ndarray, ranks: list[tuple]) -> int:
    """The neighbour (shared boundary > 0) to give up: lowest priority, then fewest layers
    agreeing, then the longest shared boundary."""
    neighbours = np.flatnonzero(shared > 0)
    return int(max(neighbours, key=lambda k: (ranks[k], shared[k])))


def _settle(area, chosen: list[_Kept], ranks, points, hh, bounds, tol):
    """Join leftover pieces that cannot be grids of their own to kept neighbours.

    Returns (kept grids with the land joined, pieces left to divide, the piece of each
    building or -1), or the candidate to give up when a piece no neighbour can take."""
    lo, hi = bounds
    geoms = [k.geom for k in chosen]
    remaining = polygonal(_diff(area, _merge(geoms)))
    parts = [p for p in shapely.get_parts(remaining) if p.area > 0]
    owner_k = first_containing(points, geoms)
    inside = owner_k >= 0
    h_kept = np.bincount(owner_k[inside], weights=hh[inside], minlength=len(chosen))
    owner_p = np.full(len(points), -1)
    owner_p[~inside] = first_containing(points[~inside], parts)
    counted = owner_p >= 0
    h_part = np.bincount(owner_p[counted], weights=hh[counted], minlength=len(parts))
    chosen_ranks = [ranks[k.candidate] for k in chosen]
    joined: dict[int, list[int]] = {}
    for p, part in enumerate(parts):
        h = h_part[p]
        shared = _shared(part, geoms)
        neighbours = np.flatnonzero(shared > 0) if shared.size else np.zeros(0, dtype=int)
        if not len(neighbours):
            continue  # divided on its own, within bounds or not
        sliver = not _wide([part], tol)[0]
        if h == 0:
            target = neighbours[np.argmax(shared[neighbours])]
        elif _feasible(h, lo, hi) and not sliver:
            continue
        else:
            fits = neighbours[h_kept[neighbours] + h <= hi]
            if len(fits):
                target = fits[np.argmax(shared[fits])]
            elif sliver and _feasible(h, lo, hi):
                continue
            else:
                return chosen[_least_trusted(shared, chosen_ranks)].candidate
        h_kept[target] += h
        joined.setdefault(int(target), []).append(p)
    kept = []
    for i, k in enumerate(chosen):
        ps = joined.get(i, [])
        if not ps:
            kept.append(_Kept(k.candidate, k.geom))
            continue
        kept.append(
            _Kept(
                k.candidate,
                _join(k.geom, [parts[p] for p in ps]),
                added_m2=float(sum(parts[p].area for p in ps)),
                added_households=int(round(sum(h_part[p] for p in ps))),
            )
        )
    taken = {p for ps in joined.values() for p in ps}
    left = [p for p in range(len(parts)) if p not in taken]
    remap = np.full(max(len(parts), 1), -1)
    remap[left] = np.arange(len(left))
    owner = np.where(owner_p >= 0, remap[np.maximum(owner_p, 0)], -1)
    return kept, [parts[p] for p in left], owner


def _join(geom, pieces):
    joined = polygonal(_merge([geom, *pieces]))
    if joined.geom_type == "MultiPolygon":  # touching only within the tolerance
        parts = shapely.get_parts(joined)
        if np.sort(shapely.area(parts))[:-1].sum() < 1e-6:
            joined = parts[int(np.argmax(shapely.area(parts)))]
    return joined


def _divide(parts, owner, b, roads, crs, *, level, bounds, tol) -> tuple[list[dict], int]:
    """New grids for the leftover pieces, and how many of them are out of bounds."""
    if not parts:
        return [], 0
    # snapped to the tessellation's precision: hairline slivers along kept grids would
    # otherwise leave cells that vanish in generate_grids
    snapped = [_for_generate(p) for p in parts]
    has_buildings = np.zeros(len(parts), dtype=bool)
    has_buildings[np.unique(owner[owner >= 0])] = True
    usable = [p for p, g in enumerate(snapped) if not g.is_empty and has_buildings[p]]
    rows: list[dict] = []
    failed = 0
    grids = None
    if usable:
        pieces = [snapped[p] for p in usable]
        frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(pieces, crs=crs))
        inside = np.flatnonzero(np.isin(owner, usable))
        slot_of = {p: n for n, p in enumerate(usable)}
        sub = _clipped(b.iloc[inside], [pieces[slot_of[p]] for p in owner[inside]], crs)
        layer = generate_grids(
            sub,
            frame.to_crs(4326),
            roads=_barriers_inside(roads, pieces, crs, tol) if roads is not None else None,
            level=level,
            grid_bounds=bounds if level == "grid" else GRID_BOUNDS,
            micro_bounds=bounds if level == "micro" else MICRO_BOUNDS,
        )
        grids = layer.grids.to_crs(crs)
    slot = {p: n for n, p in enumerate(usable)}
    for p, part in enumerate(parts):
        if p in slot:
            mine = grids[grids["area_code"] == area_code(None, slot[p])]
            found = list(mine.itertuples(index=False))
        else:
            found = []
        if not found:  # land without buildings that no kept grid borders: a grid of its own
            rows.append(_new_row(level, part, 0, [], [], "no households", False))
            failed += 1
            continue
        geoms = _tile(part, [g.geometry for g in found], tol)
        for g, geom in zip(found, geoms, strict=True):
            ok = bool(g.within_bounds)
            failed += not ok
            reason = g.reason if isinstance(g.reason, str) else None
            rows.append(
                _new_row(level, geom, int(g.households), g.members, g.parts, reason, ok, part)
            )
    return rows, failed


def _for_generate(piece):
    """`piece` on the tessellation's centimetre grid, without the specks that snapping can
    leave (they would become cells that vanish in generate_grids); the grids made from it
    are fitted back to `piece` by _tile."""
    return _clean(shapely.set_precision(piece, PRECISION_M), 10 * PRECISION_M)


def _clipped(b: gpd.GeoDataFrame, pieces: list, crs) -> gpd.GeoDataFrame:
    """The buildings (EPSG:4326) with footprints cut to the piece each belongs to: a footprint
    reaching across a kept grid's edge would otherwise get land outside the piece."""
    out = b.reset_index(drop=True)
    if len(out) == 0:
        return out
    geoms = out.to_crs(crs).geometry.to_numpy()
    polygons = np.isin(shapely.get_type_id(geoms), (3, 6))
    cut = geoms.copy()
    if polygons.any():
        inner = [p for p, keep in zip(pieces, polygons, strict=True) if keep]
        clipped = np.array([polygonal(g) for g in _inter(geoms[polygons], inner)], dtype=object)
        whole = shapely.is_empty(clipped)
        clipped[whole] = shapely.point_on_surface(geoms[polygons][whole])
        cut[polygons] = clipped
    return out.set_geometry(gpd.GeoSeries(cut, crs=crs).to_crs(4326).to_numpy())


def _barriers_inside(roads: gpd.GeoDataFrame, pieces: list, crs, tol: float):
    """The barrier roads inside the pieces, each stretch reaching just across the outline.

    Kept grids often end along a road; the leftover land then has an outline that runs
    along the road a hair's breadth away, and noding the two would make needle faces. So
    the roads are cut back to `eps` inside the outline and their ends stretched to cross it.
    """
    if "class" in roads.columns:
        roads = roads[roads["class"].astype(str).str.lower().isin(BARRIER_CLASSES)]
    if len(roads) == 0:
        return None
    eps = max(tol / 2, 5 * PRECISION_M)
    lines = roads.to_crs(crs).geometry.to_numpy()
    stretches, classes = [], []
    cls = roads["class"].to_numpy() if "class" in roads.columns else [None] * len(roads)
    for piece in pieces:
        core = shapely.buffer(piece, -eps, join_style="mitre")
        if core.is_empty:
            continue
        hit = np.flatnonzero(shapely.intersects(lines, core))
        for i, clipped in zip(hit, shapely.intersection(lines[hit], core), strict=True):
            for line in shapely.get_parts(clipped):
                if line.geom_type == "LineString" and line.length > 0:
                    stretches.append(_stretch(line, 2 * eps))
                    classes.append(cls[i])
    if not stretches:
        return None
    frame = gpd.GeoDataFrame({"class": classes}, geometry=stretches, crs=crs)
    return frame.to_crs(4326)


def _stretch(line, d: float):
    """The line with both end segments made `d` longer."""
    xy = shapely.get_coordinates(line)
    for end, inner in ((0, 1), (-1, -2)):
        v = xy[end] - xy[inner]
        n = float(np.hypot(*v))
        if n > 0:
            xy[end] = xy[end] + v / n * d
    return shapely.LineString(xy)


def _new_row(level, geom, households, members, parts, reason, ok, piece=None) -> dict:
    return {
        "level": level,
        "households": households,
        "members": members,
        "parts": parts,
        "geometry": geom,
        "origin": "new",
        "source_layer": None,
        "source_code": None,
        "agreeing": [],
        "added_m2": 0.0,
        "reason": reason,
        "within_bounds_generated": ok,
        "_piece": geom if piece is None else piece,
    }


def _tile(piece, geoms: list, tol: float) -> list:
    """The geometries made into an exact partition of `piece`: clipped, overlaps given to the
    first, leftover slivers joined to the neighbour they share most boundary with."""
    out = []
    taken = shapely.Polygon()
    leftovers = []
    for g in geoms:
        g = polygonal(_diff(polygonal(_inter(g, piece)), taken))
        if g.geom_type == "MultiPolygon":  # slivers cut off go to the neighbours
            parts = shapely.get_parts(g)
            keep = _wide(parts, tol)
            keep[int(np.argmax(shapely.area(parts)))] = True
            leftovers += list(parts[~keep])
            g = parts[keep][0] if keep.sum() == 1 else shapely.MultiPolygon(list(parts[keep]))
        out.append(g)
        taken = _merge([taken, g])
    rest = polygonal(_diff(piece, taken))
    leftovers += [p for p in shapely.get_parts(rest) if p.area > 0]
    for bit in leftovers:
        if not out:
            break
        shared = _shared(bit, out)
        if shared.max() > 0:
            target = int(np.argmax(shared))
        else:
            target = int(np.argmin(shapely.distance(np.array(out, dtype=object), bit)))
        out[target] = _join(out[target], [bit])
    return out


def _decide(cands: list[_Candidate], kept: list[_Kept], given_up: set[int], layers) -> None:
    """What became of each candidate, and why."""
    by_candidate = {k.candidate: k for k in kept}
    for i, c in enumerate(cands):
        clipped = (
            f"; clipped to the boundary ({c.inside:.0%} of it inside)" if c.inside < 0.99 else ""
        )
        if i in by_candidate:
            k = by_candidate[i]
            c.decision = "kept"
            c.note = (
                f"took over {k.added_m2:,.0f} m² of land left over"
                f" ({k.added_households} households)"
                if k.added_m2 >= 1.0
                else None
            )
        elif same := sorted(o for o in c.agrees if o in by_candidate):
            c.decision = "agrees"
            c.note = f"the same grid as kept {_ref(cands[same[0]], layers)}"
        elif c.reason is not None:
            c.decision, c.note = "rejected", c.reason
        elif i in given_up:
            c.decision = "released"
            c.note = "given up so that the land around it could be divided within bounds"
        elif hits := sorted(o for o in c.overlaps if o in by_candidate):
            c.decision = "rejected"
            c.note = f"overlaps kept {_ref(cands[hits[0]], layers)}"
        else:
            c.decision, c.note = "rejected", "left out"
        if clipped:
            c.note = (c.note or c.decision) + clipped


def _ref(c: _Candidate, layers: list[_Layer]) -> str:
    return layers[c.layer].ref(c.row)


_GRID_COLUMNS = [
    "code", "level", "parent_code", "households", "members", "parts", "within_bounds",
    "polsby_popper", "reason", "area_code", "origin", "source_layer", "source_code",
    "agreeing", "added_m2",
]  # fmt: skip


def _grid_frame(rows: list[dict], crs) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame(
            {c: [] for c in _GRID_COLUMNS}, geometry=gpd.GeoSeries([], crs=crs), crs=crs
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)[[*_GRID_COLUMNS, "geometry"]]
    _nones(frame, ["parent_code", "reason", "source_layer", "source_code"])
    return frame


def _unify_report(
    frame, decisions, layers, areas, tol, *, level, grid_bounds, micro_bounds, bounds
):
    per_layer = {}
    for layer in layers:
        mine = [d for d in decisions if d["layer"] == layer.name]
        per_layer[layer.name] = {
            "id_column": layer.id_label,
            "grids": len(layer.geoms),
            "candidates": len(mine),
            **{
                k: sum(d["decision"] == k for d in mine)
                for k in ("kept", "agrees", "rejected", "released")
            },
        }
    n = len(frame)
    kept = int((frame["origin"] == "kept").sum()) if n else 0
    top = "micro" if level == "micro" else "grid"
    report = {
        "level": level,
        "bounds": {"grid": list(grid_bounds), "micro": list(micro_bounds)},
        "tolerance_m": tol,
        "layers": per_layer,
        "kept": kept,
        "new": n - kept,
        "kept_share": kept / n if n else 0.0,
        **_boundary_shares(frame, layers, areas, tol),
        "candidates": decisions,
    }
    report[top] = _level_summary(frame, bounds)
    return report


def _level_summary(frame: gpd.GeoDataFrame, bounds) -> dict:
    n = len(frame)
    return {
        "count": int(n),
        "within_bounds": int(frame["within_bounds"].sum()) if n else 0,
        "bounds": list(bounds),
        "households_min": int(frame["households"].min()) if n else 0,
        "households_max": int(frame["households"].max()) if n else 0,
        "polsby_popper_mean": float(frame["polsby_popper"].mean()) if n else 0.0,
        "not_contiguous": int((frame.geom_type != "Polygon").sum()) if n else 0,
        "infeasible": [
            {"code": c, "households": int(h), "reason": r}
            for c, h, r in zip(frame["code"], frame["households"], frame["reason"], strict=True)
            if isinstance(r, str)
        ],
    }


def _boundary_shares(frame, layers, areas, tol) -> dict:
    """How much of the unified boundaries lies on boundaries some department already drew."""
    if len(frame) == 0:
        return {"boundary_length_m": 0.0, "boundary_share": 0.0, "internal_boundary_share": 0.0}
    lines = shapely.union_all(shapely.boundary(frame.geometry.to_numpy()))
    original = [shapely.boundary(g) for layer in layers for g in layer.geoms if not g.is_empty]
    near = (
        shapely.buffer(shapely.union_all(original), max(tol, 0.01))
        if original
        else shapely.Polygon()
    )
    outline = shapely.buffer(
        shapely.union_all([shapely.boundary(a) for a in areas]), max(tol, 0.01)
    )
    internal = shapely.difference(lines, outline)
    total, inner = lines.length, internal.length
    return {
        "boundary_length_m": round(total, 1),
        "boundary_share": shapely.intersection(lines, near).length / total if total else 0.0,
        "internal_boundary_share": (
            shapely.intersection(internal, near).length / inner if inner else 1.0
        ),
    }


def _add_micro(grids, b, roads, micro_bounds, report, tol) -> gpd.GeoDataFrame:
    """Micro-grids generated inside each unified grid, coded under it and fitted to it."""
    grids = grids.reset_index(drop=True)
    crs = utm_crs(grids) if len(grids) else None
    exact = list(grids.to_crs(crs).geometry) if len(grids) else []
    shells_m = [_for_generate(g) for g in exact]
    usable = [i for i, g in enumerate(shells_m) if not g.is_empty]
    points, _ = _points(b, crs) if crs is not None else (np.empty(0), None)
    owner = first_containing(points, [shells_m[i] for i in usable])
    inside = np.flatnonzero(owner >= 0)
    if len(inside) == 0:
        report["micro"] = {"count": 0, "within_bounds": 0, "bounds": list(micro_bounds)}
        report["micro"]["infeasible"] = []
        return grids
    sub = _clipped(b.iloc[inside], [shells_m[usable[i]] for i in owner[inside]], crs)
    pieces = [shells_m[i] for i in usable]
    shells = gpd.GeoDataFrame(geometry=gpd.GeoSeries(pieces, crs=crs)).to_crs(4326)
    barriers = _barriers_inside(roads, pieces, crs, tol) if roads is not None else None
    micro = generate_grids(sub, shells, roads=barriers, level="micro", micro_bounds=micro_bounds)
    m = micro.grids.to_crs(crs)
    slot = {i: n for n, i in enumerate(usable)}
    renamed: dict[str, str] = {}
    out = []
    for i, grid in grids.iterrows():
        out.append(grids.iloc[[i]])
        if i not in slot:
            continue
        mine = m[m["area_code"] == area_code(None, slot[i])].copy()
        if len(mine) == 0:
            continue
        mine = mine.set_geometry(
            gpd.GeoSeries(_tile(exact[i], list(mine.geometry), tol), index=mine.index, crs=crs)
        )
        xy = np.column_stack([mine.geometry.centroid.x, mine.geometry.centroid.y])
        codes = sequence_codes(grid["code"], xy.reshape(-1, 2))
        renamed.update(zip(mine["code"], codes, strict=True))
        mine["code"] = codes
        mine["parent_code"] = grid["code"]
        mine["area_code"] = grid["area_code"]
        mine["origin"] = "new"
        mine["source_layer"] = None
        mine["source_code"] = None
        mine["agreeing"] = [[] for _ in range(len(mine))]
        mine["added_m2"] = 0.0
        out.append(mine.to_crs(4326)[grids.columns])
    summary = dict(micro.report.get("micro", {}))
    summary["infeasible"] = [
        {**item, "code": renamed.get(item["code"], item["code"])}
        for item in summary.get("infeasible", [])
    ]
    report["micro"] = summary
    frame = pd.concat(out, ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
