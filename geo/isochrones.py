"""Walking isochrones ("service circles") that follow the streets.

An isochrone for ``m`` minutes is the set of places within ``width_m`` (default 50 m) of the
network reached within ``m`` minutes of walking: the buffer of the reached parts of the edges,
with partly reached edges cut at the reached distance, plus the straight snap walk from the
point to the network. It is computed on a raster, which makes hundreds of stations per second
possible on a network of 100,000+ edges:

1. one Dijkstra search per point (:func:`geo.network.source_distances`, limited to the longest
   minute value) gives the walking distance to every node;
2. sample points every ``cell_m / 2`` metres along the edges (built once per network) get the
   walking distance ``min(d(u) + s, d(v) + L - s)`` (direct along the point's own edge);
3. cells of a ``cell_m`` grid holding a sample reached within ``m`` minutes are "reached"; the
   Euclidean distance transform gives each cell centre its distance to the nearest reached
   cell, and the ``width_m`` contour of that field (contourpy, linear interpolation) is the
   polygon.

The boundary therefore lies within about one cell (10 m by default) of the exact vector buffer.
Polygons are nested: each minute value's polygon covers the shorter ones' (enforced by a union
where the contouring of two fields differs by a rounding). A point farther than the network's
``max_snap_m`` from every edge gets a plain circle of radius ``speed × minutes`` instead, with
``method = "buffer"``.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from contourpy import FillType, LineType, SerialContourGenerator, ZInterp
from scipy import ndimage, sparse

from geo.crs import WGS84
from geo.errors import InputError
from geo.network import (
    DEFAULT_SPEED_KMH,
    WalkNetwork,
    metres_per_minute,
    snap_points,
    source_distances,
)

__all__ = ["DEFAULT_CELL_M", "DEFAULT_MINUTES", "DEFAULT_WIDTH_M", "isochrones", "parse_minutes"]

DEFAULT_MINUTES = (5, 10, 15)
DEFAULT_WIDTH_M = 50.0
DEFAULT_CELL_M = 10.0
COLUMNS = ("id", "minutes", "method", "snap_m")

_samples_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_edges_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Samples:
    """Points every ``step`` metres along every edge, grouped by edge, with their raster cell."""

    step: float
    along: np.ndarray  # (K,) metres from the edge's u end
    start: np.ndarray  # (m + 1,) first sample of each edge
    origin: np.ndarray  # corner of cell (0, 0)
    ix: np.ndarray  # (K,) cell column
    iy: np.ndarray  # (K,) cell row


def _samples(net: WalkNetwork, step: float) -> _Samples:
    cached = _samples_cache.get(net)
    if cached is not None and cached.step == step:
        return cached
    length = net.edges["length_m"].to_numpy()
    count = np.ceil(length / step).astype(np.int64) + 1
    start = np.r_[0, np.cumsum(count)]
    edge = np.repeat(np.arange(len(length)), count)
    rank = np.arange(start[-1]) - start[edge]
    along = np.minimum(rank * (length / (count - 1))[edge], length[edge])
    geoms = net.edges.geometry.to_numpy()
    xy = shapely.get_coordinates(shapely.line_interpolate_point(geoms[edge], along))
    origin = xy.min(axis=0) - 10_000.0  # room for snap walks of any length
    ix, iy = ((xy - origin) // step).astype(np.int64).T
    samples = _Samples(step=step, along=along, start=start, origin=origin, ix=ix, iy=iy)
    _samples_cache[net] = samples
    return samples


def _edge_arrays(net: WalkNetwork):
    """Edge lengths, ends, and the edges at each node (CSR: indptr, edge numbers)."""
    cached = _edges_cache.get(net)
    if cached is not None:
        return cached
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    m, n = len(u), len(net.nodes)
    incidence = sparse.csr_matrix(
        (np.ones(2 * m, np.int8), (np.r_[u, v], np.r_[np.arange(m), np.arange(m)])), shape=(n, m)
    )
    out = (net.edges["length_m"].to_numpy(), u, v, incidence.indptr, incidence.indices)
    _edges_cache[net] = out
    return out


def parse_minutes(minutes: Sequence[float] | str) -> tuple[float, ...]:
    """Minute values as a sorted tuple of distinct positive numbers ('5,10,15' accepted)."""
    if isinstance(minutes, str):
        parts = [p.strip() for p in minutes.split(",") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            msg = f"minutes must be numbers separated by commas (e.g. 5,10,15), got {minutes!r}"
            raise InputError(msg) from None
    else:
        values = [float(m) for m in minutes]
    if not values or any(not np.isfinite(m) or m <= 0 for m in values):
        msg = f"minutes must be one or more positive numbers, got {minutes!r}"
        raise InputError(msg)
    if max(values) > 120:
        msg = f"minutes above 120 are not walking service circles, got {max(values):g}"
        raise InputError(msg)
    return tuple(sorted(set(values)))


def _rings_to_polygons(points: list[np.ndarray], offsets: list[np.ndarray], origin, cell):
    polys = []
    for pts, off in zip(points, offsets, strict=True):
        xy = pts * cell + origin
        rings = [xy[off[k] : off[k + 1]] for k in range(len(off) - 1)]
        rings = [r for r in rings if len(r) >= 4]
        if rings:
            polys.append(shapely.Polygon(rings[0], rings[1:]))
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _contour(grid: np.ndarray, origin: np.ndarray, cell: float, width: float):
    """The ``width`` contour around the True cells of ``grid`` (rows = y, columns = x)."""
    rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
    pad = int(np.ceil(width / cell)) + 2
    r0, c0 = max(rows[0] - pad, 0), max(cols[0] - pad, 0)
    sub = grid[r0 : rows[-1] + pad + 1, c0 : cols[-1] + pad + 1]
    field = ndimage.distance_transform_edt(~sub) * cell
    x, y = np.meshgrid(
        np.arange(field.shape[1], dtype=float), np.arange(field.shape[0], dtype=float)
    )
    gen = SerialContourGenerator(  # contour_generator() without its masked-array checks
        x, y, field, None, corner_mask=True, line_type=LineType.Separate,
        fill_type=FillType.OuterOffset, quad_as_tri=False, z_interp=ZInterp.Linear,
    )  # fmt: skip
    pts, offs = gen.filled(-1.0, width)
    return _rings_to_polygons(pts, offs, origin + np.array([c0, r0]) * cell, cell)


def _one(samples, dist, snap, edges, radii, cell, width, point, foot):
    """Polygons for one on-network point, shortest minute value first."""
    lengths, u, v, indptr, incident = edges
    reached = np.flatnonzero(dist < radii[-1])
    lo, hi = indptr[reached], indptr[reached + 1]
    mark = np.zeros(len(lengths), bool)
    mark[incident[_ranges(lo, hi)]] = True
    mark[snap.edge] = True
    near = np.flatnonzero(mark)
    idx = _ranges(samples.start[near], samples.start[near + 1])
    e = np.repeat(near, samples.start[near + 1] - samples.start[near])
    s = samples.along[idx]
    t = np.minimum(dist[u[e]] + s, dist[v[e]] + lengths[e] - s)
    own = e == snap.edge
    t[own] = np.minimum(t[own], snap.snap_m + np.abs(s[own] - snap.along_m))
    keep = t <= radii[-1]
    # the straight walk from the point onto the network, sampled too
    k = max(2, int(np.ceil(snap.snap_m / samples.step)) + 1)
    frac = np.linspace(0.0, 1.0, k)
    p0, p1 = np.array([point.x, point.y]), np.array([foot.x, foot.y])
    walk = ((p0 + frac[:, None] * (p1 - p0) - samples.origin) // cell).astype(np.int64)
    ix = np.r_[samples.ix[idx[keep]], walk[:, 0]]
    iy = np.r_[samples.iy[idx[keep]], walk[:, 1]]
    t = np.r_[t[keep], frac * snap.snap_m]
    pad = int(np.ceil(width / cell)) + 3
    x0, y0 = ix.min() - pad, iy.min() - pad
    ix, iy = ix - x0, iy - y0
    shape = (int(iy.max()) + pad + 1, int(ix.max()) + pad + 1)
    origin = samples.origin + (np.array([x0, y0]) + 0.5) * cell
    out = []
    for r in radii:
        grid = np.zeros(shape, bool)
        inside = t <= r
        grid[iy[inside], ix[inside]] = True
        poly = _contour(grid, origin, cell, width)
        if out and not poly.covers(out[-1]):
            poly = shapely.union(poly, out[-1])
        out.append(poly)
    return out


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(lo[k], hi[k])``."""
    count = hi - lo
    ends = np.cumsum(count)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - count - lo, count)


