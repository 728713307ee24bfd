"""geo.grids.graph without scipy: the same graphs, labels and sums (to the bit) as scipy's
sparse matrices and csgraph gave the engine, so generated layers do not change."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from geo.grids.graph import (
    Graph,
    build_graph,
    components,
    connected_groups,
    contract,
    near_pairs,
    shared_edges,
    subgraph,
)


def _random_graph(rng, n: int) -> Graph:
    pairs = rng.integers(0, n, (3 * n, 2))
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    pairs = pairs[pairs[:, 0] < pairs[:, 1]]
    shared = rng.random(len(pairs)) * 50 + 0.5
    cost = shared * rng.choice([0.2, 0.8, 1.0, 4.0, 20.0, 80.0], len(pairs))
    return build_graph(n, pairs[:, 0], pairs[:, 1], shared, cost)


def _matrix(g: Graph) -> sparse.csr_matrix:
    return sparse.csr_matrix((g.cost + 1j * g.shared, g.indices, g.indptr), shape=(g.n, g.n))


def _as_graph(matrix) -> tuple:
    """(indptr, indices, cost bytes, shared bytes) of a matrix as the engine stored it."""
    matrix = sparse.csr_matrix(matrix)
    matrix.sum_duplicates()
    matrix.setdiag(0)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    data = matrix.data
    return (
        matrix.indptr.tolist(),
        matrix.indices.tolist(),
        data.real.tobytes(),
        data.imag.tobytes(),
    )


def _same(g: Graph, matrix) -> bool:
    return (g.indptr.tolist(), g.indices.tolist(), g.cost.tobytes(), g.shared.tobytes()) == (
        _as_graph(matrix)
    )


@pytest.mark.parametrize("seed", range(40))
def test_contract_adds_up_as_the_sparse_product_did(seed):
    rng = np.random.default_rng(seed)
    g = _random_graph(rng, int(rng.integers(2, 80)))
    for _ in range(3):  # contracting a contracted graph adds sums of sums
        groups = rng.integers(-1, max(g.n // 3, 1), g.n)
        merged, new = contract(g, groups)
        p = sparse.csr_matrix((np.ones(g.n), (np.arange(g.n), new)), shape=(g.n, merged.n))
        assert _same(merged, p.T @ _matrix(g) @ p)
        assert merged.indptr.dtype == merged.indices.dtype == np.int64
        g = merged


@pytest.mark.parametrize("seed", range(20))
def test_subgraph_and_labels_match_scipy(seed):
    rng = np.random.default_rng(seed)
    g = _random_graph(rng, int(rng.integers(1, 80)))
    nodes = rng.permutation(g.n)[: int(rng.integers(0, g.n + 1))]
    assert _same(subgraph(g, nodes), _matrix(g)[nodes][:, nodes])

    ones = sparse.csr_matrix((np.ones(len(g.indices)), g.indices, g.indptr), shape=(g.n, g.n))
    expected = connected_components(ones, directed=False)[1]
    assert components(g).tolist() == expected.tolist()
    restricted = np.full(g.n, -1)
    restricted[nodes] = connected_components(ones[nodes][:, nodes], directed=False)[1]
    assert components(g, nodes).tolist() == restricted.tolist()

    groups = rng.integers(-1, max(g.n // 4, 1), g.n)
    rows = np.repeat(np.arange(g.n), np.diff(g.indptr))
    same = (groups[rows] >= 0) & (groups[rows] == groups[g.indices])
    within = sparse.csr_matrix(
        (np.ones(int(same.sum())), (rows[same], g.indices[same])), shape=(g.n, g.n)
    )
    pieces = connected_components(within, directed=False)[1]
    assert connected_groups(g, groups).tolist() == np.where(groups >= 0, pieces, -1).tolist()


def test_a_chain_is_one_component_and_apart_nodes_are_not():
    # 0-1-2-3 and 5-4: labels in the order of each component's lowest node; 6 alone
    g = build_graph(7, np.array([2, 0, 1, 4]), np.array([3, 1, 2, 5]), np.ones(4), np.ones(4))
    assert components(g).tolist() == [0, 0, 0, 0, 1, 1, 2]
    merged, new = contract(g, np.array([0, 0, 1, 1, -1, -1, -1]))
    assert new.tolist() == [3, 3, 4, 4, 2, 1, 0]  # lone nodes first, as np.unique sorts them
    assert merged.neighbors(3).tolist() == [4] and merged.neighbors(1).tolist() == [2]
    assert merged.neighbors(0).tolist() == [] and merged.cost.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_empty_graph():
    g = build_graph(0, np.empty(0, int), np.empty(0, int), np.empty(0), np.empty(0))
    assert components(g).tolist() == []
    assert contract(g, np.empty(0, int))[0].n == 0
    assert subgraph(g, np.empty(0, int)).n == 0


@pytest.mark.parametrize("seed", range(10))
def test_near_pairs_are_the_dwithin_querys(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 120))
    points = rng.random((n, 2)) * 200
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points)))
    cells = shapely.set_precision(shapely.intersection(cells, shapely.box(0, 0, 200, 200)), 0.01)
    # apart by a gap of 4 to 6 cm, lines, points, an empty and a missing geometry
    shifted = shapely.transform(cells[: n // 3], lambda xy: xy + rng.uniform(0.04, 0.06))
    others = [shapely.LineString([(0, -0.03), (50, -0.03)]), shapely.Point(100, 200.05)]
    geoms = np.array([*cells, *shifted, *others, shapely.Polygon(), None], dtype=object)
    geoms = geoms[rng.permutation(len(geoms))]
    shapely.prepare(geoms[:3])  # the caller's geometries are left as they were

    i, j = near_pairs(geoms, 0.05)

    a, b = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=0.05)
    assert (i.tolist(), j.tolist()) == (a[a < b].tolist(), b[a < b].tolist())
    assert len(i) > len(cells)  # neighbours were found
    assert shapely.is_prepared(geoms).tolist() == [g is not None for g in geoms[:3]] + [False] * (
        len(geoms) - 3
    )


@pytest.mark.parametrize("seed", range(3))
def test_shared_lengths_are_exact_whatever_grid_the_cells_carry(seed):
    """The cells carry the 1 cm grid of set_precision; the shared lengths are those of the
    exact overlay (the same as of the plain cells), not rounded to that grid."""
    rng = np.random.default_rng(seed)
    points = rng.random((150, 2)) * 300
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points)))
    gridded = shapely.set_precision(shapely.intersection(cells, shapely.box(0, 0, 300, 300)), 0.01)
    plain = shapely.from_wkb(shapely.to_wkb(gridded))  # same coordinates, no grid attached

    i, j, length = shared_edges(gridded)

    a, b, expected = shared_edges(plain)
    assert (i.tolist(), j.tolist()) == (a.tolist(), b.tolist())
    assert length.tolist() == expected.tolist()
    grown = shapely.buffer(plain[j], 0.05, quad_segs=1)
    exact = shapely.length(shapely.intersection(shapely.boundary(plain[i]), grown))
    assert length.tolist() == exact.tolist()
    assert shapely.get_precision(gridded).tolist() == [0.01] * len(gridded)  # left as they were
