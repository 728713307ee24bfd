"""validate_layer: every problem of a grid layer, one row each, with where it is."""

from __future__ import annotations

import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.crs import WGS84
from geo.grids.edit.geometry import QUAD_SEGS, _parts, _significant, reprojected
from geo.grids.edit.holdings import _Holdings, _holdings
from geo.grids.edit.layer import LEVELS, _Area, _bounds_of, _Buildings, _Layer, _name
from geo.grids.edit.memo import Memo, digest, each
from geo.grids.edit.messages import WORDS, grid_name, short_community, text
from geo.grids.edit.prepare import (
    _prepare_inputs,
)
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS, NO_PARENT

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
PROBLEM_COLUMNS = (
    "kind",
    "severity",
    "level",
    "code",
    "other_code",
    "message",
    "message_en",
    "side",
)
CODE_DIGITS = {"grid": 15, "micro": 18}
SIMPLIFY_M = 0.05  # gap search runs on polygons simplified this much, then checks exactly
SLIVER_M = 0.001  # problem polygons are reported without slivers thinner than twice this
_POINT_IN_REASON = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\]")
# what consecutive checks of one community share: most polygons come back unchanged
_CORES = Memo(8192)  # a polygon eroded by half the tolerance, by (tolerance, WKB)
_MICRO_HOLES = Memo(1024)  # a grid's land its micro-grids leave, by (tolerance, WKBs)


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
    crs, area, layer, b = _prepare_inputs(
        grids, buildings, boundary, grid_bounds=grid_bounds, micro_bounds=micro_bounds,
        tolerance_m=tolerance_m,
    )  # fmt: skip
    tol = float(tolerance_m)
    out: list[dict] = []
    keys = [(tol, wkb) for wkb in shapely.to_wkb(layer.geom)]
    eroded = each(_CORES, keys, lambda rows: _eroded(layer.geom[rows], tol))
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


def _eroded(geoms: np.ndarray, tol: float) -> np.ndarray:
    return shapely.buffer(geoms, -tol / 2, quad_segs=QUAD_SEGS)


def _problem(kind, severity, level, code, other, message, geometry, side=None) -> dict:
    """One problem row; `message` is the (Chinese, English) pair from the catalog."""
    zh, en = message
    return {
        "kind": kind,
        "severity": severity,
        "level": level,
        "code": code,
        "other_code": other,
        "message": zh,
        "message_en": en,
        "side": side,
        "geometry": geometry,
    }


def _names(layer: _Layer, i: int) -> dict[str, str]:
    """name (Chinese, as people say it) and name_en of row i, for the catalog."""
    return {"name": _zh(layer, i), "name_en": _name(layer, i)}


def _zh(layer: _Layer, i: int) -> str:
    return grid_name(layer.code[i], layer.level[i], layer.community_name(i))


def _problem_frame(rows: list[dict], crs: CRS | None) -> gpd.GeoDataFrame:
    if not rows:
        empty = {c: pd.Series([], dtype=object) for c in PROBLEM_COLUMNS}
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    # built column by column: the frame operations this replaced took ~15 ms for a few rows
    rank = {k: i for i, k in enumerate(PROBLEM_KINDS)}

    def order(i: int):
        row = rows[i]
        code = None if _missing(row["code"]) else row["code"]
        return (row["severity"] != "error", rank.get(row["kind"], len(rank)), code or "")

    rows = [rows[i] for i in sorted(range(len(rows)), key=order)]
    columns = {}
    for c in PROBLEM_COLUMNS:
        values = [row[c] for row in rows]
        if c in ("code", "other_code"):
            columns[c] = pd.Series([None if _missing(v) else v for v in values], dtype=object)
        else:
            columns[c] = pd.Series(values)
    geometry = reprojected([row["geometry"] for row in rows], crs, WGS84)
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geometry, crs=WGS84), crs=WGS84)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


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


