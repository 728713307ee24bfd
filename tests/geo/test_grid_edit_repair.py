"""repair_layer's gap filling on a piece of a Xuanwu layer: a 1.5 m² gap whose edge runs within
5 cm of 第1网格 for 4.1 m but meets it at one corner only, and shares a 4.0 m edge with 第3网格.
Given to the grid with most edge, it left 第1网格 in two pieces after 修复 (an error)."""

from __future__ import annotations

import numpy as np
import shapely

from geo.grids.edit.repair import _join, _neighbours_by_edge

GAP = (
    "POLYGON ((118.78866667325678 32.04878088873222, 118.7886801985538 32.048775047779486, "
    "118.78866231508253 32.04877617662132, 118.78864634382929 32.04877721381414, "
    "118.78863929829733 32.04878135950399, 118.78866667325678 32.04878088873222))"
)
GRID_1 = (  # clipped to a window around the gap
    "POLYGON ((118.78872455440155 32.04876753445785, 118.78869754945467 32.04876755472469, "
    "118.78866667325678 32.04878088873222, 118.78863745371603 32.04878139122557, "
    "118.78860868797372 32.048794334647944, 118.78862773499216 32.04878576425883, "
    "118.7885893187182 32.04878911780874, 118.7885893187182 32.04883135211207, "
    "118.78873016693272 32.04883135211207, 118.78873016693272 32.048765187452126, "
    "118.78872455440155 32.04876753445785))"
)
GRID_3 = (
    "POLYGON ((118.78862773499216 32.04878576425883, 118.78863745371603 32.04878139122557, "
    "118.78863929829733 32.04878135950399, 118.78864634382929 32.04877721381414, "
    "118.78866231508253 32.04877617662132, 118.78868019855382 32.048775047779486, "
    "118.78869754945467 32.04876755472469, 118.78870249423645 32.048767551013704, "
    "118.78870700233078 32.048765082939084, 118.78873016693272 32.048764132464555, "
    "118.78873016693272 32.04872514709272, 118.7885893187182 32.04872514709272, "
    "118.7885893187182 32.04878911780874, 118.78862773499216 32.04878576425883))"
)


def test_a_gap_meeting_the_grid_with_most_edge_at_a_corner_goes_to_one_it_joins():
    gap = shapely.from_wkt(GAP)
    grids = np.array([shapely.from_wkt(GRID_1), shapely.from_wkt(GRID_3)], dtype=object)
    assert _neighbours_by_edge(gap, grids, [0, 1], "EPSG:32650") == [0, 1]  # the trap
    assert shapely.union(grids[0], gap).geom_type == "MultiPolygon"
    before = grids.copy()
    home = _join(gap, grids, [0, 1], "EPSG:32650")
    assert home == 1
    assert grids[1].geom_type == "Polygon" and grids[1].contains(gap.representative_point())
    assert grids[0] is before[0]
