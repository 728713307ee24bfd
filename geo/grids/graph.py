"""Adjacency of polygons that share an edge, with the shared length (metres)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse

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
    """Pairs (i < j) of polygons sharing a boundary, and the shared length."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) < 2:
        return np.empty(0, int), np.empty(0, int), np.empty(0)
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=TOUCH_M)
    keep = i < j
    i, j = i[keep], j[keep]
    boundaries = shapely.boundary(geoms)
    grown = shapely.buffer(geoms, TOUCH_M, quad_segs=1)
    length = shapely.length(shapely.intersection(boundaries[i], grown[j]))
    keep = length >= MIN_SHARED_M
    return i[keep], j[keep], length[keep]


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
    """Connected-component label of each node (restricted to `nodes` if given; others -1)."""
    n = graph.n
    data = np.ones(len(graph.indices))
    matrix = sparse.csr_matrix((data, graph.indices, graph.indptr), shape=(n, n))
    if nodes is None:
        return sparse.csgraph.connected_components(matrix, directed=False)[1]
    sub = matrix[nodes][:, nodes]
    labels = np.full(n, -1)
    labels[nodes] = sparse.csgraph.connected_components(sub, directed=False)[1]
    return labels


def _matrix(g: Graph) -> sparse.csr_matrix:
    # cost and shared length travel together as one complex matrix: cost + i·shared
    data = g.cost + 1j * g.shared
    return sparse.csr_matrix((data, g.indices, g.indptr), shape=(g.n, g.n))


def _from_matrix(matrix: sparse.spmatrix) -> Graph:
    matrix = sparse.csr_matrix(matrix)
    matrix.sum_duplicates()
    matrix.setdiag(0)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    data = matrix.data
    return Graph(
        matrix.indptr.astype(np.int64),
        matrix.indices.astype(np.int64),
        data.real.copy(),
        data.imag.copy(),
    )


def subgraph(g: Graph, nodes: np.ndarray) -> Graph:
    """The graph induced by `nodes`, renumbered 0..len(nodes)-1 in the given order."""
    return _from_matrix(_matrix(g)[nodes][:, nodes])


def contract(g: Graph, groups: np.ndarray) -> tuple[Graph, np.ndarray]:
    """Merge nodes with the same group id (>= 0); -1 nodes stay alone.

    Returns the contracted graph and, for each original node, its new node number. Edge costs
    and shared lengths between merged nodes add up.
    """
    groups = np.asarray(groups)
    key = np.where(groups >= 0, groups, -1 - np.arange(g.n))
    _, new = np.unique(key, return_inverse=True)
    m = int(new.max()) + 1 if g.n else 0
    p = sparse.csr_matrix((np.ones(g.n), (np.arange(g.n), new)), shape=(g.n, m))
    return _from_matrix(p.T @ _matrix(g) @ p), new


def connected_groups(g: Graph, groups: np.ndarray) -> np.ndarray:
    """Split every group (id >= 0) into its connected pieces, each a group of its own.

    Contracting a group whose nodes are not connected would let a region look connected
    through it while its land is in separate pieces.
    """
    groups = np.asarray(groups)
    rows = np.repeat(np.arange(g.n), np.diff(g.indptr))
    same = (groups[rows] >= 0) & (groups[rows] == groups[g.indices])
    matrix = sparse.csr_matrix(
        (np.ones(int(same.sum())), (rows[same], g.indices[same])), shape=(g.n, g.n)
    )
    _, piece = sparse.csgraph.connected_components(matrix, directed=False)
    return np.where(groups >= 0, piece, -1)
