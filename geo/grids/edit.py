"""Check and redraw a grid layer: what the map UI calls when planners edit grids.

- :func:`validate_layer` lists every problem of a layer, one row each, with where it is.
- :func:`recount` brings households and members up to date after an edit.
- :func:`move_buildings` hands buildings, with their land, from their grid to a neighbour.
- :func:`regenerate` redivides everything except the locked grids.
- :func:`split_grid` redivides one grid; :func:`merge_grids` joins neighbouring grids.

All take and return EPSG:4326 frames; areas and lengths are measured in the UTM zone. Polygons are
edited in longitude/latitude, so the edges a grid shares with untouched neighbours keep their
exact coordinates.

Which grid holds a building: the grid that contains its representative point (shapely's
``point_on_surface`` of the footprint). A split recorded in ``members`` (a tall building shared by
several micro-grids, each with its share of households) is kept while it still holds: every grid
named still overlaps the footprint, the shares add up to the building's households, and the grid
with the point is one of them. Otherwise the whole building goes to the grid with its point (or,
when the point lies in no grid, to the nearest grid within ``tolerance_m``: rounding slivers).

Tolerance: an overlap, gap or stray area is a problem when it is larger than ``tolerance_m``² and
wider than ``tolerance_m`` (a disc of that diameter fits inside); thinner slivers come from
rounding where neighbouring polygons were drawn or snapped separately.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.crs import WGS84, require_crs, utm_crs
from geo.errors import InputError
from geo.grids.codes import area_code, reading_order
from geo.grids.generate import (
    BARRIER_CLASSES,
    GRID_BOUNDS,
    MICRO_BOUNDS,
    NO_PARENT,
    GridLayer,
    generate_grids,
)
from geo.grids.graph import build_graph, components, shared_edges
from geo.grids.inputs import require_buildings
from geo.grids.tessellation import polygonal, tessellate

__all__ = [
    "PROBLEM_KINDS",
    "merge_grids",
    "move_buildings",
    "recount",
    "regenerate",
    "split_grid",
    "validate_layer",
]

PROBLEM_KINDS = (
    "invalid_geometry",
    "not_contiguous",
    "overlap",
    "gap",
    "outside_boundary",
    "micro_not_nested",
    "building_left_out",
    "building_in_two_grids",
    "micro_sum_mismatch",
    "code_invalid",
    "code_duplicate",
    "households_out_of_bounds",
    "households_stale",
)
PROBLEM_COLUMNS = ("kind", "severity", "level", "code", "other_code", "message")
LEVELS = ("grid", "micro")
CODE_DIGITS = {"grid": 15, "micro": 18}
SIMPLIFY_M = 0.05  # gap search runs on polygons simplified this much, then checks exactly
SNAP_M = 0.02  # edited polygons snap to each other's vertices within this distance
SNAP_DEG = SNAP_M / 111_320  # the same in degrees, at most (a degree of latitude)
SLIVER_M = 0.001  # problem polygons are reported without slivers thinner than twice this
QUAD_SEGS = 2  # erosion needs no round corners: a coarser arc only widens the search
SPLIT_SLACK = 0.2  # split_grid: parts may differ from an even share by this fraction
_POINT_IN_REASON = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\]")


# -- the layer, the buildings and the boundary in metres --------------------------------------


@dataclass
class _Layer:
    """A grid layer with positional arrays (row i of every array is row i of `frame`)."""

    frame: gpd.GeoDataFrame  # the input, index reset, EPSG:4326
    index: pd.Index  # the input's index
    crs: CRS  # the metric CRS of `raw` and `geom`
    raw: np.ndarray  # geometries as given, in metres
    geom: np.ndarray  # repaired to polygons (empty where nothing polygonal is left), metres
    code: np.ndarray  # str or None
    level: np.ndarray  # 'grid' or 'micro'
    parent: np.ndarray  # str or None
    top: str  # 'grid', or 'micro' for a layer of micro-grids only

    def rows(self, level: str) -> np.ndarray:
        return np.flatnonzero(self.level == level)

    def members(self, rows: np.ndarray) -> list:
        if "members" not in self.frame.columns:
            return [None] * len(rows)
        values = self.frame["members"].to_numpy()
        return [values[i] for i in rows]

    def stored_households(self) -> np.ndarray:
        """The `households` column as floats (NaN where missing)."""
        if "households" not in self.frame.columns:
            return np.full(len(self.frame), np.nan)
        return pd.to_numeric(self.frame["households"], errors="coerce").to_numpy(dtype=float)

    def find(self, code: str, *, what: str = "grid") -> int:
        hits = np.flatnonzero(self.code == str(code))
        if len(hits) == 0:
            msg = f"no {what} with code {code!r} in the layer ({len(self.code)} rows)"
            raise InputError(msg)
        if len(hits) > 1:
            msg = f"code {code!r} is used by {len(hits)} rows; fix the duplicate first"
            raise InputError(msg)
        return int(hits[0])


@dataclass
class _Buildings:
    ids: np.ndarray  # str
    households: np.ndarray  # int64
    estimated: np.ndarray  # bool
    footprint: np.ndarray  # metres, valid
    point: np.ndarray  # representative points, metres
    index: dict[str, int]


@dataclass
class _Area:
    geoms: np.ndarray  # boundary polygons, metres
    codes: list[str | None]  # valid 12-digit codes, else None
    prefixes: list[str]  # code prefix of grids in each polygon (a placeholder without a code)


@dataclass
class _Holdings:
    """Which grids of one level hold which buildings, and with how many households."""

    owner: np.ndarray  # per building: the grid containing its point, -1 if none
    doubles: list[tuple[int, int, int]]  # (building, grid, other grid): point inside both
    building: np.ndarray  # one entry per (building, grid) holding
    grid: np.ndarray
    share: np.ndarray
    split: np.ndarray  # per building: held in shares by several grids

    def households(self, n: int) -> np.ndarray:
        return np.bincount(self.grid, weights=self.share, minlength=n).astype(np.int64)

    def held(self, n_buildings: int) -> np.ndarray:
        mask = np.zeros(n_buildings, dtype=bool)
        mask[self.building] = True
        return mask


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _prepare_layer(grids: gpd.GeoDataFrame, crs: CRS) -> _Layer:
    require_crs(grids, name="grids")
    if "code" not in grids.columns:
        msg = f"grids need a 'code' column; columns are {list(grids.columns)}"
        raise InputError(msg)
    frame = grids.reset_index(drop=True)
    n = len(frame)
    if "level" in frame.columns:
        level = np.array([str(v).strip().lower() for v in frame["level"]], dtype=object)
    else:
        level = np.full(n, "grid", dtype=object)
    odd = sorted({str(v) for v in level if v not in LEVELS})
    if odd:
        msg = f"level must be 'grid' or 'micro', got {odd}"
        raise InputError(msg)
    code = np.array([_text(v) for v in frame["code"]], dtype=object)
    parent = np.array(
        [_text(v) for v in frame["parent_code"]] if "parent_code" in frame.columns else [None] * n,
        dtype=object,
    )
    raw = frame.geometry.to_crs(crs).to_numpy() if n else np.empty(0, dtype=object)
    raw = np.array([g if g is not None else shapely.Polygon() for g in raw], dtype=object)
    geom = raw.copy()
    polygon = np.isin(shapely.get_type_id(raw), (3, 6))
    bad = ~polygon | ~shapely.is_valid(raw)
    for i in np.flatnonzero(bad):
        geom[i] = polygonal(shapely.make_valid(raw[i])) if polygon[i] else shapely.Polygon()
    top = "micro" if n and not (level == "grid").any() else "grid"
    return _Layer(frame, grids.index, crs, raw, geom, code, level, parent, top)


def _prepare_buildings(buildings: gpd.GeoDataFrame, crs: CRS) -> _Buildings:
    require_buildings(buildings)
    foot = buildings.geometry.to_crs(crs).to_numpy()
    missing = np.flatnonzero(shapely.is_missing(foot) | shapely.is_empty(foot))
    if len(missing):
        first = buildings["building_id"].iloc[int(missing[0])]
        msg = f"{len(missing)} buildings have no geometry (first: {first})"
        raise InputError(msg)
    invalid = ~shapely.is_valid(foot)
    if invalid.any():
        foot = foot.copy()
        foot[invalid] = shapely.make_valid(foot[invalid])
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
    )


def _prepare_boundary(boundary: gpd.GeoDataFrame, crs: CRS) -> _Area:
    require_crs(boundary, name="boundary")
    if len(boundary) == 0:
        msg = "the boundary has no polygons"
        raise InputError(msg)
    kinds = set(boundary.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        msg = f"the boundary must be polygons, got {sorted(kinds)}"
        raise InputError(msg)
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
            msg = f"{name} bounds must satisfy 0 < min <= max, got {lo}–{hi}"
            raise InputError(msg)
    if tolerance_m is not None and not tolerance_m > 0:
        msg = f"tolerance_m must be > 0, got {tolerance_m}"
        raise InputError(msg)


def _bounds_of(level: str, grid_bounds, micro_bounds) -> tuple[int, int]:
    return tuple(grid_bounds) if level == "grid" else tuple(micro_bounds)


# -- who holds which building ----------------------------------------------------------------


def _entries(value: object) -> list[tuple[str, int]]:
    """(building_id, households) pairs of a `members` value (list, array or JSON text)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    out = []
    for entry in value:
        try:
            out.append((str(entry[0]), int(entry[1])))
        except (TypeError, ValueError, IndexError):
            continue
    return out


