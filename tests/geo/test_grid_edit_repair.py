"""repair_layer cases that left errors after 修复: a gap of a Xuanwu layer whose edge runs within
5 cm of 第1网格 for 4.1 m but meets it at one corner only (given to the grid with most edge, it
left 第1网格 in two pieces); a grid left with no building and no micro-grid."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import affinity

from geo.grids.edit import repair_layer, validate_layer
from geo.grids.edit.repair import _join, _neighbours_by_edge
from tests.geo.demo_scene import demo_city, scene

HEHUA = "990101001002"  # 荷花社区

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


@pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS")
def test_a_grid_left_without_buildings_by_repair_keeps_one_micro_grid():
    """荷花社区: 第3网格 shifted over 第5网格; the overlap stays with 第3网格, so 第5网格 holds no
    building and was given no micro-grid (an error: 第5网格没有微网格)."""
    area, buildings, layer = scene([HEHUA])
    row = layer.index[layer["code"] == HEHUA + "003"][0]
    layer.loc[row, "geometry"] = affinity.translate(layer.at[row, "geometry"], -5.4e-5, -3.77e-4)
    repaired = repair_layer(layer, buildings, area, roads=demo_city().roads).grids
    problems = validate_layer(repaired, buildings, area)
    assert list(problems.loc[problems["severity"] == "error", "message"]) == []
    empty = repaired[repaired["code"] == HEHUA + "005"]
    assert int(empty["households"].iloc[0]) == 0  # the case is still the one it was
    (micro,) = repaired.loc[repaired["parent_code"] == HEHUA + "005", "code"]
    assert micro == HEHUA + "005001"
