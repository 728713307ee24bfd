"""Routing case points to grids, vectorised (shapely STRtree); the same rule as the PostGIS path.

The rule, used here and in :mod:`api.cases.dispatch` alike:

1. **Contained**: the grid-level polygon the point lies in *or on* (``intersects``). On a
   boundary shared by several grids the lowest code wins (:func:`geo.lookup.first_containing`
   over the grids sorted by code). The micro-grid is the lowest-coded micro-grid of that grid
   the point lies in or on. Community and street office are the grid's own.
2. **Nearest**: a point outside every grid goes to the nearest grid within ``tolerance_m``,
   measured in the point's own UTM zone (:func:`utm_epsg`), distances rounded to the
   millimetre, ties to the lowest code. No micro-grid.
3. **Triage**: beyond the tolerance the community whose polygon holds the point (lowest code
   on shared edges) takes it into its triage queue, else the street office's polygon.
4. Otherwise nothing: the point is outside the service area.

Every function works on any slice of the points (no state across rows), so a large frame can
be split into partitions and routed piece by piece.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo.crs import WGS84, require_crs
from geo.errors import InputError

#: Degrees of latitude are at least this many metres long (110.57 km at the equator).
_METRES_PER_DEGREE_MIN = 110_000.0
ROUTED = ("contained", "nearest", "community", "street")
COLUMNS = ["grid_code", "micro_grid_code", "community_code", "street_code", "routing", "distance_m"]


def utm_epsg(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """EPSG code of each point's WGS-84 UTM zone (326zz north, 327zz south)."""
    zone = np.minimum(((np.asarray(lon) + 180.0) // 6.0).astype(int) + 1, 60)
    return np.where(np.asarray(lat) >= 0, 32600, 32700) + zone


def search_radius_deg(lat: np.ndarray, tolerance_m: float) -> np.ndarray:
    """A radius in degrees that holds every place within `tolerance_m` metres of the points."""
    cos = np.maximum(np.cos(np.radians(np.abs(np.asarray(lat, dtype=float)))), 1e-6)
    return tolerance_m / (_METRES_PER_DEGREE_MIN * cos) * 1.01


def metric_distance(points: np.ndarray, polygons: np.ndarray, epsg: np.ndarray) -> np.ndarray:
    """Distance in metres between pairs of points and polygons (EPSG:4326), each pair measured
    in the UTM zone `epsg` of its point, rounded to the millimetre."""
    out = np.empty(len(points))
    for code in np.unique(epsg):
        pick = epsg == code
        move = Transformer.from_crs(4326, int(code), always_xy=True).transform
        a = shapely.transform(points[pick], lambda xy, f=move: np.column_stack(f(*xy.T)))
        b = shapely.transform(polygons[pick], lambda xy, f=move: np.column_stack(f(*xy.T)))
        out[pick] = shapely.distance(a, b)
    return np.round(out, 3)


def _sorted(frame: gpd.GeoDataFrame | None, name: str) -> gpd.GeoDataFrame | None:
    if frame is None:
        return None
    require_crs(frame, WGS84, name=name)
    if "code" not in frame.columns:
        msg = f"{name} needs a 'code' column"
        raise InputError(msg)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    return frame.sort_values("code", kind="stable").reset_index(drop=True)


def _nearest(
    points: np.ndarray, grids: np.ndarray, tree: shapely.STRtree, tolerance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """(grid index or -1, metres) of the nearest grid within the tolerance; ties → lower index."""
    best = np.full(len(points), -1)
    dist = np.full(len(points), np.nan)
    if len(points) == 0 or len(grids) == 0:
        return best, dist
    xy = shapely.get_coordinates(points)
    hit_p, hit_g = tree.query(
        points, predicate="dwithin", distance=search_radius_deg(xy[:, 1], tolerance_m)
    )
    if len(hit_p) == 0:
        return best, dist
    epsg = utm_epsg(xy[hit_p, 0], xy[hit_p, 1])
    d = metric_distance(points[hit_p], grids[hit_g], epsg)
    keep = d <= tolerance_m
    hit_p, hit_g, d = hit_p[keep], hit_g[keep], d[keep]
    order = np.lexsort((hit_g, d, hit_p))
    hit_p, hit_g, d = hit_p[order], hit_g[order], d[order]
    first = np.unique(hit_p, return_index=True)[1]
    best[hit_p[first]] = hit_g[first]
    dist[hit_p[first]] = d[first]
    return best, dist


class _Points:
    """Points with their coordinates and an STRtree over them, for repeated look-ups."""

    def __init__(self, geoms: np.ndarray) -> None:
        self.tree = shapely.STRtree(geoms)
        xy = shapely.get_coordinates(geoms)
        self.x, self.y = xy[:, 0], xy[:, 1]
        self.n = len(geoms)


def _hits(points: _Points, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, polygon) index pairs where the point lies in or on the polygon: candidates by
    bounding box from the tree of points, then each polygon prepared once and tested on
    coordinates (several times faster than a predicate query per point)."""
    if len(polygons) == 0 or points.n == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    hit_a, hit_p = points.tree.query(polygons)
    shapely.prepare(polygons)
    ok = shapely.intersects_xy(polygons[hit_a], points.x[hit_p], points.y[hit_p])
    return hit_p[ok], hit_a[ok]


def _first(points: _Points, polygons: np.ndarray) -> np.ndarray:
    """Per point, the lowest index of a polygon it lies in or on, -1 for none (the rule of
    geo.lookup.first_containing)."""
    out = np.full(points.n, -1)
    hit_p, hit_a = _hits(points, polygons)
    order = np.lexsort((hit_a, hit_p))
    hit_p, hit_a = hit_p[order], hit_a[order]
    first = np.unique(hit_p, return_index=True)[1]
    out[hit_p[first]] = hit_a[first]
    return out


def _micro(
    tree: _Points,
    grid_idx: np.ndarray,
    codes: np.ndarray,
    micro: gpd.GeoDataFrame,
    among: np.ndarray,
) -> np.ndarray:
    """The lowest-coded micro-grid of each point's grid that the point lies in or on."""
    out = np.full(tree.n, None, dtype=object)
    if tree.n == 0 or micro is None or micro.empty:
        return out
    hit_p, hit_m = _hits(tree, micro.geometry.to_numpy())
    keep = among[hit_p]
    hit_p, hit_m = hit_p[keep], hit_m[keep]
    index = {code: i for i, code in enumerate(codes)}  # parent code → grid index, -2 unknown
    parents = np.array([index.get(c, -2) for c in micro["parent_code"]], dtype=np.intp)
    keep = parents[hit_m] == grid_idx[hit_p]
    hit_p, hit_m = hit_p[keep], hit_m[keep]
    order = np.lexsort((hit_m, hit_p))
    hit_p, hit_m = hit_p[order], hit_m[order]
    first = np.unique(hit_p, return_index=True)[1]
    out[hit_p[first]] = micro["code"].to_numpy(dtype=object)[hit_m[first]]
    return out


def route_points(
    points: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    *,
    communities: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    tolerance_m: float = 50.0,
) -> pd.DataFrame:
    """Route each point to its grid, micro-grid, community and street office.

    Parameters
    ----------
    points : GeoDataFrame
        Points in EPSG:4326 (other geometry types are an error).
    grids : GeoDataFrame
        The current layer, EPSG:4326: ``code``, ``level`` ("grid"/"micro"), ``parent_code``,
        ``community_code``, geometry.
    communities : GeoDataFrame, optional
        ``code``, ``street_code`` and polygons (rows without one are used for street codes
        only), for the grids' street offices and the triage queues.
    streets : GeoDataFrame, optional
        ``code`` and polygons, for points outside every community.
    tolerance_m : float
        How far outside every grid a point may lie and still go to the nearest grid.

    Returns
    -------
    DataFrame
        Indexed like `points`: grid_code, micro_grid_code, community_code, street_code
        (None where not found), routing (one of ROUTED, or None outside everything) and
        distance_m (0 when contained, metres for nearest, NaN otherwise).

    Examples
    --------
    >>> from shapely import box, Point
    >>> g = gpd.GeoDataFrame({"code": ["B", "A"], "level": "grid", "parent_code": None,
    ...     "community_code": "C"}, geometry=[box(1, 0, 2, 1), box(0, 0, 1, 1)], crs=4326)
    >>> p = gpd.GeoDataFrame(geometry=[Point(1, 0.5)], crs=4326)
    >>> route_points(p, g)["grid_code"].tolist()  # on the shared edge: the lower code
    ['A']
    """
    require_crs(points, WGS84, name="points")
    if tolerance_m < 0:
        msg = f"tolerance_m must be ≥ 0, got {tolerance_m}"
        raise InputError(msg)
    geoms = points.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    if len(geoms) and (kinds != shapely.GeometryType.POINT).any():
        msg = "points must all be Point geometries"
        raise InputError(msg)
    n = len(points)
    out = pd.DataFrame({c: np.full(n, None, dtype=object) for c in COLUMNS}, index=points.index)
    out["distance_m"] = np.nan
    grids = _sorted(grids, "grids")
    layer = grids[grids["level"] == "grid"].reset_index(drop=True)
    micro = grids[grids["level"] == "micro"].reset_index(drop=True)
    communities = _sorted(communities, "communities") if communities is not None else None
    street_of: dict = {}
    if communities is not None and "street_code" in communities.columns:
        street_of = dict(zip(communities["code"], communities["street_code"], strict=True))

    polys = layer.geometry.to_numpy()
    codes = layer["code"].to_numpy(dtype=object)
    tree = _Points(geoms)
    grid_idx = _first(tree, polys)
    routing = np.where(grid_idx >= 0, "contained", None).astype(object)
    distance = np.where(grid_idx >= 0, 0.0, np.nan)
    outside = np.flatnonzero(grid_idx < 0)
    if len(outside) and len(polys):
        near, dist = _nearest(geoms[outside], polys, shapely.STRtree(polys), tolerance_m)
        found = near >= 0
        grid_idx[outside[found]] = near[found]
        routing[outside[found]] = "nearest"
        distance[outside[found]] = dist[found]

    has_grid = grid_idx >= 0
    grid_code = np.full(n, None, dtype=object)
    grid_code[has_grid] = codes[grid_idx[has_grid]]
    community = np.full(n, None, dtype=object)
    community[has_grid] = layer["community_code"].to_numpy(dtype=object)[grid_idx[has_grid]]
    micro_code = _micro(tree, grid_idx, codes, micro, routing == "contained")

    rest = np.flatnonzero(~has_grid)
    if len(rest) and communities is not None:
        with_geom = communities[communities.geometry.notna()]
        hit = _first(_Points(geoms[rest]), with_geom.geometry.to_numpy())
        took = hit >= 0
        community[rest[took]] = with_geom["code"].to_numpy(dtype=object)[hit[took]]
        routing[rest[took]] = "community"
    street = pd.Series(community, dtype=object).map(street_of).to_numpy(dtype=object)
    street[pd.isna(street)] = None
    rest = np.flatnonzero(~has_grid & (community == None))  # noqa: E711 (element-wise)
    if len(rest) and streets is not None:
        streets = _sorted(streets, "streets")
        hit = _first(_Points(geoms[rest]), streets.geometry.to_numpy())
        took = hit >= 0
        street[rest[took]] = streets["code"].to_numpy(dtype=object)[hit[took]]
        routing[rest[took]] = "street"

    out["grid_code"] = grid_code
    out["micro_grid_code"] = micro_code
    out["community_code"] = community
    out["street_code"] = street
    out["routing"] = routing
    out["distance_m"] = distance
    return out