def _holdings(
    geoms: np.ndarray,
    members: list,
    b: _Buildings,
    *,
    tol: float,
    force: dict[int, int] | None = None,
) -> _Holdings:
    """Holdings of the grids `geoms` (one level): by point, except splits that still hold."""
    n_b = len(b.ids)
    tree = shapely.STRtree(geoms)
    pb, pg = tree.query(b.point, predicate="within")
    order = np.lexsort((pg, pb))
    pb, pg = pb[order], pg[order]
    owner = np.full(n_b, -1, dtype=np.int64)
    starts = np.unique(pb, return_index=True)[1]
    owner[pb[starts]] = pg[starts]
    ends = np.append(starts[1:], len(pb)) if len(starts) else starts
    doubles = [
        (int(pb[s]), int(pg[s]), int(pg[k]))
        for s, e in zip(starts, ends, strict=True)
        if e - s > 1
        for k in range(s + 1, e)
    ]
    lonely = np.flatnonzero(owner < 0)
    if len(lonely):  # on an edge, or in a rounding sliver: the nearest grid within tol
        qb, qg = tree.query(b.point[lonely], predicate="dwithin", distance=tol)
        if len(qb):
            gap = shapely.distance(b.point[lonely[qb]], geoms[qg])
            order = np.lexsort((qg, gap, qb))
            qb, qg = qb[order], qg[order]
            first = np.unique(qb, return_index=True)[1]
            owner[lonely[qb[first]]] = qg[first]

    split_b, split_g, split_s = _recorded_splits(geoms, members, b, owner, tol=tol)
    split = np.zeros(n_b, dtype=bool)
    split[split_b] = True
    single = np.flatnonzero(~split & (owner >= 0))
    building = np.concatenate([split_b, single])
    grid = np.concatenate([split_g, owner[single]])
    share = np.concatenate([split_s, b.households[single]])
    if force:
        moved = np.fromiter(force.keys(), dtype=np.int64)
        keep = ~np.isin(building, moved)
        building = np.concatenate([building[keep], moved])
        grid = np.concatenate([grid[keep], np.fromiter(force.values(), dtype=np.int64)])
        share = np.concatenate([share[keep], b.households[moved]])
        split[moved] = False
    order = np.lexsort((building, grid))
    return _Holdings(
        owner,
        doubles,
        building[order].astype(np.int64),
        grid[order].astype(np.int64),
        share[order].astype(np.int64),
        split,
    )


def _recorded_splits(geoms, members, b: _Buildings, owner: np.ndarray, *, tol: float):
    """The (building, grid, share) entries of recorded splits that still hold."""
    eb, eg, es = [], [], []
    for g, value in enumerate(members):
        for building_id, households in _entries(value):
            bi = b.index.get(building_id)
            if bi is not None:
                eb.append(bi)
                eg.append(g)
                es.append(households)
    empty = (np.empty(0, np.int64),) * 3
    if not eb:
        return empty
    eb, eg, es = (np.asarray(x, dtype=np.int64) for x in (eb, eg, es))
    # one entry per (building, grid), then only buildings named by several grids
    pairs, inverse = np.unique(np.column_stack([eb, eg]), axis=0, return_inverse=True)
    shares = np.bincount(inverse.ravel(), weights=es, minlength=len(pairs)).astype(np.int64)
    bi, gi = pairs[:, 0], pairs[:, 1]
    buildings, first, count = np.unique(bi, return_index=True, return_counts=True)
    several = np.repeat(count > 1, count)
    bi, gi, shares = bi[several], gi[several], shares[several]
    if len(bi) == 0:
        return empty
    foot = b.footprint[bi]
    overlaps = np.ones(len(bi), dtype=bool)
    polygon = np.isin(shapely.get_type_id(foot), (3, 6))
    if polygon.any():
        shared = shapely.area(shapely.intersection(geoms[gi[polygon]], foot[polygon]))
        overlaps[polygon] = shared > tol**2
    group, start = np.unique(bi, return_index=True)
    all_overlap = np.minimum.reduceat(overlaps.astype(int), start).astype(bool)
    has_point = np.maximum.reduceat((gi == owner[bi]).astype(int), start).astype(bool)
    total = np.add.reduceat(shares, start)
    good = group[all_overlap & has_point & (total == b.households[group])]
    keep = np.isin(bi, good)
    return bi[keep], gi[keep], shares[keep]


def _member_lists(hold: _Holdings, n: int, b: _Buildings) -> list[list]:
    out: list[list] = [[] for _ in range(n)]
    for g, bi, s in zip(hold.grid, hold.building, hold.share, strict=True):
        out[g].append([str(b.ids[bi]), int(s)])
    return out


# -- validate -----------------------------------------------------------------------------------


