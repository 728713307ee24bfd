"""Adjacency of polygons that share an edge, with the shared length (metres).

A community's graph has tens to thousands of nodes, so it is kept as plain CSR arrays and
handled with numpy: a grid job then starts without importing scipy (about 0.17 s of CPU).
Sums of merged edges are added in the order scipy's sparse product added them, so the costs
are the same to the bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

TOUCH_M = 0.05  # cells closer than this are taken to touch
MIN_SHARED_M = 0.5  # a shared boundary shorter than this (a corner) is no adjacency


@dataclass(frozen=True)
class Graph:
    """A weighted undirected graph in CSR form.

    `cost[k]` is the price of cutting edge k (shared length, scaled by barrier/compound rules);
    `shared[k]` the shared boundary length in metres.
    """

    indptr: np.ndarray
    indices: np.ndarray
    cost: np.ndarray
    shared: np.ndarray

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    def neighbors(self, v: int) -> np.ndarray:
        return self.indices[self.indptr[v] : self.indptr[v + 1]]

    def edge_slice(self, v: int) -> slice:
        return slice(self.indptr[v], self.indptr[v + 1])


def shared_edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of polygons sharing a boundary, and the shared length.

    Measured on copies without the 1 cm precision grid that cells may carry: the overlay of
    boundary and buffer is then exact, not snap-rounded (about 0.15 s less on the old town)."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) < 2:
        return np.empty(0, int), np.empty(0, int), np.empty(0)
    plain = shapely.from_wkb(shapely.to_wkb(geoms))
    i, j = _near_pairs(plain, plain, TOUCH_M)
    boundaries = shapely.boundary(plain)
    grown = shapely.buffer(plain, TOUCH_M, quad_segs=1)
    length = shapely.length(shapely.intersection(boundaries[i], grown[j]))
    keep = length >= MIN_SHARED_M
    return i[keep], j[keep], length[keep]


def near_pairs(geoms: np.ndarray, distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of geometries within `distance`, as STRtree's "dwithin" query lists them,
    with the distance tested once per pair instead of once each way."""
    # tested prepared, as the query tests them, but on private copies: the caller's geometries
    # may be in use by another thread (the editor's caches)
    return _near_pairs(geoms, shapely.from_wkb(shapely.to_wkb(geoms)), distance)


def _near_pairs(geoms, private, distance) -> tuple[np.ndarray, np.ndarray]:
    """near_pairs, with `private` copies of `geoms` that may be prepared."""
    tree = shapely.STRtree(geoms)
    x0, y0, x1, y1 = shapely.bounds(geoms).T
    boxes = shapely.box(x0 - distance, y0 - distance, x1 + distance, y1 + distance)
    i, j = tree.query(boxes)  # the candidates the dwithin query tests, in the same order
    keep = i < j
    i, j = i[keep], j[keep]
    shapely.prepare(private)
    near = shapely.dwithin(private[i], geoms[j], distance)
    return i[near], j[near]


def build_graph(
    n: int, i: np.ndarray, j: np.ndarray, shared: np.ndarray, cost: np.ndarray
) -> Graph:
    """Symmetric CSR graph of `n` nodes from edge lists."""
    rows = np.concatenate([i, j])
    cols = np.concatenate([j, i])
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    shared2 = np.concatenate([shared, shared])[order]
    cost2 = np.concatenate([cost, cost])[order]
    indptr = np.searchsorted(rows, np.arange(n + 1))
    return Graph(indptr, cols, cost2, shared2)


def components(graph: Graph, nodes: np.ndarray | None = None) -> np.ndarray:
    """Connected-component label of each node (restricted to `nodes` if given; others -1).

    Components are numbered in the order of their lowest node."""
    if nodes is None:
        return _component_labels(graph.n, *_edges(graph))
    labels = np.full(graph.n, -1)
    labels[nodes] = components(subgraph(graph, nodes))
    return labels


