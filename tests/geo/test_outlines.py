"""Outlines of nested cell sets: the cells each polygon holds, nesting, holes, several grids."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.outlines import nested_outlines

K = 3  # levels
CELL = 10.0


def centres(shape, origin=(0.0, 0.0)):
    rows, cols = np.indices(shape)
    return origin[0] + (cols + 0.5) * CELL, origin[1] + (rows + 0.5) * CELL


def outline(rank, **options):
    options = {"cell": CELL, "levels": K, "hole_cells": 0.0} | options
    return nested_outlines([rank], np.zeros((1, 2)), **options)[0]


def test_one_cell_is_the_diamond_through_its_face_middles():
    rank = np.full((5, 5), K)
    rank[2, 2] = 0
    polys = outline(rank, gap=0.0)
    assert all(p.equals(polys[0]) for p in polys)
    assert polys[0].area == pytest.approx(0.5 * CELL * CELL)
    assert len(shapely.get_coordinates(polys[0])) == 5  # four corners, closed


def test_random_grids_hold_exactly_their_cells():
    """Each polygon holds the centres of the cells of its level and no other (all holes kept)."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        rank = rng.integers(0, K + 1, size=(30, 40))
        rank[rng.random(rank.shape) < 0.5] = K  # plenty of holes, islands and diagonal pairs
        polys = outline(rank)
        x, y = centres(rank.shape)
        inner = np.ones(rank.shape, bool)
        inner[[0, -1], :] = inner[:, [0, -1]] = False  # the border counts as outside
        for level, poly in enumerate(polys):
            assert shapely.is_valid(poly)
            inside = shapely.contains_xy(poly, x, y)
            assert (inside == ((rank <= level) & inner)).all(), level


def test_nested_with_room_where_outlines_share_a_face():
    rank = np.full((12, 12), K)
    rank[2:10, 2:10] = 2
    rank[2:10, 2:6] = 1
    rank[2:10, 2:4] = 0  # the three levels share the west, north and south faces
    polys = outline(rank, gap=0.005)
    for short, long in zip(polys[:-1], polys[1:], strict=False):
        assert long.contains(short)
        # the gap, across a cut corner over the square root of two
        assert long.exterior.distance(short.exterior) == pytest.approx(0.005 * CELL / 2**0.5)
    degrees = shapely.transform(polys, lambda xy: xy * 1e-5)  # about a metre to 1e-5 degree
    rounded = shapely.transform(degrees, lambda xy: np.round(xy, 7))
    assert rounded[1].covers(rounded[0]) and rounded[2].covers(rounded[1])


def test_an_island_in_a_filled_hole_goes_with_it():
    rank = np.full((9, 9), K)
    rank[1:8, 1:8] = 0
    rank[3:6, 3:6] = K
    rank[4, 4] = 0  # an island in a hole of 8 cells
    poly = outline(rank, hole_cells=10.0)[0]
    assert shapely.is_valid(poly) and poly.geom_type == "Polygon" and not poly.interiors
    kept = outline(rank, hole_cells=1.0)[0]
    assert shapely.is_valid(kept) and len(shapely.get_parts(kept)) == 2


def test_diagonal_cells_stay_apart_and_small_holes_are_filled():
    rank = np.full((14, 14), K)
    rank[2, 2] = rank[3, 3] = 0  # touching at a corner only
    rank[6:13, 6:13] = 0
    rank[8, 8] = K  # a one-cell hole
    rank[10:12, 10:12] = K  # a four-cell hole
    poly = outline(rank, hole_cells=3.0)[0]
    parts = shapely.get_parts(poly)
    assert len(parts) == 3  # two single cells and the block
    block = max(parts, key=lambda p: p.area)
    assert len(block.interiors) == 1  # the four-cell hole (3.5 cells of area) is kept
    assert block.contains(shapely.Point(8.5 * CELL, 8.5 * CELL))
    assert not block.contains(shapely.Point(10.5 * CELL, 10.5 * CELL))


def test_several_grids_at_once_match_one_at_a_time():
    rng = np.random.default_rng(5)
    grids = [rng.integers(0, K + 1, size=shape) for shape in ((20, 30), (35, 12), (8, 8))]
    origins = np.array([[0.0, 0.0], [1000.0, -500.0], [-300.0, 250.0]])
    together = nested_outlines(grids, origins, cell=CELL, levels=K)
    for k, grid in enumerate(grids):
        alone = nested_outlines([grid], origins[k : k + 1], cell=CELL, levels=K)[0]
        for a, b in zip(together[k], alone, strict=True):
            assert shapely.is_valid(a) and a.equals(b)
        x, y = centres(grid.shape, origins[k])
        assert shapely.contains_xy(together[k][-1], x, y).sum() > 0


def test_a_level_with_no_cell_is_empty():
    rank = np.full((6, 6), K)
    rank[2:4, 2:4] = 2
    polys = outline(rank)
    assert polys[0].is_empty and polys[1].is_empty and not polys[2].is_empty
    assert nested_outlines([], np.zeros((0, 2)), cell=CELL, levels=K).shape == (0, K)


def test_values_put_the_outline_where_the_value_crosses_the_threshold():
    """A value rising 1 per unit eastwards: each outline's east side stands at its threshold
    (less the gaps of the levels after it), not halfway between centres."""
    x, _ = centres((6, 12))
    thresholds = (27.0, 47.0, 83.0)
    gap = 0.005
    polys = nested_outlines(
        [x.astype(np.float32)],
        np.zeros((1, 2)),
        cell=CELL,
        thresholds=thresholds,
        clip=CELL,
        gap=gap,
        hole_cells=0.0,
    )[0]
    for j, (poly, limit) in enumerate(zip(polys, thresholds, strict=True)):
        pulled = gap * CELL * (len(thresholds) - 1 - j)
        assert poly.bounds[2] == pytest.approx(limit - pulled, abs=1e-4)
        # the border cell is outside (infinite, clipped): halfway to it
        assert poly.bounds[0] == pytest.approx(CELL + pulled)


def test_random_values_hold_exactly_their_cells_nested_and_valid():
    rng = np.random.default_rng(7)
    thresholds = (3.0, 6.0, 9.0)
    for _ in range(20):
        values = rng.uniform(0, 12, size=(30, 40)).astype(np.float32)
        values[rng.random(values.shape) < 0.2] = np.inf  # unreached cells
        polys = nested_outlines(
            [values], np.zeros((1, 2)), cell=CELL, thresholds=thresholds, clip=2.0, hole_cells=0
        )[0]
        x, y = centres(values.shape)
        inner = np.ones(values.shape, bool)
        inner[[0, -1], :] = inner[:, [0, -1]] = False
        for level, poly in enumerate(polys):
            assert shapely.is_valid(poly)
            inside = shapely.contains_xy(poly, x, y)
            assert (inside == ((values <= thresholds[level]) & inner)).all(), level
        assert polys[1].contains(polys[0]) and polys[2].contains(polys[1])