def validate_layer(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    *,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    tolerance_m: float = 0.5,
) -> gpd.GeoDataFrame:
    """List the problems of a grid layer, one row each, with where each one is.

    Parameters
    ----------
    grids : GeoDataFrame
        EPSG:4326 grid layer with `code` and, optionally, `level` ('grid' if missing),
        `parent_code`, `households` and `members` (as from generate_grids).
    buildings : GeoDataFrame
        EPSG:4326 footprints or points with `building_id`, `households` and optionally
        `households_estimated`.
    boundary : GeoDataFrame
        EPSG:4326 polygons the layer must cover, optionally with their 12-digit `code`.
    grid_bounds, micro_bounds : (int, int)
        Households per grid and per micro-grid.
    tolerance_m : float, default 0.5
        Overlaps, gaps and stray areas no larger than this squared, or no wider than this, are
        rounding and not reported.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, columns kind, severity ('error' or 'warning'), level, code, other_code,
        message and geometry: the overlap or gap polygon, the stray part, the building's point
        or the grid polygon. Errors first. Kinds are listed in ``PROBLEM_KINDS``.

    Examples
    --------
    >>> layer = generate_grids(city.buildings, city.communities, level="both")
    >>> problems = validate_layer(layer.grids, city.buildings, city.communities)
    >>> problems[problems.severity == "error"].empty
    True
    """
    _check_bounds(grid_bounds, micro_bounds, tolerance_m)
    require_crs(grids, name="grids")
    require_crs(buildings, name="buildings")
    crs = _metric_crs(boundary, name="boundary")
    area = _prepare_boundary(boundary, crs)
    layer = _prepare_layer(grids, crs)
    b = _prepare_buildings(buildings, crs)
    tol = float(tolerance_m)
    out: list[dict] = []
    eroded = shapely.buffer(layer.geom, -tol / 2, quad_segs=QUAD_SEGS)
    _geometry_problems(layer, tol, out)
    inside = _inside_boundary(b, area)
    counted = np.zeros(len(layer.code), dtype=np.int64)
    for level in LEVELS:
        rows = layer.rows(level)
        if len(rows) == 0:
            continue
        _overlap_problems(layer, rows, eroded, tol, out)
        hold = _holdings(layer.geom[rows], layer.members(rows), b, tol=tol)
        counted[rows] = hold.households(len(rows))
        _building_problems(layer, rows, hold, b, inside, out)
        _count_problems(layer, rows, hold, b, counted, grid_bounds, micro_bounds, out)
    _outside_problems(layer, eroded, area, tol, out)
    _gap_problems(layer, area, tol, out)
    _nesting_problems(layer, eroded, counted, tol, out)
    _code_problems(layer, area, out)
    return _problem_frame(out, crs)


def _problem(kind, severity, level, code, other, message, geometry) -> dict:
    return {
        "kind": kind,
        "severity": severity,
        "level": level,
        "code": code,
        "other_code": other,
        "message": message,
        "geometry": geometry,
    }


def _problem_frame(rows: list[dict], crs: CRS | None) -> gpd.GeoDataFrame:
    if not rows:
        empty = {c: pd.Series([], dtype=object) for c in PROBLEM_COLUMNS}
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_crs(WGS84)
    rank = {k: i for i, k in enumerate(PROBLEM_KINDS)}
    frame["_s"] = (frame["severity"] != "error").astype(int)
    frame["_k"] = frame["kind"].map(rank)
    frame["_c"] = frame["code"].fillna("")
    frame = frame.sort_values(["_s", "_k", "_c"], kind="stable").drop(columns=["_s", "_k", "_c"])
    frame = frame.astype({c: object for c in ("code", "other_code")})
    frame = frame.where(frame.notna(), None)
    return frame.reset_index(drop=True)


def _significant(parts: np.ndarray, tol: float, *, slack: float = 0.0) -> np.ndarray:
    """Parts larger than tol² and wide enough to hold a disc of diameter tol (less slack)."""
    parts = np.asarray(parts, dtype=object)
    if len(parts) == 0:
        return np.zeros(0, dtype=bool)
    big = shapely.area(parts) > max(tol - 2 * slack, 0.0) ** 2
    out = np.zeros(len(parts), dtype=bool)
    if big.any():
        radius = max(tol / 2 - slack, 0.0)
        core = shapely.buffer(parts[big], -radius, quad_segs=QUAD_SEGS)
        out[big] = ~shapely.is_empty(core)
    return out


def _parts(geom) -> np.ndarray:
    parts = shapely.get_parts(polygonal(geom))
    return parts[~shapely.is_empty(parts)]


def _significant_union(geom, tol: float):
    parts = _parts(geom)
    keep = _clean(parts[_significant(parts, tol)], tol)
    if len(keep) == 0:
        return None
    return keep[0] if len(keep) == 1 else shapely.MultiPolygon(list(keep))


def _clean(parts: np.ndarray, tol: float) -> np.ndarray:
    """Parts without the hairline slivers (under 2 mm) that overlay leaves along shared edges,
    and without the crumbs (under tol²) that removing them leaves."""
    if len(parts) == 0:
        return parts
    opened = shapely.buffer(
        shapely.buffer(parts, -SLIVER_M, join_style="mitre"), SLIVER_M, join_style="mitre"
    )
    opened = shapely.intersection(opened, parts)
    out = np.asarray([p for g in opened for p in _parts(g)], dtype=object)
    return out[shapely.area(out) > tol**2] if len(out) else out


def _name(layer: _Layer, i: int) -> str:
    word = "micro-grid" if layer.level[i] == "micro" else "grid"
    return f"{word} {layer.code[i] or f'(row {i + 1}, no code)'}"


def _geometry_problems(layer: _Layer, tol: float, out: list[dict]) -> None:
    raw = layer.raw
    type_id = shapely.get_type_id(raw)
    valid = shapely.is_valid(raw)
    for i in range(len(raw)):
        name, level, code = _name(layer, i), layer.level[i], layer.code[i]
        if shapely.is_empty(raw[i]):
            out.append(
                _problem("invalid_geometry", "error", level, code, None,
                         f"{name} has an empty geometry", None)
            )  # fmt: skip
            continue
        if type_id[i] not in (3, 6):
            out.append(
                _problem("invalid_geometry", "error", level, code, None,
                         f"{name} is a {raw[i].geom_type}, not a polygon", raw[i])
            )  # fmt: skip
            continue
        if not valid[i]:
            reason = shapely.is_valid_reason(raw[i])
            found = _POINT_IN_REASON.search(reason)
            where = shapely.Point(float(found.group(1)), float(found.group(2))) if found else raw[i]
            out.append(
                _problem("invalid_geometry", "error", level, code, None,
                         f"{name} has an invalid geometry: {reason}", where)
            )  # fmt: skip
    # parts: of the repaired polygons
    counts = shapely.get_num_geometries(layer.geom)
    for i in np.flatnonzero(counts > 1):
        parts = _parts(layer.geom[i])
        areas = shapely.area(parts)
        order = np.argsort(-areas)
        parts, areas = parts[order], areas[order]
        real = areas > tol**2
        strays = parts[1:]
        if len(strays) == 0:
            continue
        where = strays[0] if len(strays) == 1 else shapely.MultiPolygon(list(strays))
        name, level, code = _name(layer, i), layer.level[i], layer.code[i]
        if real.sum() > 1:
            sizes = ", ".join(f"{a:,.1f}" for a in areas[1:6])
            more = " …" if len(areas) > 6 else ""
            msg = (
                f"{name} is in {len(parts)} separate parts: the largest {areas[0]:,.1f} m², "
                f"the others {sizes}{more} m²"
            )
            out.append(_problem("not_contiguous", "error", level, code, None, msg, where))
        else:
            msg = (
                f"{name} has {len(strays)} tiny stray part(s) of {areas[1:].sum():.2f} m² in all "
                f"(below {tol**2:g} m²) besides its main polygon"
            )
            out.append(_problem("not_contiguous", "warning", level, code, None, msg, where))