def isochrones(
    net: WalkNetwork,
    points: gpd.GeoDataFrame,
    *,
    minutes: Sequence[float] = DEFAULT_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    id_column: str | None = "id",
    width_m: float = DEFAULT_WIDTH_M,
    cell_m: float = DEFAULT_CELL_M,
) -> gpd.GeoDataFrame:
    """Walking isochrones of points on a network.

    Parameters
    ----------
    net : WalkNetwork
    points : GeoDataFrame
        EPSG:4326 points (other geometries by a point inside).
    minutes : sequence of float, default (5, 10, 15)
    speed_kmh : float, default 4.5
    id_column : str or None, default "id"
        Column copied to ``id``; None uses the frame's index.
    width_m : float, default 50
        Buffer around the reached network.
    cell_m : float, default 10
        Raster cell; the boundary lies within about this distance of the exact buffer.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, one row per point and minute value (points in input order, minutes
        ascending): ``id``, ``minutes``, ``method`` ("network", or "buffer" for a point off the
        network), ``snap_m`` (straight walk onto the network; NaN off it) and a
        Polygon/MultiPolygon geometry.

    Examples
    --------
    >>> iso = isochrones(net, stations, minutes=(5, 10, 15))  # doctest: +SKIP
    """
    radii_min = parse_minutes(minutes)
    per_min = metres_per_minute(speed_kmh)
    if not (width_m > 0 and cell_m > 0):
        msg = f"width_m and cell_m must be positive, got {width_m!r} and {cell_m!r}"
        raise InputError(msg)
    if id_column is not None and id_column not in points.columns:
        msg = f"points have no {id_column!r} column; columns are {list(points.columns)}"
        raise InputError(msg)
    missing = points.geometry.isna() | points.geometry.is_empty
    if missing.any():
        rows = [int(k) + 1 for k in np.flatnonzero(missing.to_numpy())[:5]]
        msg = f"points without geometry at rows {rows}"
        raise InputError(msg)
    ids = points[id_column].tolist() if id_column is not None else points.index.tolist()
    radii = np.array(radii_min) * per_min
    snaps = snap_points(net, points)
    local = points.geometry.to_crs(net.crs).to_numpy()
    local = np.where(shapely.get_type_id(local) == 0, local, shapely.point_on_surface(local))
    geoms = np.full((len(points), len(radii)), None, dtype=object)
    samples = _samples(net, cell_m)
    edges = _edge_arrays(net)  # cached with the samples
    feet = shapely.line_interpolate_point(
        net.edges.geometry.to_numpy()[np.maximum(snaps["edge"].to_numpy(), 0)],
        snaps["along_m"].to_numpy(),
    )
    table = list(snaps.itertuples(index=False))
    for positions, dist in source_distances(net, snaps, limit_m=float(radii[-1])):
        for row, d in zip(positions, dist, strict=True):
            args = (table[row], edges, radii, cell_m, width_m, local[row], feet[row])
            geoms[row] = _one(samples, d, *args)
    off = ~snaps["on_network"].to_numpy()
    for row in np.flatnonzero(off):
        geoms[row] = shapely.buffer(local[row], radii, quad_segs=16)
    method = np.where(off, "buffer", "network")
    snap_m = np.where(off, np.nan, snaps["snap_m"].to_numpy())
    k = len(radii)
    frame = gpd.GeoDataFrame(
        {
            "id": np.repeat(np.array(ids, dtype=object), k),
            "minutes": np.tile(np.array(radii_min), len(points)),
            "method": np.repeat(method, k),
            "snap_m": np.repeat(snap_m, k),
        },
        geometry=geoms.reshape(-1) if len(points) else np.empty(0, dtype=object),
        crs=net.crs,
    )
    return frame.to_crs(WGS84)
