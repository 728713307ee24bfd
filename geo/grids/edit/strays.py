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