def _overlap_problems(layer: _Layer, rows, eroded, tol: float, out: list[dict]) -> None:
    cores = eroded[rows]
    tree = shapely.STRtree(cores)
    i, j = tree.query(cores, predicate="intersects")
    keep = i < j
    i, j = rows[i[keep]], rows[j[keep]]
    if len(i) == 0:
        return
    shared = shapely.intersection(layer.geom[i], layer.geom[j])
    for a, c, geom in zip(i, j, shared, strict=True):
        where = _significant_union(geom, tol)
        if where is None:
            continue
        msg = f"{_name(layer, a)} and {_name(layer, c)} overlap by {where.area:,.1f} m²"
        out.append(
            _problem("overlap", "error", layer.level[a], layer.code[a], layer.code[c], msg, where)
        )


def _inside_boundary(b: _Buildings, area: _Area) -> np.ndarray:
    tree = shapely.STRtree(area.geoms)
    hit, _ = tree.query(b.point, predicate="intersects")
    inside = np.zeros(len(b.ids), dtype=bool)
    inside[hit] = True
    return inside


def _building_problems(layer, rows, hold: _Holdings, b, inside, out: list[dict]) -> None:
    level = layer.level[rows[0]]
    word = "micro-grid" if level == "micro" else "grid"
    for bi, g, other in hold.doubles:
        msg = (
            f"building {b.ids[bi]} ({b.households[bi]} households) has its point inside both "
            f"{_name(layer, rows[g])} and {_name(layer, rows[other])}"
        )
        out.append(
            _problem("building_in_two_grids", "error", level, layer.code[rows[g]],
                     layer.code[rows[other]], msg, b.point[bi])
        )  # fmt: skip
    left = np.flatnonzero(inside & (b.households > 0) & ~hold.held(len(b.ids)))
    for bi in left:
        estimated = " (estimated)" if b.estimated[bi] else ""
        msg = f"building {b.ids[bi]} ({b.households[bi]} households{estimated}) is in no {word}"
        out.append(_problem("building_left_out", "error", level, None, None, msg, b.point[bi]))


def _count_problems(layer, rows, hold, b, counted, grid_bounds, micro_bounds, out) -> None:
    level = layer.level[rows[0]]
    lo, hi = _bounds_of(level, grid_bounds, micro_bounds)
    n = len(rows)
    n_buildings = np.bincount(hold.grid, weights=hold.share > 0, minlength=n).astype(int)
    n_estimated = np.bincount(
        hold.grid, weights=(hold.share > 0) & b.estimated[hold.building], minlength=n
    ).astype(int)
    stored = layer.stored_households()
    for k, i in enumerate(rows):
        h = int(counted[i])
        if not lo <= h <= hi:
            side = f"fewer than the minimum {lo}" if h < lo else f"more than the maximum {hi}"
            estimated = (
                f", {n_estimated[k]} of them with estimated households" if n_estimated[k] else ""
            )
            msg = (
                f"{_name(layer, i)} has {h} households ({n_buildings[k]} buildings{estimated}), "
                f"{side}"
            )
            out.append(
                _problem("households_out_of_bounds", "warning", level, layer.code[i], None, msg,
                         layer.geom[i])
            )  # fmt: skip
        if not math.isnan(stored[i]) and int(stored[i]) != h:
            msg = (
                f"{_name(layer, i)} records {int(stored[i])} households but the buildings inside "
                f"it hold {h}; run recount"
            )
            out.append(
                _problem("households_stale", "warning", level, layer.code[i], None, msg,
                         layer.geom[i])
            )  # fmt: skip


def _outside_problems(layer: _Layer, eroded, area: _Area, tol: float, out: list[dict]) -> None:
    if len(layer.geom) == 0:
        return
    whole = shapely.union_all(area.geoms)
    shapely.prepare(whole)
    # a stray part wider than tol holds a disc whose centre lies in the eroded grid
    suspects = np.flatnonzero(~shapely.is_empty(eroded) & ~shapely.covered_by(eroded, whole))
    for i in suspects:
        where = _significant_union(shapely.difference(layer.geom[i], whole), tol)
        if where is None:
            continue
        msg = f"{_name(layer, i)} reaches {where.area:,.1f} m² beyond the boundary"
        out.append(
            _problem("outside_boundary", "error", layer.level[i], layer.code[i], None, msg, where)
        )


def _holes(container, rows, layer: _Layer, rough, tol: float) -> np.ndarray:
    """Significant parts of `container` outside the polygons `rows`.

    Searched first on the `rough` (simplified) polygons; computed exactly only where found.
    """
    if len(rows) == 0:
        parts = _parts(container)
        return _clean(parts[_significant(parts, tol)], tol)
    try:
        near = shapely.difference(_simplify(container), shapely.union_all(rough[rows]))
    except shapely.errors.GEOSException:  # a simplified polygon folded over: go exact
        near = shapely.difference(container, shapely.union_all(layer.geom[rows]))
    parts = _parts(near)
    if not _significant(parts, tol, slack=2 * SIMPLIFY_M).any():
        return np.empty(0, dtype=object)
    exact = shapely.difference(container, shapely.union_all(layer.geom[rows]))
    parts = _parts(exact)
    return _clean(parts[_significant(parts, tol)], tol)


def _simplify(geoms):
    """Douglas-Peucker at SIMPLIFY_M: five times faster than the topology-preserving kind."""
    return shapely.simplify(geoms, SIMPLIFY_M, preserve_topology=False)


def _neighbours(layer: _Layer, tree, rows, part, limit: int = 4) -> str:
    near = rows[tree.query(part, predicate="dwithin", distance=0.1)]
    codes = sorted({layer.code[i] for i in near if layer.code[i]})
    if not codes:
        return ""
    listed = ", ".join(codes[:limit]) + (" …" if len(codes) > limit else "")
    return f", next to {listed}"


def _gap_problems(layer: _Layer, area: _Area, tol: float, out: list[dict]) -> None:
    simple = _simplify(layer.geom)
    top = layer.top
    rows = layer.rows(top)
    tree = shapely.STRtree(layer.geom[rows])
    hit_a, hit_g = tree.query(area.geoms, predicate="intersects")
    word = "micro-grid" if top == "micro" else "grid"
    for a, container in enumerate(area.geoms):
        for part in _holes(container, rows[hit_g[hit_a == a]], layer, simple, tol):
            where = f"boundary polygon {area.codes[a] or a + 1}"
            msg = f"{part.area:,.1f} m² of {where} is in no {word}" + _neighbours(
                layer, tree, rows, part
            )
            out.append(_problem("gap", "error", top, None, None, msg, part))
    micro = layer.rows("micro")
    if top != "grid" or len(micro) == 0:
        return
    children = pd.Series(micro).groupby(pd.Series(layer.parent[micro], dtype=object)).agg(list)
    micro_tree = shapely.STRtree(layer.geom[micro])
    for g in layer.rows("grid"):
        mine = np.asarray(children.get(layer.code[g], []), dtype=np.int64)
        if len(mine) == 0:
            msg = f"{_name(layer, g)} has no micro-grids"
            out.append(_problem("gap", "error", "micro", layer.code[g], None, msg, layer.geom[g]))
            continue
        for part in _holes(layer.geom[g], mine, layer, simple, tol):
            msg = (
                f"{part.area:,.1f} m² of {_name(layer, g)} is in none of its micro-grids"
                + _neighbours(layer, micro_tree, micro, part)
            )
            out.append(_problem("gap", "error", "micro", layer.code[g], None, msg, part))


