"""New grids with generate_grids: for the land left over, and micro-grids inside unified grids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import utm_crs
from geo.grids.codes import area_code, sequence_codes
from geo.grids.generate import BARRIER_CLASSES, GRID_BOUNDS, MICRO_BOUNDS, generate_grids
from geo.grids.tessellation import PRECISION_M, polygonal
from geo.grids.unify.layers import _points
from geo.grids.unify.overlay import _clean, _diff, _inter, _join, _merge, _shared, _wide
from geo.lookup import first_containing


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
