"""The walking network: a noded graph of walkable lines, point snapping and walking times.

:func:`walk_network` turns EPSG:4326 lines into a :class:`WalkNetwork` in the data's UTM zone.
Lines read from OpenStreetMap (a ``node_ids`` column, see :func:`geo.osm.read_osm`) are joined
only where ways share a node id, so a bridge over a road is not a junction. Plain lines are
noded: split at every crossing and at every shared vertex, except that lines on different
levels (``layer``/``bridge``/``tunnel`` columns) meet only at the end of one of them.

Points are snapped to the nearest *edge* (not node): the point walks straight to its projection
on the edge and then along the edge to either end, and both walks count. A point farther than
``max_snap_m`` from every edge is off the network. Snapping prefers the largest connected piece
of the network when it is at most ``prefer_largest_m`` farther than the nearest edge, so a point
beside a small disconnected fragment (an isolated footpath in a compound) still joins the town.

Shortest paths use :func:`scipy.sparse.csgraph.dijkstra` with a distance limit. Each snapped
source becomes a virtual node with two one-way edges (to both ends of its edge), so one search
per source (or one search from a virtual node joined to all sources) gives exact distances.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph

from geo.crs import WGS84, require_crs, utm_crs
from geo.errors import InputError

__all__ = [
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_SPEED_KMH",
    "EXCLUDED_CLASSES",
    "WALKABLE_CLASSES",
    "WalkNetwork",
    "metres_per_minute",
    "reach_matrix",
    "read_walk_network",
    "snap_points",
    "walk_network",
    "walking_minutes",
]

#: Classes kept by ``walkable_only`` (OSM ``highway`` values); lines without a class are kept.
WALKABLE_CLASSES = frozenset(
    {
        "footway", "path", "steps", "pedestrian", "living_street", "residential", "service",
        "unclassified", "road", "track", "cycleway", "bridleway", "corridor", "platform",
        "tertiary", "tertiary_link", "secondary", "secondary_link", "primary", "primary_link",
    }
)  # fmt: skip
#: Never walkable, whatever other tags say.
EXCLUDED_CLASSES = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
#: ``foot`` values that forbid walking (``use_sidepath``: walk on the separately mapped sidewalk).
FOOT_FORBIDDEN = frozenset({"no", "private", "use_sidepath"})
#: ``foot`` values that allow walking where ``access`` forbids it.
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "official", "destination"})
ACCESS_FORBIDDEN = frozenset({"no", "private"})

DEFAULT_SPEED_KMH = 4.5
DEFAULT_MAX_SNAP_M = 200.0
DEFAULT_PREFER_LARGEST_M = 30.0
_GRID_M = 0.05  # plain lines are noded on a 5 cm grid (near-miss T-junctions of float noise join)
_KEY_DECIMALS = 2  # plain lines: vertices within a centimetre are the same node
_MIN_WEIGHT = 1e-6  # scipy treats a stored 0 as "no edge" in some paths; keep weights positive
_FEW_SOURCES = 4  # up to this many sources, no virtual nodes (the API's one-station case)
_CHUNK_CELLS = 8_000_000  # floats per Dijkstra batch (64 MB)
_MAX_BATCH = 256  # sources per batch (callers make sources × targets arrays from each)
_OSM_SUFFIXES = (".osm", ".pbf", ".osm.bz2", ".osm.gz", ".o5m")


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """A noded walking network in a metric (UTM) CRS.

    Attributes
    ----------
    crs : pyproj.CRS
        The UTM zone the network is measured in.
    nodes : GeoDataFrame
        One row per node (index 0..n-1): ``component`` (0 = the largest connected piece) and a
        Point geometry.
    edges : GeoDataFrame
        One row per edge: ``u``, ``v`` (node numbers; the geometry runs from u to v),
        ``length_m``, ``component``, ``class``, ``road_id`` (from the source line, may be None)
        and a LineString geometry.
    graph : scipy.sparse.csr_matrix
        Symmetric n × n matrix of edge lengths in metres (the shortest of parallel edges; loops
        left out).
    components : numpy.ndarray
        Component label of each node, numbered by size (0 = largest).
    dropped : Mapping[str, int]
        Source lines left out, by reason.
    max_snap_m, prefer_largest_m : float
        Snapping options (see the module docstring).
    """

    crs: CRS
    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    graph: sparse.csr_matrix
    components: np.ndarray
    dropped: Mapping[str, int] = field(default_factory=dict)
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    prefer_largest_m: float = DEFAULT_PREFER_LARGEST_M

    def __post_init__(self) -> None:
        geoms = self.edges.geometry.to_numpy()
        main = np.flatnonzero(self.edges["component"].to_numpy() == 0)
        object.__setattr__(self, "_tree", shapely.STRtree(geoms))
        object.__setattr__(self, "_main", main)
        object.__setattr__(self, "_main_tree", shapely.STRtree(geoms[main]))
        n = len(self.nodes)
        object.__setattr__(self, "_base", sparse.coo_matrix(self.graph))
        object.__setattr__(self, "_n", n)

    @property
    def component_sizes(self) -> np.ndarray:
        """Number of nodes in each component, largest first."""
        return np.bincount(self.components) if len(self.components) else np.zeros(0, int)

    def summary(self) -> dict:
        """Counts for reports: nodes, edges, length, components and the dropped lines."""
        sizes = self.component_sizes
        return {
            "nodes": int(len(self.nodes)),
            "edges": int(len(self.edges)),
            "length_km": round(float(self.edges["length_m"].sum()) / 1000, 3),
            "components": int(len(sizes)),
            "largest_component_nodes": int(sizes[0]) if len(sizes) else 0,
            "nodes_outside_largest": int(sizes[1:].sum()) if len(sizes) else 0,
            "dropped": dict(self.dropped),
        }


# -- building ------------------------------------------------------------------------------


def metres_per_minute(speed_kmh: float) -> float:
    """Walking speed in metres per minute; a clear error for a speed that is not positive."""
    if not np.isfinite(speed_kmh) or speed_kmh <= 0:
        msg = f"walking speed must be a positive number of km/h, got {speed_kmh!r}"
        raise InputError(msg)
    return speed_kmh * 1000.0 / 60.0


def _text(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    if column is None or column not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    values = frame[column].to_numpy(dtype=object)
    return np.array([None if pd.isna(v) else str(v).strip().lower() for v in values], object)


def _walkable(lines: gpd.GeoDataFrame) -> tuple[np.ndarray, Counter[str]]:
    """Mask of walkable lines and the count of the others by reason."""
    column = "highway" if "highway" in lines.columns else "class"
    cls, foot, access = _text(lines, column), _text(lines, "foot"), _text(lines, "access")
    keep = np.ones(len(lines), bool)
    dropped: Counter[str] = Counter()
    for k in range(len(lines)):
        reason = None
        if cls[k] in EXCLUDED_CLASSES:
            reason = f"class {cls[k]} (never walkable)"
        elif cls[k] is not None and cls[k] not in WALKABLE_CLASSES:
            reason = f"class {cls[k]} (not a walkable class)"
        elif foot[k] in FOOT_FORBIDDEN:
            reason = f"foot={foot[k]}"
        elif access[k] in ACCESS_FORBIDDEN and foot[k] not in FOOT_ALLOWED:
            reason = f"access={access[k]}"
        if reason:
            keep[k] = False
            dropped[reason] += 1
    return keep, dropped


def _cut(coords: np.ndarray, owner: np.ndarray, cut: np.ndarray):
    """Split lines (coords grouped by `owner`) at the vertices flagged in `cut`.

    Returns the coordinates (a cut vertex appears twice), the piece of each coordinate, and
    the index into the input of each output coordinate.
    """
    rep = 1 + cut.astype(np.int64)
    src = np.repeat(np.arange(len(coords)), rep)
    first = np.ones(len(coords), bool)
    first[1:] = owner[1:] != owner[:-1]
    start = np.zeros(len(src), bool)
    ends = np.cumsum(rep)
    start[ends[first] - rep[first]] = True  # first copy of each line's first vertex
    start[ends[cut] - 1] = True  # second copy of each cut vertex opens a piece
    return coords[src], np.cumsum(start) - 1, src


def _osm_pieces(lines: gpd.GeoDataFrame):
    """Pieces of OSM ways split at nodes shared with other ways (or repeated in the same way)."""
    coords, owner = shapely.get_coordinates(lines.geometry.to_numpy(), return_index=True)
    ids = np.concatenate([np.asarray(v, dtype=np.int64) for v in lines["node_ids"]])
    if len(ids) != len(coords):
        return None
    _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    interior = np.ones(len(coords), bool)
    interior[0] = interior[-1] = False
    change = np.flatnonzero(owner[1:] != owner[:-1])
    interior[change] = interior[change + 1] = False
    coords, piece, src = _cut(coords, owner, interior & (counts[inverse] > 1))
    return coords, piece, owner[src], ids[src]


def _level(lines: gpd.GeoDataFrame) -> np.ndarray:
    """Vertical level of each line from ``layer``, ``bridge`` and ``tunnel`` (0 when absent)."""
    level = np.zeros(len(lines), dtype=np.int64)
    if "layer" in lines.columns:
        level = pd.to_numeric(lines["layer"], errors="coerce").fillna(0).astype(int).to_numpy()
    for column, step in (("bridge", 1), ("tunnel", -1)):
        if column in lines.columns:
            flag = _text(lines, column)
            on = np.array([v not in (None, "no", "false", "0") for v in flag])
            level = np.where(on & (level == 0), step, level)
    return level


def _line_pieces(lines: gpd.GeoDataFrame):
    """Noded pieces of plain lines: crossings on the same level, shared vertices everywhere."""
    geoms, level = lines.geometry.to_numpy(), _level(lines)
    parts = []
    for value in np.unique(level):
        noded = shapely.union_all(geoms[level == value], grid_size=_GRID_M)  # snap-rounding
        parts.append(shapely.get_parts(noded))
    pieces = np.concatenate(parts) if parts else np.empty(0, object)
    pieces = pieces[shapely.get_type_id(pieces) == 1]
    coords, owner = shapely.get_coordinates(pieces, return_index=True)
    keys = _keys(coords)
    first = np.ones(len(coords), bool)
    first[1:] = owner[1:] != owner[:-1]
    last = np.ones(len(coords), bool)
    last[:-1] = owner[1:] != owner[:-1]
    ends = np.unique(keys[first | last])
    cut = ~(first | last) & np.isin(keys, ends)
    # pieces from one level are already split at their own crossings; a vertex shared with any
    # other piece (a ramp ending on a road) or repeated within the piece also becomes a node
    cut |= ~(first | last) & (np.bincount(keys)[keys] > 1)
    coords, piece, src = _cut(coords, owner, cut)
    mids = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    hit_piece, hit_line = shapely.STRtree(geoms).query_nearest(mids, all_matches=False)
    source = np.zeros(len(pieces), dtype=np.int64)
    source[hit_piece] = hit_line  # the source line each piece came from (for its attributes)
    return coords, piece, source[owner[src]], keys[src]


def _keys(coords: np.ndarray) -> np.ndarray:
    """One integer per distinct (rounded) coordinate."""
    rounded = np.round(coords, _KEY_DECIMALS)
    _, inverse = np.unique(rounded, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def walk_network(
    lines: gpd.GeoDataFrame,
    *,
    walkable_only: bool = True,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    prefer_largest_m: float = DEFAULT_PREFER_LARGEST_M,
) -> WalkNetwork:
    """Build the walking network from lines.

    Parameters
    ----------
    lines : GeoDataFrame
        LineString/MultiLineString rows in EPSG:4326. Optional columns: ``highway`` or
        ``class`` (OSM highway values), ``foot``, ``access``, ``road_id``, ``layer``,
        ``bridge``, ``tunnel``, and ``node_ids`` (OSM node id per coordinate, from
        ``read_osm(..., node_ids=True)``).
    walkable_only : bool, default True
        Drop motorways, trunk roads and their links, classes not in :data:`WALKABLE_CLASSES`,
        ``foot=no`` and ``access=private``/``no`` (unless ``foot`` allows walking).
    max_snap_m : float, default 200
        Points farther than this from every edge are off the network.
    prefer_largest_m : float, default 30
        Snap to the largest component when it is at most this much farther than the nearest edge.

    Returns
    -------
    WalkNetwork

    Raises
    ------
    InputError
        No walkable lines; CRSMismatchError if the lines are not in EPSG:4326.

    Examples
    --------
    >>> net = walk_network(roads)  # doctest: +SKIP
    >>> net.summary()["components"]  # doctest: +SKIP
    """
    require_crs(lines, WGS84, name="network lines")
    geoms = lines.geometry
    is_line = (
        geoms.notna() & ~geoms.is_empty & geoms.geom_type.isin(["LineString", "MultiLineString"])
    )
    if not is_line.any():
        msg = f"network lines: no LineString/MultiLineString geometry among {len(lines)} rows"
        raise InputError(msg)
    dropped: Counter[str] = Counter()
    if (~is_line).any():
        dropped["not a line"] = int((~is_line).sum())
    lines = lines[is_line.to_numpy()]
    if walkable_only:
        keep, reasons = _walkable(lines)
        dropped.update(reasons)
        lines = lines[keep]
        if lines.empty:
            msg = f"network lines: no walkable line left (dropped: {dict(dropped)})"
            raise InputError(msg)
    crs = utm_crs(lines)
    lines = lines.to_crs(crs).reset_index(drop=True)
    osm = "node_ids" in lines.columns and lines["node_ids"].notna().all()
    if osm:
        lines = lines[lines.geometry.geom_type == "LineString"].reset_index(drop=True)
    built = _osm_pieces(lines) if osm else None
    if built is None:
        lines = lines.explode(index_parts=False).reset_index(drop=True)
        built = _line_pieces(lines)
    coords, piece, source, keys = built
    return _assemble(lines, crs, coords, piece, source, keys, dropped, max_snap_m, prefer_largest_m)


def _assemble(lines, crs, coords, piece, source, keys, dropped, max_snap_m, prefer_largest_m):
    """Edges, nodes, graph and components from split pieces."""
    starts = np.flatnonzero(np.r_[True, piece[1:] != piece[:-1]])
    stops = np.r_[starts[1:], len(piece)] - 1
    node_key, node_of = np.unique(np.r_[keys[starts], keys[stops]], return_inverse=True)
    u, v = node_of[: len(starts)], node_of[len(starts) :]
    node_xy = np.empty((len(node_key), 2))
    node_xy[u], node_xy[v] = coords[starts], coords[stops]
    geoms = shapely.linestrings(coords, indices=piece)
    length = shapely.length(geoms)
    good = length > 0
    u, v, geoms, length, src = u[good], v[good], geoms[good], length[good], source[starts][good]
    n = len(node_key)
    a, b = np.minimum(u, v), np.maximum(u, v)
    real = a != b
    order = np.lexsort((length[real], b[real], a[real]))
    ar, br, wr = a[real][order], b[real][order], length[real][order]
    keep = np.r_[True, (ar[1:] != ar[:-1]) | (br[1:] != br[:-1])]
    ar, br, wr = ar[keep], br[keep], np.maximum(wr[keep], _MIN_WEIGHT)
    graph = sparse.csr_matrix((np.r_[wr, wr], (np.r_[ar, br], np.r_[br, ar])), shape=(n, n))
    _, labels = csgraph.connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    rank = np.empty(len(sizes), dtype=np.int64)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(len(sizes))
    components = rank[labels]
    attr = {}
    for column in ("class", "highway", "road_id"):
        if column in lines.columns:
            values = lines[column].to_numpy(dtype=object)
            attr["class" if column == "highway" else column] = values[src]
    edges = gpd.GeoDataFrame(
        {
            "u": u,
            "v": v,
            "length_m": length,
            "component": components[u],
            "class": attr.get("class", np.full(len(u), None, object)),
            "road_id": attr.get("road_id", np.full(len(u), None, object)),
        },
        geometry=geoms,
        crs=crs,
    )
    nodes = gpd.GeoDataFrame({"component": components}, geometry=shapely.points(node_xy), crs=crs)
    return WalkNetwork(
        crs=crs,
        nodes=nodes,
        edges=edges,
        graph=graph,
        components=components,
        dropped=dict(sorted(dropped.items())),
        max_snap_m=float(max_snap_m),
        prefer_largest_m=float(prefer_largest_m),
    )


def read_walk_network(path: str | Path, **options) -> WalkNetwork:
    """Read walkable lines from a GeoJSON/GeoPackage/Shapefile or an OSM file and build the network.

    ``options`` go to :func:`walk_network`.
    """
    from geo.io import read_vector
    from geo.osm import read_osm

    path = Path(path)
    if path.name.lower().endswith(_OSM_SUFFIXES):
        lines = read_osm(path, area_pois=False, node_ids=True).network
        if lines.empty:
            msg = f"{path}: no highway ways in the OSM file"
            raise InputError(msg)
    else:
        lines = read_vector(path)
    return walk_network(lines, **options)


# -- snapping ------------------------------------------------------------------------------


def _as_points(net: WalkNetwork, points: gpd.GeoDataFrame, name: str) -> np.ndarray:
    require_crs(points, WGS84, name=name)
    geoms = points.geometry.to_crs(net.crs).to_numpy()
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = np.full(len(geoms), None, dtype=object)
    not_point = usable & (shapely.get_type_id(geoms) != 0)
    out[usable & ~not_point] = geoms[usable & ~not_point]
    out[not_point] = shapely.point_on_surface(geoms[not_point])  # buildings: a point inside
    return out


def snap_points(
    net: WalkNetwork, points: gpd.GeoDataFrame, *, max_snap_m: float | None = None
) -> pd.DataFrame:
    """Snap points (EPSG:4326; other geometries by a point inside) to the nearest edge.

    Returns
    -------
    DataFrame
        Indexed like ``points``: ``node`` (the edge end nearer along the walk), ``snap_m``
        (straight walk from the point to the edge), ``edge``, ``along_m`` (position of the
        projection from the edge's ``u`` end), ``to_u_m``/``to_v_m`` (snap walk plus the walk
        along the edge to each end), ``node_m`` (the smaller of the two), ``component`` and
        ``on_network`` (False beyond ``max_snap_m`` or without geometry; node and edge are -1).
    """
    limit = net.max_snap_m if max_snap_m is None else float(max_snap_m)
    pts = _as_points(net, points, "points")
    count = len(pts)
    edge = np.full(count, -1, dtype=np.int64)
    dist = np.full(count, np.inf)
    have = np.flatnonzero(pts != None)  # noqa: E711 (object array)
    if len(have) and len(net.edges):
        (i, e), d = net._tree.query_nearest(pts[have], return_distance=True, all_matches=False)
        edge[have[i]], dist[have[i]] = e, d
        if 0 < len(net._main) < len(net.edges) and net.prefer_largest_m > 0:
            (i, e), d = net._main_tree.query_nearest(
                pts[have], return_distance=True, all_matches=False
            )
            better = d <= dist[have[i]] + net.prefer_largest_m
            edge[have[i][better]], dist[have[i][better]] = net._main[e[better]], d[better]
    on = (edge >= 0) & (dist <= limit)
    lines = net.edges.geometry.to_numpy()
    length = net.edges["length_m"].to_numpy()
    along = np.zeros(count)
    along[on] = shapely.line_locate_point(lines[edge[on]], pts[on])
    total = np.where(on, length[np.maximum(edge, 0)], 0.0)
    to_u = np.where(on, dist + along, np.inf)
    to_v = np.where(on, dist + total - along, np.inf)
    u = net.edges["u"].to_numpy()[np.maximum(edge, 0)]
    v = net.edges["v"].to_numpy()[np.maximum(edge, 0)]
    node = np.where(on, np.where(to_u <= to_v, u, v), -1)
    comp = np.where(on, net.edges["component"].to_numpy()[np.maximum(edge, 0)], -1)
    return pd.DataFrame(
        {
            "node": node,
            "snap_m": dist,
            "edge": np.where(on, edge, -1),
            "along_m": along,
            "to_u_m": to_u,
            "to_v_m": to_v,
            "node_m": np.minimum(to_u, to_v),
            "component": comp,
            "on_network": on,
        },
        index=points.index,
    )


# -- shortest paths ------------------------------------------------------------------------


def _with_sources(net: WalkNetwork, rows: np.ndarray, ends: np.ndarray, cost: np.ndarray):
    """The graph plus virtual nodes n + rows[k] with one-way edges to ends[k] of cost[k]."""
    base, n = net._base, net._n
    extra = int(rows.max()) + 1 if len(rows) else 0
    order = np.lexsort((cost, ends, rows))
    rows, ends, cost = rows[order], ends[order], cost[order]
    keep = np.r_[True, (rows[1:] != rows[:-1]) | (ends[1:] != ends[:-1])][: len(rows)]
    size = n + extra
    return sparse.csr_matrix(
        (
            np.r_[base.data, np.maximum(cost[keep], _MIN_WEIGHT)],
            (np.r_[base.row, n + rows[keep]], np.r_[base.col, ends[keep]]),
        ),
        shape=(size, size),
    )


def _endpoints(net: WalkNetwork, snaps: pd.DataFrame):
    """(source number, end node, cost) for both ends of each on-network snap."""
    on = np.flatnonzero(snaps["on_network"].to_numpy())
    edge = snaps["edge"].to_numpy()[on]
    u, v = net.edges["u"].to_numpy()[edge], net.edges["v"].to_numpy()[edge]
    rows = np.r_[np.arange(len(on)), np.arange(len(on))]
    ends = np.r_[u, v]
    cost = np.r_[snaps["to_u_m"].to_numpy()[on], snaps["to_v_m"].to_numpy()[on]]
    return on, rows, ends, cost


def source_distances(
    net: WalkNetwork, snaps: pd.DataFrame, *, limit_m: float
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Walking metres from each on-network snapped source to every node, in batches.

    Yields ``(positions, distances)``: positions of the sources in ``snaps`` (row numbers) and
    a ``len(positions) × n_nodes`` array (np.inf beyond ``limit_m``).
    """
    on, rows, ends, cost = _endpoints(net, snaps)
    if not len(on):
        return
    if len(on) <= _FEW_SOURCES:  # search from both edge ends; cheaper than a new graph
        both = csgraph.dijkstra(net.graph, directed=True, indices=ends, limit=limit_m)
        half = len(on)
        yield on, np.minimum(both[:half] + cost[:half, None], both[half:] + cost[half:, None])
        return
    graph = _with_sources(net, rows, ends, cost)
    n = net._n
    batch = max(1, min(_MAX_BATCH, _CHUNK_CELLS // max(graph.shape[0], 1)))
    for lo in range(0, len(on), batch):
        hi = min(lo + batch, len(on))
        dist = csgraph.dijkstra(graph, directed=True, indices=n + np.arange(lo, hi), limit=limit_m)
        yield on[lo:hi], dist[:, :n]


def _to_targets(net: WalkNetwork, dist: np.ndarray, targets: pd.DataFrame) -> np.ndarray:
    """Walking metres to snapped targets from node distances (rows × targets)."""
    out = np.full((dist.shape[0], len(targets)), np.inf)
    on = targets["on_network"].to_numpy()
    edge = targets["edge"].to_numpy()[on]
    u, v = net.edges["u"].to_numpy()[edge], net.edges["v"].to_numpy()[edge]
    via_u = dist[:, u] + targets["to_u_m"].to_numpy()[on]
    via_v = dist[:, v] + targets["to_v_m"].to_numpy()[on]
    out[:, on] = np.minimum(via_u, via_v)
    return out


def _same_edge(sources: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Pairs on the same edge with the direct walk along it (columns source, target, metres)."""
    s = sources[sources["on_network"]].assign(source=np.flatnonzero(sources["on_network"]))
    t = targets[targets["on_network"]].assign(target=np.flatnonzero(targets["on_network"]))
    pairs = s[["edge", "source", "along_m", "snap_m"]].merge(
        t[["edge", "target", "along_m", "snap_m"]], on="edge", suffixes=("_s", "_t")
    )
    metres = (pairs["along_m_s"] - pairs["along_m_t"]).abs() + pairs["snap_m_s"] + pairs["snap_m_t"]
    return pd.DataFrame(
        {"source": pairs["source"].to_numpy(), "target": pairs["target"].to_numpy(), "m": metres}
    )


def _straight(net, sources: pd.DataFrame, src_pts, tgt_pts, limit: float) -> pd.DataFrame:
    """Straight-line pairs from off-network sources (their service area is a plain circle)."""
    off = np.flatnonzero(~sources["on_network"].to_numpy() & (src_pts != None))  # noqa: E711
    have = np.flatnonzero(tgt_pts != None)  # noqa: E711
    if not len(off) or not len(have):
        return pd.DataFrame(
            {"source": np.zeros(0, np.int64), "target": np.zeros(0, np.int64), "m": np.zeros(0)}
        )
    t, s = shapely.STRtree(src_pts[off]).query(tgt_pts[have], predicate="dwithin", distance=limit)
    metres = shapely.distance(src_pts[off][s], tgt_pts[have][t])
    return pd.DataFrame({"source": off[s], "target": have[t], "m": metres})


def _check_minutes(max_minutes: float) -> None:
    if not np.isfinite(max_minutes) or max_minutes < 0:
        msg = f"max_minutes must be a finite number >= 0, got {max_minutes!r}"
        raise InputError(msg)


def walking_minutes(
    net: WalkNetwork,
    sources: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    *,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    max_minutes: float = 15.0,
) -> np.ndarray:
    """Minutes of walking from the nearest source to each target.

    Snap walks at both ends count. A target off the network is unreachable (np.inf) from
    on-network sources; an off-network source reaches targets in a straight line (its service
    area is the plain circle of :func:`geo.isochrones.isochrones`).

    Returns
    -------
    numpy.ndarray
        ``len(targets)`` minutes, np.inf beyond ``max_minutes``.
    """
    per_min = metres_per_minute(speed_kmh)
    _check_minutes(max_minutes)
    limit = max_minutes * per_min
    s, t = snap_points(net, sources), snap_points(net, targets)
    best = np.full(len(targets), np.inf)
    on, rows, ends, cost = _endpoints(net, s)
    if len(on):
        graph = _with_sources(net, np.zeros_like(rows), ends, cost)  # one virtual node for all
        dist = csgraph.dijkstra(graph, directed=True, indices=[net._n], limit=limit)[:, : net._n]
        best = _to_targets(net, dist, t)[0]
    extra = pd.concat(
        [
            _same_edge(s, t),
            _straight(
                net,
                s,
                _as_points(net, sources, "sources"),
                _as_points(net, targets, "targets"),
                limit,
            ),
        ]
    )
    if len(extra):
        np.minimum.at(best, extra["target"].to_numpy(dtype=np.int64), extra["m"].to_numpy(float))
    minutes = best / per_min
    minutes[minutes > max_minutes] = np.inf
    return minutes


def reach_matrix(
    net: WalkNetwork,
    sources: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    *,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    max_minutes: float = 15.0,
) -> sparse.csr_matrix:
    """Walking minutes from every source to every target within ``max_minutes``.

    Same rules as :func:`walking_minutes`. Returns a ``len(sources) × len(targets)`` CSR
    matrix holding only the pairs within reach; a pair at 0 minutes is stored as an explicit 0
    (use ``.nonzero()`` with care; ``.tocoo()`` lists every stored pair).
    """
    per_min = metres_per_minute(speed_kmh)
    _check_minutes(max_minutes)
    limit = max_minutes * per_min
    s, t = snap_points(net, sources), snap_points(net, targets)
    parts = [
        _same_edge(s, t),
        _straight(
            net, s, _as_points(net, sources, "sources"), _as_points(net, targets, "targets"), limit
        ),
    ]
    for positions, dist in source_distances(net, s, limit_m=limit):
        metres = _to_targets(net, dist, t)
        r, c = np.nonzero(metres <= limit)
        parts.append(pd.DataFrame({"source": positions[r], "target": c, "m": metres[r, c]}))
    pairs = pd.concat(parts, ignore_index=True)
    pairs = pairs[pairs["m"] <= limit]
    pairs = pairs.groupby(["source", "target"], as_index=False, sort=True)["m"].min()
    return sparse.csr_matrix(
        (
            pairs["m"].to_numpy(float) / per_min,
            (pairs["source"].to_numpy(np.int64), pairs["target"].to_numpy(np.int64)),
        ),
        shape=(len(sources), len(targets)),
    )
