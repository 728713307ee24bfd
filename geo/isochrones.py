"""Walking isochrones ("service circles") that hold to the network.

A place is within ``m`` minutes when the walk to it takes at most ``m`` minutes: along the
network from the point to where the place joins it (its nearest edge, at the projected point,
by the same rule as :func:`geo.network.snap_points`), then straight to the place. That is the
walking time :func:`geo.network.reach_matrix` gives for a building, so the polygon holds the
buildings that are really reachable in time, and few others. It is computed on a raster:

1. one Dijkstra search per point (:func:`geo.network.source_distances`, limited to the longest
   minute value) gives the walking distance to every node;
2. every cell of a ``cell_m`` grid knows where its centre joins the network (edge, position,
   straight walk; built once per network, in tiles, on first use; the nearest edge is that of
   the nearest of points every ``cell_m / 4`` along the edges), so its walking time is
   ``min(d(u) + s, d(v) + L - s) + walk`` (direct along the point's own edge);
3. the polygon for ``m`` minutes is the outline of the cells reached in time, drawn halfway
   between reached and unreached cell centres; holes under ``_HOLE_CELLS`` cells are filled and
   the outline is simplified by a third of a cell so that it draws fast.

The straight walk from the network is capped at ``width_m`` (default: the network's
``max_snap_m``, as for buildings), and it tapers with the time left. Polygons are nested:
the sets of cells are, and a union repairs what simplifying moved. A point farther than the
network's ``max_snap_m`` from every edge gets a plain circle of radius ``speed × minutes``
instead, with ``method = "buffer"``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from contourpy import FillType, LineType, SerialContourGenerator, ZInterp
from scipy.spatial import cKDTree

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
DEFAULT_WIDTH_M = 200.0  # longest straight walk from the network (the default max_snap_m)
DEFAULT_CELL_M = 10.0
COLUMNS = ("id", "minutes", "method", "snap_m")

_TILE = 128  # cells per tile side
_STEP = 0.25  # spacing of the points that find each cell's nearest edge, in cells
_HOLE_CELLS = 10  # holes smaller than this many cells are filled
_SIMPLIFY = 0.3  # simplification tolerance, in cells
_HAIR_DEG = 3e-7  # about 3 cm: more than rounding to 7 decimals moves an edge

_rasters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Tile:
    """Where the centre of each cell of one tile joins the network (rows = y, columns = x)."""

    edge: np.ndarray  # -1 off the network
    along: np.ndarray  # metres from the edge's u end to the joining point
    snap: np.ndarray  # straight walk from the cell centre to the edge


@dataclass(frozen=True)
class _EdgePoints:
    """Points every ``_STEP`` cells along the edges, to find each cell's nearest edge fast."""

    tree: cKDTree
    edge: np.ndarray
    main_tree: cKDTree | None  # the largest piece only (None when the network is one piece)
    main_edge: np.ndarray | None

    @classmethod
    def build(cls, net: WalkNetwork, step: float) -> _EdgePoints:
        lengths = net.edges["length_m"].to_numpy()
        count = np.ceil(lengths / step).astype(np.int64) + 1
        edge = np.repeat(np.arange(len(lengths)), count)
        rank = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        along = rank * (lengths / (count - 1))[edge]
        geoms = net.edges.geometry.to_numpy()
        xy = shapely.get_coordinates(shapely.line_interpolate_point(geoms[edge], along))
        main = net.edges["component"].to_numpy()[edge] == 0
        if main.all():
            return cls(cKDTree(xy), edge, None, None)
        return cls(cKDTree(xy), edge, cKDTree(xy[main]), edge[main])