def _nesting_problems(layer: _Layer, eroded, counted, tol: float, out: list[dict]) -> None:
    micro = layer.rows("micro")
    if layer.top != "grid" or len(micro) == 0:
        return
    grid_rows = layer.rows("grid")
    position: dict[str, int] = {}
    for g in grid_rows:
        if layer.code[g]:
            position.setdefault(layer.code[g], int(g))
    parent_of = np.array([position.get(p, -1) if p else -1 for p in layer.parent[micro]])
    for m in micro[parent_of < 0]:
        parent = layer.parent[m]
        why = "has no parent_code" if not parent else f"names parent {parent}, not in the layer"
        msg = f"{_name(layer, m)} {why}"
        out.append(
            _problem("micro_not_nested", "error", "micro", layer.code[m], parent, msg,
                     layer.geom[m])
        )  # fmt: skip
    nested = parent_of >= 0
    m_rows, p_rows = micro[nested], parent_of[nested]
    cores = eroded[m_rows]
    suspects = ~shapely.is_empty(cores) & ~shapely.covered_by(cores, layer.geom[p_rows])
    for m, p in zip(m_rows[suspects], p_rows[suspects], strict=True):
        where = _significant_union(shapely.difference(layer.geom[m], layer.geom[p]), tol)
        if where is None:
            continue
        msg = (
            f"{_name(layer, m)} reaches {where.area:,.1f} m² outside its parent grid "
            f"{layer.code[p]}"
        )
        out.append(
            _problem("micro_not_nested", "error", "micro", layer.code[m], layer.code[p], msg,
                     where)
        )  # fmt: skip
    # households: what the layer records where it does, else what the buildings give
    stored = layer.stored_households()
    value = np.where(np.isnan(stored), counted, stored).astype(np.int64)
    sums = pd.Series(value[m_rows]).groupby(p_rows).sum()
    for p, total in sums.items():
        if int(total) != int(value[p]):
            msg = (
                f"the micro-grids of {_name(layer, p)} hold {int(total)} households, the grid "
                f"{int(value[p])}"
            )
            out.append(
                _problem("micro_sum_mismatch", "error", "micro", layer.code[p], None, msg,
                         layer.geom[p])
            )  # fmt: skip


def _code_problems(layer: _Layer, area: _Area, out: list[dict]) -> None:
    def bad(i, why):
        msg = f"{_name(layer, i)}: {why}"
        out.append(
            _problem("code_invalid", "error", layer.level[i], layer.code[i], layer.parent[i], msg,
                     layer.geom[i])
        )  # fmt: skip

    community = _community_of(layer, area)
    for i in range(len(layer.code)):
        code, level, parent = layer.code[i], layer.level[i], layer.parent[i]
        if not code:
            bad(i, "no code")
            continue
        digits = CODE_DIGITS[level]
        if len(code) != digits or not code.isdigit():
            bad(i, f"code {code!r} is not {digits} digits")
            continue
        if level == "micro" and parent and not code.startswith(parent):
            bad(i, f"code {code} does not start with its parent's code {parent}")
            continue
        if level == "micro" and layer.top == "micro" and code[12:15] != NO_PARENT:
            bad(i, f"code {code}: micro-grids without grids have {NO_PARENT} in digits 13–15")
            continue
        expected = community[i]
        if level == layer.top and expected and not code.startswith(expected):
            bad(i, f"code {code} does not start with {expected}, the code of the area it lies in")
    codes = pd.Series(layer.code, dtype=object)
    counts = codes[codes.notna()].value_counts()
    for code, n in counts[counts > 1].items():
        rows = np.flatnonzero(layer.code == code)
        where = shapely.union_all(layer.geom[rows])
        msg = f"code {code} is used by {n} rows"
        out.append(
            _problem("code_duplicate", "error", layer.level[rows[0]], code, None, msg, where)
        )


def _community_of(layer: _Layer, area: _Area) -> list[str | None]:
    """The code of the boundary polygon holding each row's representative point."""
    out: list[str | None] = [None] * len(layer.code)
    if not any(area.codes) or len(layer.geom) == 0:
        return out
    points = shapely.point_on_surface(layer.geom)
    tree = shapely.STRtree(area.geoms)
    hit_r, hit_a = tree.query(points, predicate="intersects")
    for r, a in zip(hit_r, hit_a, strict=True):
        if out[r] is None:
            out[r] = area.codes[a]
    return out


# -- recount --------------------------------------------------------------------------------


def recount(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
    tolerance_m: float = 0.5,
) -> gpd.GeoDataFrame:
    """Recompute households and members of every grid from the buildings inside it.

    A building counts in the grid that contains its representative point; a split recorded in
    `members` is kept while every grid named still overlaps the footprint (see the module
    docstring). `within_bounds`, `polsby_popper`, `reason` and the `parts` of split buildings
    are brought up to date as well.

    Parameters
    ----------
    grids : GeoDataFrame
        EPSG:4326 layer with `code` (and `level`, `members` where known).
    buildings : GeoDataFrame
        EPSG:4326 buildings with `building_id` and `households`.
    grid_bounds, micro_bounds : (int, int)
        Households per grid and per micro-grid, for `within_bounds`.
    tolerance_m : float
        Overlap with a footprint (squared) below which a recorded split no longer holds.

    Returns
    -------
    GeoDataFrame
        A new frame with the same rows and index.
    """
    _check_bounds(grid_bounds, micro_bounds, tolerance_m)
    require_crs(grids, name="grids")
    require_crs(buildings, name="buildings")
    if len(grids) == 0:
        return grids.copy()
    crs = _metric_crs(grids, name="grids")
    layer = _prepare_layer(grids, crs)
    b = _prepare_buildings(buildings, crs)
    every = np.arange(len(layer.code))
    updated = _recounted(layer, b, every, grid_bounds, micro_bounds, tol=tolerance_m)
    updated.index = grids.index
    return updated


