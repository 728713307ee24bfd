"""New micro-grids without stray bits: the cuts that fit them into their grid can leave a
micro-grid in two parts or squeezed to a speck; the bits go to the neighbour they share most
edge with, so every micro-grid stays one polygon."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84
from geo.grids.edit.geometry import _parts, _to_metric
from geo.grids.tessellation import polygonal

SPECK_M2 = 0.25


def without_strays(micro: gpd.GeoDataFrame, footprints84, crs) -> gpd.GeoDataFrame:
    """`micro` (new micro-grids of one grid, lon/lat) with each polygon's lesser parts that hold
    no footprint, and whole micro-grids under SPECK_M2 with no households, given to the
    neighbour in `micro` that shares most edge with them. Bits touching no neighbour stay."""
    if len(micro) < 2:
        return micro
    geometry = micro.geometry.to_numpy().copy()
    households = pd.to_numeric(micro["households"]).fillna(0).to_numpy()
    areas = shapely.area(_to_metric(geometry, crs))
    specks = set(np.flatnonzero((areas < SPECK_M2) & (households == 0)).tolist())
    feet = shapely.STRtree(np.asarray(footprints84, dtype=object))
    bits: list[tuple[int, object]] = [(k, geometry[k]) for k in specks]
    for k in sorted(set(range(len(micro))) - specks):
        parts = _parts(geometry[k])
        if len(parts) < 2:
            continue
        main = int(np.argmax(shapely.area(_to_metric(list(parts), crs))))
        stray = [p for j, p in enumerate(parts)
                 if j != main and not _holds_footprint(p, feet)]  # fmt: skip
        if stray:
            keep = [p for p in parts if not any(p is s for s in stray)]
            geometry[k] = keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)
            bits += [(k, p) for p in stray]
    others = np.array(sorted(set(range(len(micro))) - specks), dtype=np.int64)
    for k, bit in bits:
        peers = others[others != k]
        if not len(peers) or shapely.is_empty(bit):
            continue
        shared = shapely.length(shapely.intersection(geometry[peers], shapely.buffer(bit, 1e-9)))
        if shared.max() > 0:
            home = peers[int(np.argmax(shared))]
            geometry[home] = polygonal(shapely.union(geometry[home], bit))
        elif k not in specks:  # nowhere to go: it stays where it was
            geometry[k] = polygonal(shapely.union(geometry[k], bit))
    micro = micro.set_geometry(gpd.GeoSeries(geometry, index=micro.index, crs=WGS84))
    return micro.iloc[others]


def _holds_footprint(part, feet: shapely.STRtree) -> bool:
    hits = feet.query(part, predicate="intersects")
    if not len(hits):
        return False
    hit = feet.geometries[hits]
    overlap = shapely.area(shapely.intersection(hit, part))
    return bool(((overlap > 0) | (shapely.get_dimensions(hit) == 0)).any())


def settle_shares(
    micro: gpd.GeoDataFrame, held: gpd.GeoDataFrame, crs, bounds: tuple[int, int]
) -> gpd.GeoDataFrame:
    """`micro` with each share of a building recorded in a micro-grid that holds none of its
    footprint (under SPECK_M2 of it) handed to the micro-grid of `micro` holding most of it;
    households and `within_bounds` of the micro-grids that change follow."""
    feet = dict(zip(held["building_id"].astype(str), held.geometry, strict=True))
    entries = [(k, str(bid), int(h)) for k, members in enumerate(micro["members"])
               for bid, h in members if h > 0 and str(bid) in feet]  # fmt: skip
    by_building: dict[str, list[tuple[int, int]]] = {}
    for k, bid, h in entries:
        by_building.setdefault(bid, []).append((k, h))
    members = [list(m) for m in micro["members"]]
    changed = set()
    geometry = micro.geometry.to_numpy()
    for bid, rows in by_building.items():
        if len(rows) < 2 or shapely.get_dimensions(feet[bid]) < 2:
            continue
        ks = np.array([k for k, _ in rows])
        overlap = shapely.area(_to_metric(shapely.intersection(geometry[ks], feet[bid]), crs))
        bare = overlap < SPECK_M2
        if not bare.any() or bare.all():
            continue
        home = int(ks[int(np.argmax(overlap))])
        moved = sum(h for (k, h), b in zip(rows, bare, strict=True) if b)
        for k in ks[bare]:
            members[k] = [m for m in members[k] if str(m[0]) != bid]
        members[home] = [[m[0], m[1] + moved] if str(m[0]) == bid else m for m in members[home]]
        changed |= {home, *ks[bare].tolist()}
    if not changed:
        return micro
    micro = micro.copy()
    micro["members"] = members
    rows = micro.index[sorted(changed)]
    households = [sum(int(h) for _, h in members[k]) for k in sorted(changed)]
    micro.loc[rows, "households"] = households
    lo, hi = bounds
    micro.loc[rows, "within_bounds"] = [lo <= h <= hi for h in households]
    return micro