class _Raster:
    """Cells of ``cell`` metres over the network, each joined to the network by the snap rule.

    Tiles are built on first use and kept for the network's lifetime, so a service pays for the
    cells around the stations it is asked about, once.
    """

    def __init__(self, net: WalkNetwork, cell: float) -> None:
        self.net, self.cell = net, cell
        self.origin = np.floor(net.edges.total_bounds[:2] / cell) * cell
        self.tiles: dict[tuple[int, int], _Tile] = {}
        self.points: _EdgePoints | None = None
        self.lock = threading.Lock()

    def _tile(self, tx: int, ty: int) -> _Tile:
        tile = self.tiles.get((tx, ty))
        if tile is None:
            centre = (np.arange(_TILE) + 0.5) * self.cell
            x = self.origin[0] + tx * _TILE * self.cell + centre
            y = self.origin[1] + ty * _TILE * self.cell + centre
            xx, yy = np.meshgrid(x, y)
            edge, snap, along = self._join(np.c_[xx.ravel(), yy.ravel()])
            shape = (_TILE, _TILE)
            tile = _Tile(  # 12 bytes a cell: a 30 km city is about 100 MB once all drawn
                edge.astype(np.int32).reshape(shape),
                along.astype(np.float32).reshape(shape),
                snap.astype(np.float32).reshape(shape),
            )
            with self.lock:
                self.tiles[(tx, ty)] = tile
        return tile

    def _join(self, xy: np.ndarray):
        """Edge, straight walk and position along the edge where each point joins the network.

        The snap rule of :func:`geo.network.snap_points` (nearest edge, the largest piece
        preferred when at most ``prefer_largest_m`` farther), with the nearest edge taken as
        that of the nearest point every ``_STEP`` cells along the edges; distances are exact.
        """
        net, step = self.net, _STEP * self.cell
        with self.lock:
            if self.points is None:
                self.points = _EdgePoints.build(net, step)
        found, lines, pts = self.points, net.edges.geometry.to_numpy(), shapely.points(xy)
        limit = net.max_snap_m + step
        edge, dist = np.full(len(xy), -1, dtype=np.int64), np.full(len(xy), np.inf)
        _, k = found.tree.query(xy, distance_upper_bound=limit)
        hit = np.flatnonzero(k < len(found.edge))
        edge[hit] = found.edge[k[hit]]
        dist[hit] = shapely.distance(lines[edge[hit]], pts[hit])
        if found.main_tree is not None and net.prefer_largest_m > 0:
            _, k = found.main_tree.query(xy, distance_upper_bound=limit)
            hit = np.flatnonzero(k < len(found.main_edge))
            main = found.main_edge[k[hit]]
            d = shapely.distance(lines[main], pts[hit])
            better = d <= dist[hit] + net.prefer_largest_m
            edge[hit[better]], dist[hit[better]] = main[better], d[better]
        on = (edge >= 0) & (dist <= net.max_snap_m)
        along = np.zeros(len(xy))
        along[on] = shapely.line_locate_point(lines[edge[on]], pts[on])
        return np.where(on, edge, -1), np.where(on, dist, np.inf), along

    def window(self, c0: int, r0: int, c1: int, r1: int) -> _Tile:
        """Cells of columns c0..c1 - 1 and rows r0..r1 - 1, assembled from tiles."""
        rows, cols = r1 - r0, c1 - c0
        edge = np.full((rows, cols), -1, dtype=np.int64)
        along, snap = np.zeros((rows, cols)), np.full((rows, cols), np.inf)
        for ty in range(r0 // _TILE, (r1 - 1) // _TILE + 1):
            for tx in range(c0 // _TILE, (c1 - 1) // _TILE + 1):
                tile = self._tile(tx, ty)
                ra, rb = max(r0, ty * _TILE), min(r1, (ty + 1) * _TILE)
                ca, cb = max(c0, tx * _TILE), min(c1, (tx + 1) * _TILE)
                src = (
                    slice(ra - ty * _TILE, rb - ty * _TILE),
                    slice(ca - tx * _TILE, cb - tx * _TILE),
                )
                dst = (slice(ra - r0, rb - r0), slice(ca - c0, cb - c0))
                edge[dst], along[dst], snap[dst] = tile.edge[src], tile.along[src], tile.snap[src]
        return _Tile(edge, along, snap)


def _raster(net: WalkNetwork, cell: float) -> _Raster:
    per_net = _rasters.setdefault(net, {})
    raster = per_net.get(cell)
    if raster is None:
        raster = per_net.setdefault(cell, _Raster(net, cell))
    return raster


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


def _outline(grid: np.ndarray, origin: np.ndarray, cell: float):
    """The boundary of the True cells of ``grid`` (cell centres at origin + index × cell),
    halfway between reached and unreached cell centres."""
    rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
    if not len(rows):
        return shapely.Polygon()
    r0, c0 = max(rows[0] - 1, 0), max(cols[0] - 1, 0)
    sub = np.zeros((rows[-1] - r0 + 3, cols[-1] - c0 + 3))  # a False border closes every ring
    sub[: rows[-1] - r0 + 2, : cols[-1] - c0 + 2] = grid[r0 : rows[-1] + 2, c0 : cols[-1] + 2]
    x, y = np.meshgrid(np.arange(sub.shape[1], dtype=float), np.arange(sub.shape[0], dtype=float))
    gen = SerialContourGenerator(  # contour_generator() without its masked-array checks
        x, y, sub, None, corner_mask=True, line_type=LineType.Separate,
        fill_type=FillType.OuterOffset, quad_as_tri=False, z_interp=ZInterp.Linear,
    )  # fmt: skip
    pts, offs = gen.filled(0.5, 1.5)
    return _rings_to_polygons(pts, offs, origin + np.array([c0, r0]) * cell, cell)


def _tidy(poly, cell: float):
    """Small holes filled, then simplified to a few metres so that it draws fast."""
    smallest = _HOLE_CELLS * cell * cell
    parts = []
    for part in shapely.get_parts(poly):
        holes = [r for r in part.interiors if shapely.Polygon(r).area >= smallest]
        parts.append(shapely.Polygon(part.exterior, holes))
    if not parts:
        return shapely.Polygon()
    merged = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    out = shapely.simplify(merged, _SIMPLIFY * cell, preserve_topology=False)
    return out if shapely.is_valid(out) else shapely.make_valid(out)


def _times(window: _Tile, dist: np.ndarray, edges, snap, cap: float) -> np.ndarray:
    """Walking metres from the source to each cell: along the network to the point where the
    cell joins it, then straight to the cell centre (np.inf beyond ``cap`` of the network)."""
    lengths, u, v = edges
    usable = (window.edge >= 0) & (window.snap <= cap)
    e = np.where(usable, window.edge, 0)
    t = np.minimum(dist[u[e]] + window.along, dist[v[e]] + lengths[e] - window.along)
    own = usable & (e == snap.edge)  # the source's own edge: the direct walk along it
    t[own] = np.minimum(t[own], snap.snap_m + np.abs(window.along[own] - snap.along_m))
    t += window.snap
    t[~usable] = np.inf
    return t


def _one(raster: _Raster, dist, snap, edges, radii, cap, point, foot):
    """Polygons for one on-network point, shortest minute value first."""
    cell, (ox, oy) = raster.cell, raster.origin
    reach = radii[-1] + 2 * cell  # every place within reach is within this of the point
    c0, c1 = int((point.x - reach - ox) // cell), int((point.x + reach - ox) // cell) + 1
    r0, r1 = int((point.y - reach - oy) // cell), int((point.y + reach - oy) // cell) + 1
    t = _times(raster.window(c0, r0, c1, r1), dist, edges, snap, cap)
    origin = raster.origin + (np.array([c0, r0]) + 0.5) * cell
    out = []
    for r in radii:
        poly = _tidy(_outline(t <= r, origin, cell), cell)
        if poly.is_empty:  # nothing reached but the walk onto the network
            poly = shapely.buffer(shapely.LineString([point, foot]), cell / 2)
        if out and not poly.covers(out[-1]):
            poly = shapely.union(poly, out[-1])
        out.append(poly)
    return out


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
    width_m : float, default 200
        Longest straight walk between the network and a place counted as reached (the
        network's ``max_snap_m`` applies too).
    cell_m : float, default 10
        Raster cell; the boundary lies within about half a cell of the exact one.

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
    raster = _raster(net, float(cell_m))
    edge_ends = tuple(net.edges[c].to_numpy() for c in ("length_m", "u", "v"))
    cap = min(float(width_m), net.max_snap_m)
    feet = shapely.line_interpolate_point(
        net.edges.geometry.to_numpy()[np.maximum(snaps["edge"].to_numpy(), 0)],
        snaps["along_m"].to_numpy(),
    )
    table = list(snaps.itertuples(index=False))
    for positions, dist in source_distances(net, snaps, limit_m=float(radii[-1])):
        for row, d in zip(positions, dist, strict=True):
            args = (table[row], edge_ends, radii, cap, local[row], feet[row])
            geoms[row] = _one(raster, d, *args)
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
    return _nested(frame.to_crs(WGS84), k)


def _nested(frame: gpd.GeoDataFrame, k: int) -> gpd.GeoDataFrame:
    """Each minute value's polygon covers the shorter ones' in the output CRS too, also once
    written with 7 decimals (projecting and rounding move shared boundaries)."""
    geoms = frame.geometry.to_numpy().reshape(-1, k).copy()
    for j in range(1, k):
        short, long = geoms[:, j - 1], geoms[:, j]
        bad = ~shapely.covers(long, short) | ~shapely.covers(_rounded(long), _rounded(short))
        # a hair wider than the shorter one, so that shared edges cannot round the other way
        wider = shapely.buffer(short[bad], _HAIR_DEG, quad_segs=1, join_style="mitre")
        geoms[bad, j] = shapely.union(long[bad], wider)
    return frame.set_geometry(geoms.reshape(-1), crs=frame.crs)


def _rounded(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, 7))
