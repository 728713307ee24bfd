"""A dense synthetic walking network for the service-circle benchmark.

The synthetic district of :mod:`data.synthetic` has about 1,100 road lines, far fewer than a
mapped walking network (sidewalks, compound paths, alleys). :func:`dense_walk_network` keeps
those roads and fills every block between them with a mesh of footpaths: a grid turned to the
block's own direction, with a spacing drawn per block (``spacing`` m), cut to the block and
with a share of its segments removed at random (``drop``) so that the mesh has dead ends and
detours. Each footpath segment between two grid crossings is one line, so the lines are already
noded inside a block and meet the roads at the block edge.

:func:`benchmark_stations` gives at least ``count`` service stations: the district's own
stations placed at their host buildings, then more at randomly drawn buildings.

Everything is drawn from ``numpy.random.default_rng(seed)``; the same arguments give the same
layers.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.synthetic import SyntheticCity, generate_city

__all__ = ["benchmark_stations", "dense_walk_network"]

UTM = 32650  # the synthetic city is laid out in UTM zone 50N


def _block_mesh(block, spacing: float, theta: float, rng, drop: float) -> np.ndarray:
    """Footpath segments of one block: a turned grid cut to the block, some segments dropped."""
    c, s = np.cos(theta), np.sin(theta)
    cx, cy = block.centroid.x, block.centroid.y
    xy = shapely.get_coordinates(block.exterior) - (cx, cy)
    local = xy @ np.array([[c, -s], [s, c]])  # into the block's own frame
    (x0, y0), (x1, y1) = local.min(axis=0), local.max(axis=0)
    xs = np.arange(x0 + spacing / 2, x1, spacing)
    ys = np.arange(y0 + spacing / 2, y1, spacing)
    if len(xs) < 1 or len(ys) < 1:
        return np.empty(0, dtype=object)
    gx, gy = np.meshgrid(np.r_[x0 - 1, xs, x1 + 1], np.r_[y0 - 1, ys, y1 + 1])
    ax = np.r_[gx[:, :-1].ravel(), gx[:-1, :].ravel()]
    ay = np.r_[gy[:, :-1].ravel(), gy[:-1, :].ravel()]
    bx = np.r_[gx[:, 1:].ravel(), gx[1:, :].ravel()]
    by = np.r_[gy[:, 1:].ravel(), gy[1:, :].ravel()]
    back = np.array([[c, s], [-s, c]])
    a = np.c_[ax, ay] @ back + (cx, cy)
    b = np.c_[bx, by] @ back + (cx, cy)
    keep = rng.random(len(a)) >= drop
    segments = shapely.linestrings(np.stack([a[keep], b[keep]], axis=1))
    cut = shapely.intersection(segments, block)
    cut = shapely.get_parts(cut[~shapely.is_empty(cut)])
    return cut[(shapely.get_type_id(cut) == 1) & (shapely.length(cut) > 0.5)]


def dense_walk_network(
    city: SyntheticCity | None = None,
    *,
    seed: int = 0,
    spacing: tuple[float, float] = (20.0, 26.0),
    drop: float = 0.08,
) -> gpd.GeoDataFrame:
    """The district's roads plus a footpath mesh inside every block.

    Parameters
    ----------
    city : SyntheticCity, optional
        Defaults to ``generate_city(size="district", seed=seed)``.
    seed : int, default 0
        Seed of the mesh (and of the city when it is generated here).
    spacing : (float, float), default (20, 26)
        Range of the mesh spacing in metres, drawn per block.
    drop : float, default 0.08
        Share of mesh segments removed.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 LineStrings with ``road_id`` and ``class`` (the roads' own class, ``footway``
        for the mesh). The seed-0 district gives 92,606 lines and 120,947 network edges.
    """
    city = city if city is not None else generate_city(size="district", seed=seed)
    rng = np.random.default_rng(seed)
    roads = city.roads.to_crs(UTM)
    blocks = shapely.get_parts(
        shapely.polygonize(shapely.get_parts(shapely.union_all(roads.geometry.to_numpy())))
    )
    blocks = blocks[shapely.area(blocks) > 400]
    paths = []
    for block in blocks:
        rect = shapely.minimum_rotated_rectangle(block)
        (x0, y0), (x1, y1) = shapely.get_coordinates(rect)[:2]
        theta = float(np.arctan2(y1 - y0, x1 - x0))
        paths.append(_block_mesh(block, float(rng.uniform(*spacing)), theta, rng, drop))
    mesh = np.concatenate(paths) if paths else np.empty(0, dtype=object)
    frame = gpd.GeoDataFrame(
        {
            "road_id": np.r_[
                roads["road_id"].to_numpy(dtype=object), [f"fp{k}" for k in range(len(mesh))]
            ],
            "class": np.r_[
                roads["class"].to_numpy(dtype=object), np.full(len(mesh), "footway", object)
            ],
        },
        geometry=np.r_[roads.geometry.to_numpy(), mesh],
        crs=UTM,
    )
    return frame.to_crs(4326)


def benchmark_stations(
    city: SyntheticCity | None = None, *, count: int = 600, seed: int = 0
) -> gpd.GeoDataFrame:
    """At least ``count`` station points: the district's stations, then random buildings.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points with ``id`` (the station_id, or ``extra-<n>``) and ``type``.
    """
    city = city if city is not None else generate_city(size="district", seed=seed)
    rng = np.random.default_rng(seed + 1)
    own = city.stations[["station_id", "type", "geometry"]].rename(columns={"station_id": "id"})
    need = max(0, count - len(own))
    picks = np.sort(rng.choice(len(city.buildings), size=need, replace=False))
    extra = city.buildings.iloc[picks]
    points = extra.geometry.to_crs(UTM).representative_point().to_crs(4326)
    more = gpd.GeoDataFrame(
        {"id": [f"extra-{k}" for k in range(need)], "type": "便民服务点"},
        geometry=points.to_numpy(),
        crs=4326,
    )
    out = pd.concat([own.to_crs(4326), more], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)