def _component_labels(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Label per node of the undirected graph of edges (rows, cols), numbered in the order of
    each component's lowest node (as scipy.sparse.csgraph numbers them)."""
    label = np.arange(n)
    while True:  # every label is a node of the same component, never above the node itself
        low = label.copy()
        np.minimum.at(low, rows, label[cols])
        np.minimum.at(low, cols, label[rows])
        low = low[low]
        if np.array_equal(low, label):
            break
        label = low
    return np.unique(label, return_inverse=True)[1].astype(np.int32)


def _edges(g: Graph) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every stored edge, in CSR order."""
    return np.repeat(np.arange(g.n), np.diff(g.indptr)), g.indices


def _canonical(n: int, rows, cols, cost, shared) -> Graph:
    """CSR graph of `n` nodes from edge lists: columns sorted within each row, repeated edges
    added up (in the given order), then self-loops and zero edges dropped."""
    order = np.lexsort((cols, rows))
    rows, cols, cost, shared = rows[order], cols[order], cost[order], shared[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    if not first.all():
        at = np.cumsum(first) - 1
        cost, shared = np.bincount(at, weights=cost), np.bincount(at, weights=shared)
        rows, cols = rows[first], cols[first]
    keep = (rows != cols) & ((cost != 0) | (shared != 0))
    rows, cols, cost, shared = rows[keep], cols[keep], cost[keep], shared[keep]
    indptr = np.searchsorted(rows, np.arange(n + 1))
    return Graph(
        indptr.astype(np.int64), cols.astype(np.int64), cost.astype(float), shared.astype(float)
    )


def subgraph(g: Graph, nodes: np.ndarray) -> Graph:
    """The graph induced by `nodes`, renumbered 0..len(nodes)-1 in the given order."""
    nodes = np.asarray(nodes, dtype=np.int64)
    place = np.full(g.n, -1, dtype=np.int64)
    place[nodes] = np.arange(len(nodes))
    rows, cols = _edges(g)
    rows, cols = place[rows], place[cols]
    inside = (rows >= 0) & (cols >= 0)
    return _canonical(len(nodes), rows[inside], cols[inside], g.cost[inside], g.shared[inside])


def contract(g: Graph, groups: np.ndarray) -> tuple[Graph, np.ndarray]:
    """Merge nodes with the same group id (>= 0); -1 nodes stay alone.

    Returns the contracted graph and, for each original node, its new node number. Edge costs
    and shared lengths between merged nodes add up: for groups a and b, first over the nodes
    u of a (ascending) for each node v of b, then over v (ascending), as the sparse product
    Pᵀ·A·P computed them.
    """
    groups = np.asarray(groups)
    key = np.where(groups >= 0, groups, -1 - np.arange(g.n))
    _, new = np.unique(key, return_inverse=True)
    m = int(new.max()) + 1 if g.n else 0
    rows, cols = _edges(g)
    # (group of u, v): bincount adds in array order, and CSR order has u ascending
    pair, at = np.unique(new[rows] * g.n + cols, return_inverse=True)
    cost = np.bincount(at, weights=g.cost, minlength=len(pair))
    shared = np.bincount(at, weights=g.shared, minlength=len(pair))
    # (group of u, group of v): `pair` is sorted, so v comes ascending within each group
    a, v = pair // max(g.n, 1), pair % max(g.n, 1)
    merged, at = np.unique(a * m + new[v], return_inverse=True)
    cost = np.bincount(at, weights=cost, minlength=len(merged))
    shared = np.bincount(at, weights=shared, minlength=len(merged))
    a, b = merged // max(m, 1), merged % max(m, 1)
    return _canonical(m, a, b, cost, shared), new


def connected_groups(g: Graph, groups: np.ndarray) -> np.ndarray:
    """Split every group (id >= 0) into its connected pieces, each a group of its own.

    Contracting a group whose nodes are not connected would let a region look connected
    through it while its land is in separate pieces.
    """
    groups = np.asarray(groups)
    rows, cols = _edges(g)
    same = (groups[rows] >= 0) & (groups[rows] == groups[cols])
    piece = _component_labels(g.n, rows[same], cols[same])
    return np.where(groups >= 0, piece, -1)
