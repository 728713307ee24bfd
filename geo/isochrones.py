"""Walking isochrones ("service circles") that hold to the network.

A place is within ``m`` minutes when the walk to it takes at most ``m`` minutes: along the
network from the point to where the place joins it (its nearest edge, at the projected point,
by the same rule as :func:`geo.network.snap_points`), then straight to the place. That is the
walking time :func:`geo.network.reach_matrix` gives for a building, so the polygon holds the
buildings that are really reachable in time, and few others. It is computed on a raster:

1. limited Dijkstra searches from the points, in batches (:func:`geo.network.source_distances`,
   limited to the longest minute value), give the walking distance to every node;
2. every cell of a ``cell_m`` grid knows where its centre joins the network (edge, position,
   straight walk; built once per network, in tiles, on first use; the nearest edge is that of
   the nearest of points every ``cell_m / 4`` along the edges), so its walking time is
   ``min(d(u) + s, d(v) + L - s) + walk`` (direct along the point's own edge);
3. the cells' times go to :func:`geo.outlines.nested_outlines`, which draws the outlines of
   all points and minute values together; an outline crosses each face between a reached and
   an unreached cell where the walk, interpolated between the two centres (each clipped to
   ``_CLIP`` cells about the limit), meets the limit; holes under ``_HOLE_M2`` are filled; a
   point's window of cells is cut to what its search reached.

The straight walk from the network is capped at ``width_m`` (default: the network's
``max_snap_m``, as for buildings), and it tapers with the time left. Polygons are nested by
construction, a shorter minute value's outline ``_GAP_M`` inside a longer one's, also in
EPSG:4326 (reached by a quadratic per window fitted to pyproj) and rounded to 7 decimals.
The outlines are not simplified: about one point per cell of outline. A point farther than the
network's ``max_snap_m`` from every edge gets a plain circle of radius ``speed × minutes``
instead, with ``method = "buffer"``.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
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
from geo.outlines import nested_outlines

__all__ = ["DEFAULT_CELL_M", "DEFAULT_MINUTES", "DEFAULT_WIDTH_M", "isochrones", "parse_minutes"]

DEFAULT_MINUTES = (5, 10, 15)
DEFAULT_WIDTH_M = 200.0  # longest straight walk from the network (the default max_snap_m)
DEFAULT_CELL_M = 17.5  # with interpolated outlines, as close to the walk as 10 m cells halfway
COLUMNS = ("id", "minutes", "method", "snap_m")

_TILE = 128  # cells per tile side
_STEP = 0.25  # spacing of the points that find each cell's nearest edge, in cells
_HOLE_M2 = 1000.0  # holes smaller than this are filled (ten 10 m cells)
_GAP_M = 0.05  # a shorter minute value's outline keeps this far inside a longer one's
_BATCH = 64  # outlines drawn together (a few MB of lookup per batch)
_FIT_DEG = 1e-9  # about 0.1 mm: the projection's quadratic fit within a window, at most
_CLIP = 1.0  # outline points placed by the walk within this many cells of the limit
_HAIR_DEG = 3e-7  # about 3 cm: more than rounding to 7 decimals moves an edge

_rasters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Cells:
    """Where the centre of each cell of a window joins the network (rows = y, columns = x)."""

    edge: np.ndarray  # edge number + 1; 0 off the network
    along: np.ndarray  # metres from the edge's u end to the joining point
    snap: np.ndarray  # straight walk from the cell centre to the edge
    corner: np.ndarray  # the window's lower-left corner (x, y)
    cell: float
    edge_boxes: np.ndarray  # each edge's bounds widened by the longest snap

    def near(self, edge: int) -> tuple[slice, slice]:
        """The part of the window whose cells may join ``edge``."""
        x0, y0, x1, y1 = self.edge_boxes[edge].tolist()
        cx, cy = self.corner.tolist()
        c0, c1 = max(int((x0 - cx) / self.cell), 0), max(int((x1 - cx) / self.cell) + 1, 0)
        r0, r1 = max(int((y0 - cy) / self.cell), 0), max(int((y1 - cy) / self.cell) + 1, 0)
        return slice(r0, r1), slice(c0, c1)


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

    The cells cover the network's bounds and ``max_snap_m`` around them (beyond, no cell joins
    the network). They are worked out in tiles on first use and kept for the network's
    lifetime, so a service pays for the cells around the stations it is asked about, once;
    12 bytes a cell (a 30 km city is about 100 MB once all drawn; untouched zero pages cost
    no memory).
    """

    def __init__(self, net: WalkNetwork, cell: float) -> None:
        self.net, self.cell = net, cell
        margin = net.max_snap_m + 2 * cell
        bounds = net.edges.total_bounds
        self.origin = np.floor((bounds[:2] - margin) / cell) * cell
        cols, rows = np.ceil((bounds[2:] + margin - self.origin) / cell).astype(int)
        self.edge = np.zeros((rows, cols), np.int32)
        self.along = np.zeros((rows, cols), np.float32)
        self.snap = np.zeros((rows, cols), np.float32)
        self.built = np.zeros((-(-rows // _TILE), -(-cols // _TILE)), bool)
        self.node_xy = shapely.get_coordinates(net.nodes.geometry.to_numpy())
        self.edge_bounds = shapely.bounds(net.edges.geometry.to_numpy())
        self.edge_boxes = self.edge_bounds + np.array([-1, -1, 1, 1]) * (net.max_snap_m + cell)
        self.node_box = np.full((len(self.node_xy), 4), np.inf)  # bounds of the edges at a node
        self.node_box[:, 2:] = -np.inf
        for end in (net.edges["u"].to_numpy(), net.edges["v"].to_numpy()):
            np.minimum.at(self.node_box[:, :2], end, self.edge_bounds[:, :2])
            np.maximum.at(self.node_box[:, 2:], end, self.edge_bounds[:, 2:])
        self.to_wgs84 = Transformer.from_crs(net.crs, WGS84, always_xy=True)
        self.points: _EdgePoints | None = None
        self.lock = threading.Lock()

    def _build(self, ty: int, tx: int) -> None:
        rows = slice(ty * _TILE, min((ty + 1) * _TILE, self.edge.shape[0]))
        cols = slice(tx * _TILE, min((tx + 1) * _TILE, self.edge.shape[1]))
        x = self.origin[0] + (np.arange(cols.start, cols.stop) + 0.5) * self.cell
        y = self.origin[1] + (np.arange(rows.start, rows.stop) + 0.5) * self.cell
        xx, yy = np.meshgrid(x, y)
        edge, snap, along = self._join(np.c_[xx.ravel(), yy.ravel()])
        shape = xx.shape
        with self.lock:
            self.edge[rows, cols] = (edge + 1).reshape(shape)
            self.along[rows, cols] = along.reshape(shape)
            self.snap[rows, cols] = snap.reshape(shape)
            self.built[ty, tx] = True

    def window(self, x0: float, y0: float, x1: float, y1: float) -> _Cells | None:
        """The cells whose centres may lie in the box (views; None outside the cells)."""
        (ox, oy), cell, (rows, cols) = self.origin.tolist(), self.cell, self.edge.shape
        c0, r0 = max(math.floor((x0 - ox) / cell), 0), max(math.floor((y0 - oy) / cell), 0)
        c1, r1 = min(math.ceil((x1 - ox) / cell), cols), min(math.ceil((y1 - oy) / cell), rows)
        if c1 - c0 < 3 or r1 - r0 < 3:
            return None
        tiles = self.built[r0 // _TILE : (r1 - 1) // _TILE + 1, c0 // _TILE : (c1 - 1) // _TILE + 1]
        if not tiles.all():
            for ty, tx in np.argwhere(~tiles).tolist():
                self._build(r0 // _TILE + ty, c0 // _TILE + tx)
        box = (slice(r0, r1), slice(c0, c1))
        corner = np.array([ox + c0 * cell, oy + r0 * cell])
        return _Cells(
            self.edge[box], self.along[box], self.snap[box], corner, self.cell, self.edge_boxes
        )

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


class _ToWgs84:
    """UTM to EPSG:4326 for the outlines of each window: a quadratic in the window fitted to
    exact points, used where it is within ``_FIT_DEG`` of them (else the exact transform)."""

    _GRID = np.array([(i, j) for j in (-1, 0, 1) for i in (-1, 0, 1)], dtype=float)
    _CHECK = np.array([(i, j) for j in (-1, -0.5, 0.5, 1) for i in (-1, -0.5, 0.5, 1)])

    def __init__(self, transformer: Transformer, boxes: np.ndarray) -> None:
        self.exact = transformer
        self.centre, self.half = (
            (boxes[:, :2] + boxes[:, 2:]) / 2,
            (boxes[:, 2:] - boxes[:, :2]) / 2,
        )
        self.coef = np.einsum("ij,kjl->kli", self._FIT, self._sample(self._GRID))  # k × 2 × 6
        u, v = self._CHECK[:, 0], self._CHECK[:, 1]
        guess = np.einsum("kli,in->knl", self.coef, self._basis(u, v))
        self.ok = np.abs(guess - self._sample(self._CHECK)).max(axis=(1, 2)) < _FIT_DEG
        self.box = np.c_[self.centre, self.half]

    @staticmethod
    def _basis(u, v) -> np.ndarray:
        return np.stack([np.ones_like(u), u, v, u * u, u * v, v * v])

    _FIT = np.linalg.pinv(_basis(_GRID[:, 0], _GRID[:, 1]).T)  # 6 × 9, least squares

    def _sample(self, uv: np.ndarray) -> np.ndarray:
        """Exact lon/lat of the points ``uv`` (in half-windows) of every window: k × n × 2."""
        xy = self.centre[:, None, :] + uv[None] * self.half[:, None, :]
        return np.stack(self.exact.transform(xy[..., 0], xy[..., 1]), axis=-1)

    def __call__(self, window: np.ndarray, x: np.ndarray, y: np.ndarray):
        if len(window) and (np.diff(window) < 0).any():  # the points go window by window
            order = np.argsort(window, kind="stable")
            lon, lat = np.empty_like(x), np.empty_like(y)
            lon[order], lat[order] = self(window[order], x[order], y[order])
            return lon, lat
        count = np.bincount(window, minlength=len(self.box))
        cx, cy, hx, hy = (np.repeat(self.box[:, j], count) for j in range(4))
        u, v = (x - cx) / hx, (y - cy) / hy
        lon, lat = (
            c[0] + u * (c[1] + c[3] * u + c[4] * v) + v * (c[2] + c[5] * v)
            for c in ([np.repeat(self.coef[:, i, j], count) for j in range(6)] for i in (0, 1))
        )
        bad = ~self.ok[window]
        if bad.any():
            lon[bad], lat[bad] = self.exact.transform(x[bad], y[bad])
        return lon, lat


def _times(cells: _Cells, ends: np.ndarray, snap, cap: float | None) -> np.ndarray:
    """The walking metres to each cell's centre (float32; inf: not reached).

    A cell's walk: along the network to where it joins it, then straight to its centre. With
    ``a``/``b`` the walks to an edge's u and v ends, the walk to the point ``s`` along it is
    ``min(a + s, b - s) = m - |h - s|`` (``m = (a + b) / 2``, ``h = (b - a) / 2``); ``ends``
    holds ``h + i·m`` per edge (index 0: off the network), one gather for both.
    """
    e, along = cells.edge, cells.along
    mh = np.take(ends, e)  # faster than ends[e] on a window (a 2-D view)
    t = mh.real - along
    np.abs(t, out=t)
    np.subtract(mh.imag, t, out=t)
    near = cells.near(snap.edge)  # the source's own edge: the direct walk along it
    own = e[near] == snap.edge + 1
    if own.any():
        t_own = t[near]
        t_own[own] = np.minimum(t_own[own], snap.snap_m + np.abs(along[near][own] - snap.along_m))
    t += cells.snap
    if cap is not None:
        t[cells.snap > cap] = np.inf
    return t


def _boxes(raster: _Raster, d: np.ndarray, own: np.ndarray, radius: float, walk: float):
    """Per search (rows of ``d``), a box holding every place reached within ``radius``: places
    joining the point's own edge, and, for each node reached, those within what is left of
    the walk from it and within the longest straight walk of its edges (the box of each
    node's edges widened): the union of the nodes' boxes, not the meet of two unions."""
    rows, nodes = np.nonzero(d < radius)
    left = radius - d[rows, nodes]
    hit = np.flatnonzero(np.bincount(rows, minlength=len(d)))
    at = np.searchsorted(rows, hit)
    box = np.empty((len(d), 4))
    for k, sign in enumerate((1, 1, -1, -1)):  # x0, y0 (minima), x1, y1 (maxima)
        best = np.full(len(d), np.inf)
        if len(hit):  # per node: within its edges' reach and within the walk left from it
            span = sign * raster.node_box[nodes, k] - walk
            near = sign * raster.node_xy[nodes, k % 2] - left
            best[hit] = np.minimum.reduceat(np.maximum(span, near), at)
        box[:, k] = sign * np.minimum(best, sign * raster.edge_bounds[own, k] - walk)
    return box


def _circles(net, raster, snaps, radii, cap):
    """EPSG:4326 polygons of the on-network points (rows of ``snaps``), shortest minute value
    first; None where a minute value reaches no cell."""
    geoms = np.full((len(snaps), len(radii)), None, dtype=object)
    u, v, length = (net.edges[c].to_numpy() for c in ("u", "v", "length_m"))
    table = list(snaps.itertuples(index=False))
    own_edge = snaps["edge"].to_numpy()
    reach = radii[-1] + 2 * raster.cell
    walk = (net.max_snap_m if cap is None else cap) + 2 * raster.cell
    radii32 = radii.astype(np.float32)
    ends = np.full(len(u) + 1, complex(0, np.inf), np.complex64)  # h + i·m (see _times)
    far = 2 * (radii[-1] + length.max(initial=0.0)) + 1.0  # "not reached", finite for m - |h - s|
    times, corners, done = [], [], []
    rows_at_once = max(1, 2_000_000 // max(len(u), len(raster.node_xy), 1))

    def flush() -> None:
        low = np.array(corners)
        high = low + np.array([g.shape[::-1] for g in times]) * raster.cell
        polys = nested_outlines(
            times,
            low,
            cell=raster.cell,
            thresholds=radii32,
            clip=_CLIP * raster.cell,
            hole_cells=_HOLE_M2 / raster.cell**2,
            gap=_GAP_M / raster.cell,
            project=_ToWgs84(raster.to_wgs84, np.c_[low, high]),
        )
        geoms[done] = np.where(shapely.is_empty(polys), None, polys)
        times.clear(), corners.clear(), done.clear()

    for positions, dist in source_distances(net, snaps, limit_m=float(radii[-1])):
        for lo in range(0, len(positions), rows_at_once):
            rows, d = positions[lo : lo + rows_at_once], dist[lo : lo + rows_at_once]
            du, dv = d[:, u], d[:, v]
            boxes = _boxes(raster, d, own_edge[rows], reach, walk)
            a, b = np.minimum(du, far), np.minimum(dv + length, far)
            half, mid = (b - a) / 2, (a + b) / 2
            for k, row in enumerate(rows.tolist()):
                cells = raster.window(*boxes[k].tolist())
                if cells is None:
                    continue
                ends.real[1:], ends.imag[1:] = half[k], mid[k]
                times.append(_times(cells, ends, table[row], cap))
                corners.append(cells.corner)
                done.append(row)
                if len(times) == _BATCH:
                    flush()
    if times:
        flush()
    return geoms


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
    cell_m : float, default 17.5
        Raster cell; the boundary lies within about half a cell of the exact one (closer
        where the walk changes smoothly: it is interpolated between cell centres).

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
    cap = None if width_m >= net.max_snap_m else float(width_m)
    raster = _raster(net, float(cell_m))
    geoms = _circles(net, raster, snaps, radii, cap)

    def exact(geom):
        return shapely.transform(geom, lambda xy: np.c_[raster.to_wgs84.transform(*xy.T)])

    off = ~snaps["on_network"].to_numpy()
    for row in np.flatnonzero(off):
        geoms[row] = exact(shapely.buffer(local[row], radii, quad_segs=16))
    empty = np.flatnonzero((geoms == None).any(axis=1))  # noqa: E711 (object array)
    if len(empty):  # nothing reached but the walk onto the network
        feet = shapely.line_interpolate_point(
            net.edges.geometry.to_numpy()[snaps["edge"].to_numpy()[empty]],
            snaps["along_m"].to_numpy()[empty],
        )
        for row, foot in zip(empty, feet, strict=True):
            walk = exact(shapely.buffer(shapely.LineString([local[row], foot]), cell_m / 2))
            for j in range(len(radii)):
                geoms[row, j] = (
                    walk if geoms[row, j] is None else shapely.union(walk, geoms[row, j])
                )
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
        crs=WGS84,
    )
    return _nested(frame, k, empty)


def _nested(frame: gpd.GeoDataFrame, k: int, rows: np.ndarray) -> gpd.GeoDataFrame:
    """The polygons of ``rows`` (points whose shorter minute values reached no cell) made to
    cover the shorter ones' in the output CRS too, also once written with 7 decimals; the
    outlines of the others are nested with room to spare (:mod:`geo.outlines`)."""
    if not len(rows):
        return frame
    geoms = frame.geometry.to_numpy().reshape(-1, k).copy()
    for j in range(1, k):
        short, long = geoms[rows, j - 1], geoms[rows, j]
        bad = ~shapely.covers(long, short) | ~shapely.covers(_rounded(long), _rounded(short))
        # a hair wider than the shorter one, so that shared edges cannot round the other way
        wider = shapely.buffer(short[bad], _HAIR_DEG, quad_segs=1, join_style="mitre")
        geoms[rows[bad], j] = shapely.union(long[bad], wider)
    return frame.set_geometry(geoms.reshape(-1), crs=frame.crs)


def _rounded(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, 7))