def _recounted(
    layer: _Layer,
    b: _Buildings,
    rows: np.ndarray,
    grid_bounds,
    micro_bounds,
    *,
    tol: float,
    force: dict[str, dict[int, int]] | None = None,
    spread: bool = False,
) -> gpd.GeoDataFrame:
    """A copy of the layer with counts, members and shape measures redone for `rows`.

    With `spread`, also for other rows whose members change because of the buildings of
    `rows` (a split that no longer holds sends a building back to the grid with its point).
    """
    frame = layer.frame.copy()
    n = len(frame)
    households = _column(frame, "households", 0)
    members = _column(frame, "members", None)
    parts = _column(frame, "parts", None)
    within = _column(frame, "within_bounds", None)
    polsby = _column(frame, "polsby_popper", None)
    reason = _column(frame, "reason", None)
    todo = np.zeros(n, dtype=bool)
    todo[rows] = True
    for level in LEVELS:
        level_rows = layer.rows(level)
        if len(level_rows) == 0 or not todo[level_rows].any():
            continue
        hold = _holdings(
            layer.geom[level_rows],
            layer.members(level_rows),
            b,
            tol=tol,
            force=(force or {}).get(level),
        )
        counts = hold.households(len(level_rows))
        lists = _member_lists(hold, len(level_rows), b)
        if spread:
            _spread(todo, level_rows, members, lists, force=(force or {}).get(level), b=b)
        lo, hi = _bounds_of(level, grid_bounds, micro_bounds)
        for k, i in enumerate(level_rows):
            if not todo[i]:
                continue
            h = int(counts[k])
            old = households[i]
            households[i] = h
            members[i] = lists[k]
            parts[i] = _kept_parts(parts[i], lists[k], hold.split, b)
            within[i] = bool(lo <= h <= hi)
            reason[i] = _reason(h, lo, hi, reason[i], old)
            polsby[i] = _polsby(layer.geom[i])
    frame["households"] = pd.array(households, dtype="int64")
    frame["members"] = pd.Series(members, index=frame.index, dtype=object)
    frame["parts"] = pd.Series(
        [p if p is not None else [] for p in parts], index=frame.index, dtype=object
    )
    frame["within_bounds"] = pd.Series(within, index=frame.index, dtype=object).astype(bool)
    frame["polsby_popper"] = pd.to_numeric(pd.Series(polsby, index=frame.index))
    frame["reason"] = pd.Series(reason, index=frame.index, dtype=object)
    return frame


def _spread(todo, level_rows, stored, lists, *, force, b: _Buildings) -> None:
    """Mark rows whose members change through the buildings of rows already marked."""
    old = [{bid for bid, _ in _entries(stored[i])} for i in level_rows]
    now = [{m[0] for m in members} for members in lists]
    touched = {str(b.ids[bi]) for bi in (force or {})}
    for k, i in enumerate(level_rows):
        if todo[i]:
            touched |= old[k] | now[k]
    for k, i in enumerate(level_rows):
        if todo[i] or not (old[k] | now[k]) & touched:
            continue
        if sorted(map(tuple, _entries(stored[i]))) != sorted(map(tuple, lists[k])):
            todo[i] = True


def _column(frame: pd.DataFrame, name: str, default) -> list:
    if name not in frame.columns:
        return [default] * len(frame)
    values = frame[name].tolist()
    if name == "households":
        return [int(v) if v is not None and not pd.isna(v) else 0 for v in values]
    return values


def _kept_parts(old, members: list, split: np.ndarray, b: _Buildings) -> list:
    """Entries of `parts` for buildings still split into this grid with the same share."""
    if old is None or (isinstance(old, float) and math.isnan(old)):
        return []
    share = {bid: s for bid, s in members}
    kept = []
    for entry in old:
        try:
            building_id, _, households = entry[0], entry[1], int(entry[2])
        except (TypeError, ValueError, IndexError):
            continue
        bi = b.index.get(str(building_id))
        if bi is not None and split[bi] and share.get(str(building_id)) == households:
            kept.append(list(entry))
    return kept


def _reason(h: int, lo: int, hi: int, old_reason, old_h) -> str | None:
    if lo <= h <= hi:
        return None
    if isinstance(old_reason, str) and old_h == h:
        return old_reason
    return f"{h} households, outside {lo}–{hi}"


def _polsby(geom) -> float:
    perimeter = shapely.length(geom)
    return float(4 * math.pi * shapely.area(geom) / perimeter**2) if perimeter else 0.0


# -- move buildings ---------------------------------------------------------------------------


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
        The grid (or micro-grid) that receives them. Micro-grid moves stay inside one grid.
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
        Unknown code or building; a micro-grid move between grids; land that does not touch
        the target ('not adjacent').
    """
    _check_bounds(grid_bounds, micro_bounds, tolerance_m)
    require_crs(grids, name="grids")
    require_crs(buildings, name="buildings")
    if roads is not None:
        require_crs(roads, name="roads")
    crs = _metric_crs(boundary, name="boundary")
    area = _prepare_boundary(boundary, crs)
    layer = _prepare_layer(grids, crs)
    b = _prepare_buildings(buildings, crs)
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
            msg = f"building {b.ids[bi]} is in no {level}; draw a grid over it first"
            raise InputError(msg)
        held = [int(s) for s in held if s != target]
        if held:
            sources[int(bi)] = held
    if level == "micro" and layer.top == "grid":
        strays = sorted(
            {layer.code[s] for held in sources.values() for s in held
             if layer.parent[s] != layer.parent[target]}
        )  # fmt: skip
        if strays:
            msg = (
                f"micro-grid moves stay inside one grid: {', '.join(strays)} are not in grid "
                f"{layer.parent[target]}; move the buildings at grid level first"
            )
            raise InputError(msg)
    if not sources:
        return grids.copy()

    cells = _land_cells(b, list(sources), area, roads, crs)
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
    _require_adjacent(layer, target, pieces, b, crs)

    new = geom84.copy()
    taken: dict[int, object] = {}
    for s in {s for _, s, _ in pieces}:
        taken[s] = shapely.union_all([land for _, t, land in pieces if t == s])
        new[s] = _cut(geom84[s], taken[s])
        keeps = np.setdiff1d(hold.building[rows[hold.grid] == s], list(sources))
        remnant = None if len(keeps) else _remnant(new[s], geom84[target], crs)
        if remnant is not None:  # no building left: the land goes along
            pieces.append((-1, s, remnant))
            taken[s] = shapely.union(taken[s], remnant)
            new[s] = shapely.Polygon()
    new[target] = polygonal(shapely.union_all([geom84[target], *taken.values()]))
    changed = {target, *taken}
    if level == "grid" and layer.top == "grid":
        changed |= _move_micro_land(layer, new, target, pieces, crs)
    _absorb_strays(layer, b, new, changed, crs, tol)
    force = {level: dict.fromkeys(sources, int(target))}
    return _rebuild(layer, b, new, changed, grid_bounds, micro_bounds, tol=tol, force=force)


def _building_rows(b: _Buildings, building_ids) -> np.ndarray:
    ids = [building_ids] if isinstance(building_ids, str) else [str(x) for x in building_ids]
    if not ids:
        msg = "no buildings to move"
        raise InputError(msg)
    unknown = [x for x in ids if x not in b.index]
    if unknown:
        listed = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        msg = f"{len(unknown)} building ids are not in the buildings: {listed}"
        raise InputError(msg)
    return np.unique([b.index[x] for x in ids])


def _geoms84(layer: _Layer) -> np.ndarray:
    """The layer's polygons in lon/lat: as given where valid, repaired elsewhere."""
    given = layer.frame.geometry.to_numpy().copy()
    fixed = np.flatnonzero(
        ~np.isin(shapely.get_type_id(layer.raw), (3, 6)) | ~shapely.is_valid(layer.raw)
    )
    if len(fixed):
        given[fixed] = _to84(list(layer.geom[fixed]), layer.crs)
    return given