def _geometry_problems(layer: _Layer, tol: float, out: list[dict]) -> None:
    raw = layer.raw
    type_id = shapely.get_type_id(raw)
    valid = shapely.is_valid(raw)
    for i in range(len(raw)):
        names, level, code = _names(layer, i), layer.level[i], layer.code[i]
        if shapely.is_empty(raw[i]):
            out.append(
                _problem("invalid_geometry", "error", level, code, None,
                         text("empty_geometry", **names), None)
            )  # fmt: skip
            continue
        if type_id[i] not in (3, 6):
            out.append(
                _problem("invalid_geometry", "error", level, code, None,
                         text("not_polygon", kind=raw[i].geom_type, **names), raw[i])
            )  # fmt: skip
            continue
        if not valid[i]:
            reason = shapely.is_valid_reason(raw[i])
            found = _POINT_IN_REASON.search(reason)
            where = shapely.Point(float(found.group(1)), float(found.group(2))) if found else raw[i]
            out.append(
                _problem("invalid_geometry", "error", level, code, None,
                         text("invalid_geometry", reason=reason, **names), where)
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
        names, level, code = _names(layer, i), layer.level[i], layer.code[i]
        if real.sum() > 1:
            sizes = ", ".join(f"{a:,.1f}" for a in areas[1:6])
            more = " …" if len(areas) > 6 else ""
            msg = text(
                "parts", n=len(parts), largest=f"{areas[0]:,.1f}", others=sizes + more, **names
            )
            out.append(_problem("not_contiguous", "error", level, code, None, msg, where))
        else:
            msg = text(
                "stray_parts", n=len(strays), area=f"{areas[1:].sum():.2f}", limit=f"{tol**2:g}",
                **names,
            )  # fmt: skip
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
        msg = text(
            "overlap", other=_zh(layer, c), other_en=_name(layer, c), area=f"{where.area:,.1f}",
            **_names(layer, a),
        )  # fmt: skip
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
    word, word_en = WORDS[level]
    for bi, g, other in hold.doubles:
        msg = text(
            "building_in_two_grids", building=b.label(bi), building_en=b.ids[bi],
            households=b.households[bi],
            other=_zh(layer, rows[other]), other_en=_name(layer, rows[other]),
            **_names(layer, rows[g]),
        )  # fmt: skip
        out.append(
            _problem("building_in_two_grids", "error", level, layer.code[rows[g]],
                     layer.code[rows[other]], msg, b.point[bi])
        )  # fmt: skip
    left = np.flatnonzero(inside & (b.households > 0) & ~hold.held(len(b.ids)))
    for bi in left:
        estimated = b.estimated[bi]
        msg = text(
            "building_left_out", building=b.label(bi), building_en=b.ids[bi],
            households=b.households[bi],
            estimated="，估算" if estimated else "",
            estimated_en=" (estimated)" if estimated else "",
            word=word, word_en=word_en,
        )  # fmt: skip
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

    def warn(kind: str, i: int, msg: tuple[str, str], side: str | None = None) -> None:
        out.append(_problem(kind, "warning", level, layer.code[i], None, msg, layer.geom[i], side))

    for k, i in enumerate(rows):
        h = int(counted[i])
        if not lo <= h <= hi:
            side = "under" if h < lo else "over"
            n = n_estimated[k]
            msg = text(
                side, households=h, buildings=n_buildings[k], lo=lo, hi=hi,
                estimated=f"，其中 {n} 栋为估算户数" if n else "",
                estimated_en=f", {n} of them with estimated households" if n else "",
                **_names(layer, i),
            )  # fmt: skip
            warn("households_out_of_bounds", i, msg, side)
        if not math.isnan(stored[i]) and int(stored[i]) != h:
            msg = text(
                "households_stale", recorded=int(stored[i]), households=h, **_names(layer, i)
            )
            warn("households_stale", i, msg)


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
        msg = text("outside_boundary", area=f"{where.area:,.1f}", **_names(layer, i))
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


def _neighbours(layer: _Layer, tree, rows, part, limit: int = 4) -> dict[str, str]:
    near = rows[tree.query(part, predicate="dwithin", distance=0.1)]
    rows = sorted({layer.code[i]: int(i) for i in near if layer.code[i]}.items())
    if not rows:
        return {"near": "", "near_en": ""}
    more = " …" if len(rows) > limit else ""
    names = "、".join(_zh(layer, i) for _, i in rows[:limit]) + more
    listed = ", ".join(code for code, _ in rows[:limit]) + more
    return {"near": f"，邻接{names}", "near_en": f", next to {listed}"}


def _gap_problems(layer: _Layer, area: _Area, tol: float, out: list[dict]) -> None:
    simple = _simplify(layer.geom)
    top = layer.top
    rows = layer.rows(top)
    tree = shapely.STRtree(layer.geom[rows])
    hit_a, hit_g = tree.query(area.geoms, predicate="intersects")
    word, word_en = WORDS[top]
    for a, container in enumerate(area.geoms):
        for part in _holes(container, rows[hit_g[hit_a == a]], layer, simple, tol):
            code = area.codes[a]
            named = short_community(layer.names.get(code)) if code else ""
            msg = text(
                "gap", where=named or f"边界多边形 {code or a + 1} ", where_en=code or a + 1,
                area=f"{part.area:,.1f}", word=word, word_en=word_en,
                **_neighbours(layer, tree, rows, part),
            )  # fmt: skip
            out.append(_problem("gap", "error", top, None, None, msg, part))
    micro = layer.rows("micro")
    if top != "grid" or len(micro) == 0:
        return
    children = pd.Series(micro).groupby(pd.Series(layer.parent[micro], dtype=object)).agg(list)
    micro_tree = shapely.STRtree(layer.geom[micro])
    wkbs = shapely.to_wkb(layer.geom)
    for g in layer.rows("grid"):
        mine = np.asarray(children.get(layer.code[g], []), dtype=np.int64)
        if len(mine) == 0:
            msg = text("no_micro", **_names(layer, g))
            out.append(_problem("gap", "error", "micro", layer.code[g], None, msg, layer.geom[g]))
            continue
        key = (tol, digest([wkbs[g], *wkbs[mine]]))
        holes = _MICRO_HOLES.get(key)
        if holes is None:
            holes = _holes(layer.geom[g], mine, layer, simple, tol)
            _MICRO_HOLES.put(key, holes)
        for part in holes:
            msg = text(
                "micro_gap", area=f"{part.area:,.1f}", **_names(layer, g),
                **_neighbours(layer, micro_tree, micro, part),
            )  # fmt: skip
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
        msg = text("unknown_parent" if parent else "no_parent", parent=parent, **_names(layer, m))
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
        msg = text(
            "micro_outside", area=f"{where.area:,.1f}", parent=layer.code[p],
            parent_name=_zh(layer, p), **_names(layer, m),
        )  # fmt: skip
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
            msg = text("micro_sum", total=int(total), households=int(value[p]), **_names(layer, p))
            out.append(
                _problem("micro_sum_mismatch", "error", "micro", layer.code[p], None, msg,
                         layer.geom[p])
            )  # fmt: skip


def _code_problems(layer: _Layer, area: _Area, out: list[dict]) -> None:
    def bad(i, key, **params):
        msg = text(key, **params, **_names(layer, i))
        out.append(
            _problem("code_invalid", "error", layer.level[i], layer.code[i], layer.parent[i], msg,
                     layer.geom[i])
        )  # fmt: skip

    community = _community_of(layer, area)
    for i in range(len(layer.code)):
        code, level, parent = layer.code[i], layer.level[i], layer.parent[i]
        if not code:
            bad(i, "no_code")
            continue
        digits = CODE_DIGITS[level]
        if len(code) != digits or not code.isdigit():
            bad(i, "code_digits", code=code, digits=digits)
            continue
        if level == "micro" and parent and not code.startswith(parent):
            bad(i, "code_parent", code=code, parent=parent)
            continue
        if level == "micro" and layer.top == "micro" and code[12:15] != NO_PARENT:
            bad(i, "code_no_parent", code=code, no_parent=NO_PARENT)
            continue
        expected = community[i]
        if level == layer.top and expected and not code.startswith(expected):
            bad(i, "code_area", code=code, expected=expected)
    codes = pd.Series(layer.code, dtype=object)
    counts = codes[codes.notna()].value_counts()
    for code, n in counts[counts > 1].items():
        rows = np.flatnonzero(layer.code == code)
        where = shapely.union_all(layer.geom[rows])
        msg = text("code_duplicate", code=code, n=n)
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
