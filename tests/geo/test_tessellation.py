"""Cells of the tessellation where an enclosure's corner lies a hair off the line between two
buildings' land (issue 19, E19c): they still meet edge to edge, each in one piece."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.grids.tessellation import building_cells, tessellate


@pytest.mark.parametrize("miss_m", [0.00005, 0.001, 0.004])
def test_a_corner_missed_by_a_hair_is_shared_by_both_cells(miss_m):
    # a slit into the block ends miss_m left of x = 50, the line between the two buildings
    slit = shapely.Polygon([(30, 0), (50 - miss_m, 30), (30.01, 0)])
    block = shapely.difference(shapely.box(0, 0, 100, 100), slit)
    feet = np.array([shapely.box(20, 60, 24, 64), shapely.box(76, 60, 80, 64)], dtype=object)
    cells = tessellate(feet, block)[0]
    assert shapely.is_valid(cells).all()
    assert (shapely.get_type_id(cells) == 3).all()  # one polygon each
    assert shapely.area(shapely.intersection(cells[0], cells[1])) < 1e-6
    shared = shapely.intersection(shapely.boundary(cells[0]), shapely.boundary(cells[1]))
    assert shapely.length(shared) == pytest.approx(100.0)  # the whole line x = 50
    off = shapely.symmetric_difference(shapely.union_all(cells), block)
    assert shapely.difference(off, shapely.buffer(shapely.boundary(block), 0.01)).is_empty
    # a move's land cell is the same
    assert shapely.equals(building_cells(feet, block, np.array([0, 1])), cells).all()