def _to84(geoms: list, crs: CRS) -> np.ndarray:
    if not geoms:
        return np.empty(0, dtype=object)
    return gpd.GeoSeries(geoms, crs=crs).to_crs(WGS84).to_numpy()


def _to_metric(geoms: list, crs: CRS) -> np.ndarray:
    if not len(geoms):
        return np.empty(0, dtype=object)
    return gpd.GeoSeries(list(geoms), crs=WGS84).to_crs(crs).to_numpy()


def _barriers(roads: gpd.GeoDataFrame | None, crs: CRS) -> np.ndarray | None:
    if roads is None:
        return None
    roads = roads.to_crs(crs)
    if "class" in roads.columns:
        roads = roads[roads["class"].astype(str).str.lower().isin(BARRIER_CLASSES)]
    lines = roads.geometry.to_numpy()
    lines = lines[np.isin(shapely.get_type_id(lines), (1, 2, 5))] if len(lines) else lines
    return lines[~shapely.is_empty(lines)] if len(lines) else None


def _inner_roads(roads, geoms: list, crs: CRS, *, band: float) -> gpd.GeoDataFrame | None:
    """Barrier lines inside the areas, without stretches running along an area's edge.

    An edited area's edge often follows a road centreline to within millimetres; cut by the
    road, the area would leave sliver enclosures that the tessellation cannot use. Segments
    whose ends and middle all lie within `band` of the edge are dropped; roads crossing the
    area keep the segments that reach the edge, so they still cut it.
    """
    lines = _barriers(roads, crs)
    if lines is None or len(lines) == 0:
        return None
    kept = []
    for geom in geoms:
        clipped = shapely.intersection(lines, geom)
        parts = shapely.get_parts(clipped[~shapely.is_empty(clipped)])
        parts = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
        if len(parts) == 0:
            continue
        xy, which = shapely.get_coordinates(parts, return_index=True)
        same = which[:-1] == which[1:]
        start, end = xy[:-1][same], xy[1:][same]
        if len(start) == 0:
            continue
        segments = shapely.linestrings(np.stack([start, end], axis=1))
        edge = shapely.boundary(geom)
        shapely.prepare(edge)
        near = np.ones(len(segments), dtype=bool)
        for point in (start, end, (start + end) / 2):
            near &= shapely.dwithin(shapely.points(point), edge, band)
        kept += list(segments[~near & (shapely.length(segments) > 0)])
    if not kept:
        return None
    return gpd.GeoDataFrame(geometry=list(_to84(kept, crs)), crs=WGS84)


def _land_cells(b: _Buildings, moved: list[int], area: _Area, roads, crs) -> dict[int, object]:
    """Land cell (metres) of each moved building, tessellating the boundary polygon it is in."""
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
            outside = [b.ids[bi] for bi in moved if area_of[bi] < 0]
            msg = f"buildings {', '.join(outside[:5])} lie outside the boundary"
            raise InputError(msg)
        inside = np.flatnonzero(area_of == a)
        geoms, owner, _ = tessellate(b.footprint[inside], area.geoms[a], barriers=barriers)
        local = {int(bi): k for k, bi in enumerate(inside)}
        for bi in moved:
            if area_of[bi] == a:
                cells[bi] = geoms[local[bi]]
    return cells


def _require_adjacent(layer: _Layer, target: int, pieces, b: _Buildings, crs) -> None:
    """Every piece of land must connect to the target, directly or through other pieces."""
    metric = np.concatenate([[layer.geom[target]], _to_metric([p for _, _, p in pieces], crs)])
    i, j, _ = shared_edges(metric)
    graph = build_graph(len(metric), i, j, np.ones(len(i)), np.ones(len(i)))
    label = components(graph)
    lonely = sorted({b.ids[bi] for k, (bi, _, _) in enumerate(pieces) if label[k + 1] != label[0]})
    if lonely:
        listed = ", ".join(lonely[:5]) + (" …" if len(lonely) > 5 else "")
        msg = (
            f"not adjacent: the land of building(s) {listed} does not touch {_name(layer, target)}"
        )
        raise InputError(msg)


def _move_micro_land(layer: _Layer, new, target: int, pieces, crs) -> set[int]:
    """Carry a grid-level move down: micro-grids give up the land, the target's take it."""
    changed: set[int] = set()
    micro = layer.rows("micro")
    if len(micro) == 0:
        return changed
    for s in {s for _, s, _ in pieces}:
        land = shapely.union_all([p for _, t, p in pieces if t == s])
        for m in micro[layer.parent[micro] == layer.code[s]]:
            if shapely.intersects(new[m], land):
                new[m] = _cut(new[m], land)
                changed.add(int(m))
    receivers = micro[layer.parent[micro] == layer.code[target]]
    if len(receivers) == 0:
        return changed
    # each piece goes to the micro-grid sharing most edge with it; a piece that touches the
    # target only through another piece waits until that piece has been placed
    waiting = [_to_metric([land], crs)[0] for _, _, land in pieces]
    lands = [land for _, _, land in pieces]
    while waiting:
        current = _to_metric(list(new[receivers]), crs)
        edges = [
            shapely.length(
                shapely.intersection(shapely.boundary(piece), shapely.buffer(current, 0.05))
            )
            for piece in waiting
        ]
        placed = [k for k, e in enumerate(edges) if e.max() >= 0.5] or [
            int(np.argmax([e.max() for e in edges]))
        ]
        for k in placed:
            m = int(receivers[int(np.argmax(edges[k]))])
            new[m] = polygonal(shapely.union(new[m], lands[k]))
            changed.add(m)
        waiting = [w for k, w in enumerate(waiting) if k not in placed]
        lands = [w for k, w in enumerate(lands) if k not in placed]
    return changed


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
    force: dict[str, dict[int, int]] | None = None,
) -> gpd.GeoDataFrame:
    """The layer with new polygons for `changed` rows, recounted, empty rows dropped."""
    frame = layer.frame.copy()
    changed_rows = np.array(sorted(changed), dtype=np.int64)
    geometry = frame.geometry.to_numpy().copy()
    geometry[changed_rows] = new84[changed_rows]
    frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=WGS84))
    edited = _prepare_layer(frame, layer.crs)
    # force is keyed by row of the level; convert layer rows to positions within the level
    level_force = {}
    for level, moves in (force or {}).items():
        rows = edited.rows(level)
        position = {int(r): k for k, r in enumerate(rows)}
        level_force[level] = {bi: position[int(g)] for bi, g in moves.items()}
    out = _recounted(edited, b, changed_rows, grid_bounds, micro_bounds, tol=tol,
                     force=level_force, spread=True)  # fmt: skip
    areas = shapely.area(edited.geom)
    empty = np.zeros(len(frame), dtype=bool)
    empty[changed_rows] = areas[changed_rows] <= tol**2
    out.index = layer.index
    return out[~empty]


# -- regenerate, split, merge -----------------------------------------------------------------


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
    _check_bounds(grid_bounds, micro_bounds, tolerance_m)
    require_crs(grids, name="grids")
    require_crs(buildings, name="buildings")
    crs = _metric_crs(boundary, name="boundary")
    area = _prepare_boundary(boundary, crs)
    layer = _prepare_layer(grids, crs)
    b = _prepare_buildings(buildings, crs)
    top = layer.top
    allowed = ("micro",) if top == "micro" and len(layer.code) else ("grid", "both")
    if level not in allowed:
        msg = f"level must be one of {', '.join(allowed)} for this layer, not {level!r}"
        raise InputError(msg)
    codes = [locked] if isinstance(locked, str) else [str(c) for c in locked]
    locked_rows = []
    for code in dict.fromkeys(codes):
        row = layer.find(code)
        if layer.level[row] != top:
            msg = f"lock grids, not micro-grids: {code} is a micro-grid of {layer.parent[row]}"
            raise InputError(msg)
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
        msg = f"parts must be an integer >= 2, got {parts!r}"
        raise InputError(msg)
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
        msg = f"{_name(layer, row)} holds {total} households: too few to split into {parts}"
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
) -> GridLayer:
    """Keep rows `keep`, divide `regions` with generate_grids, code the new rows, join."""
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
    kept_union = shapely.union_all(layer.geom[rows[kept_pos]]) if kept_pos.any() else None

    # the area to divide: drop leftovers thinner than the tolerance (rounding along kept edges)
    geoms, placeholders = [], []
    for k, region in enumerate(regions):
        parts = _parts(region.geom)
        parts = parts[_significant(parts, tol)]
        if len(parts):
            geoms.append(parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts)))
            placeholders.append(f"{k + 1:012d}")
    kept_frame = layer.frame[keep]
    report = dict(report)
    if not geoms:
        out = kept_frame.sort_values("code", kind="stable").reset_index(drop=True)
        report.update(level=level, new_codes=[])
        return GridLayer(out, report)
    used_regions = [regions[int(p) - 1] for p in placeholders]

    # the buildings: what kept grids do not hold, with footprints cut to the free area
    footprint = b.footprint.copy()
    partial = held_by_kept & (rest > 0) & np.isin(shapely.get_type_id(footprint), (3, 6))
    if partial.any() and kept_union is not None:
        cut = shapely.difference(footprint[partial], kept_union)
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
    out = pd.concat([kept_frame, new], ignore_index=True)
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
                msg = f"more than 999 grids under {region.prefix}: the sequence is full"
                raise InputError(msg)
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


def merge_grids(
    grids: gpd.GeoDataFrame,
    codes: Iterable[str],
    *,
    grid_bounds: tuple[int, int] = GRID_BOUNDS,
    micro_bounds: tuple[int, int] = MICRO_BOUNDS,
) -> gpd.GeoDataFrame:
    """Join neighbouring grids (or micro-grids of one grid) into one with the lowest code.

    Households and members add up; the micro-grids of the grids joined move under the kept
    code (those of the kept grid keep their codes, the others take free sequence numbers in
    reading order).

    Raises
    ------
    InputError
        Fewer than two codes, unknown codes, mixed levels, micro-grids of different grids, or
        grids that do not share an edge ('not adjacent').
    """
    _check_bounds(grid_bounds, micro_bounds)
    require_crs(grids, name="grids")
    codes = list(dict.fromkeys(str(c) for c in codes))
    if len(codes) < 2:
        msg = f"merge needs at least two codes, got {codes}"
        raise InputError(msg)
    crs = _metric_crs(grids, name="grids")
    layer = _prepare_layer(grids, crs)
    rows = np.array([layer.find(c) for c in codes], dtype=np.int64)
    levels = set(layer.level[rows])
    if len(levels) > 1:
        msg = f"cannot merge grids and micro-grids together: {codes}"
        raise InputError(msg)
    level = levels.pop()
    if level == "micro" and layer.top == "grid" and len(set(layer.parent[rows])) > 1:
        msg = "micro-grids of different grids cannot be merged; merge the grids first"
        raise InputError(msg)
    i, j, _ = shared_edges(layer.geom[rows])
    label = components(build_graph(len(rows), i, j, np.ones(len(i)), np.ones(len(i))))
    if label.max() > 0:
        apart = [codes[k] for k in range(len(rows)) if label[k] != label[0]]
        msg = f"not adjacent: {', '.join(apart)} share no edge with {codes[0]}"
        raise InputError(msg)
    keep = int(rows[np.argmin(layer.code[rows])])
    others = [int(r) for r in rows if r != keep]

    frame = layer.frame.copy()
    geometry = frame.geometry.to_numpy().copy()
    geom84 = _geoms84(layer)
    geometry[keep] = polygonal(shapely.union_all(geom84[rows]))
    merged_m = _to_metric([geometry[keep]], crs)[0]
    stored = layer.stored_households()
    households = int(np.nansum(stored[rows]))
    members: dict[str, int] = {}
    parts: dict[str, list] = {}
    for r in rows:
        for building_id, share in _entries(layer.members([r])[0]):
            members[building_id] = members.get(building_id, 0) + share
        for entry in _column(frame, "parts", None)[r] or []:
            bid = str(entry[0])
            if bid in parts:
                parts[bid] = [bid, f"{parts[bid][1]}; {entry[1]}", parts[bid][2] + int(entry[2])]
            else:
                parts[bid] = [bid, entry[1], int(entry[2])]
    elsewhere = {
        bid
        for r in layer.rows(level)
        if r not in rows
        for bid, _ in _entries(layer.members([r])[0])
    }
    lo, hi = _bounds_of(level, grid_bounds, micro_bounds)
    values = {
        "households": households,
        "members": [[bid, s] for bid, s in members.items()],
        "parts": [p for bid, p in parts.items() if bid in elsewhere],
        "within_bounds": bool(lo <= households <= hi),
        "polsby_popper": _polsby(merged_m),
        "reason": None if lo <= households <= hi else f"{households} households, outside {lo}–{hi}",
    }
    frame = frame.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=WGS84))
    for column, value in values.items():
        if column not in frame.columns:
            frame[column] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        frame[column] = frame[column].astype(object)
        frame.at[keep, column] = value
    if level == "grid" and layer.top == "grid":
        _adopt_micro(frame, layer, keep, others)
    frame.index = layer.index
    out = frame.drop(index=layer.index[others])
    out["households"] = pd.to_numeric(out["households"])
    out["polsby_popper"] = pd.to_numeric(out["polsby_popper"])
    out["within_bounds"] = out["within_bounds"].astype(bool)
    return out


def _adopt_micro(frame: gpd.GeoDataFrame, layer: _Layer, keep: int, others: list[int]) -> None:
    """Move the micro-grids of `others` under `keep`, with free sequence numbers."""
    parent = layer.code[keep]
    micro = layer.rows("micro")
    own = micro[layer.parent[micro] == parent]
    taken = {int(layer.code[m][-3:]) for m in own if layer.code[m] and layer.code[m][-3:].isdigit()}
    adopted = micro[np.isin(layer.parent[micro], list(layer.code[others]))]
    if len(adopted) == 0:
        return
    xy = shapely.get_coordinates(shapely.centroid(layer.geom[adopted]))
    free = (n for n in range(1, 1000) if n not in taken)
    for k in reading_order(xy):
        number = next(free, None)
        if number is None:
            msg = f"more than 999 micro-grids under {parent}"
            raise InputError(msg)
        m = int(adopted[k])
        frame.at[m, "code"] = f"{parent}{number:03d}"
        frame.at[m, "parent_code"] = parent
