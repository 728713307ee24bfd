"""Named places and district boundary pieces read from the Xuanwu extract (geo.osm_places)."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.errors import InputError
from geo.osm_places import read_boundary, read_places

XUANWU = Path(__file__).resolve().parents[2] / "data/nanjing_xuanwu/nanjing_xuanwu_2021-06-12.osm"


def test_places_hold_stops_roads_and_areas_by_name():
    places = read_places(XUANWU).set_index("osm_id")
    assert places.loc["osm-node-8040230684", "name"] == "大行宫"  # a metro stop position
    assert places.loc["osm-way-27811151", "kind"] == "highway=secondary"  # 北门桥, a road
    assert places.loc["osm-way-27811151"].geometry.geom_type == "LineString"
    market = places.loc["osm-way-322654943"]  # 香铺营集贸市场, a closed way: a point inside
    assert market.geometry.geom_type == "Point"
    assert places.crs.to_epsg() == 4326


def test_boundary_pieces_and_label_of_xuanwu():
    found = read_boundary(XUANWU, name="玄武区")
    assert (round(found.label.x, 4), round(found.label.y, 4)) == (118.7928, 32.0508)
    assert found.lines.length > 0.09  # 中山路 north, 中山东路 east: about 10 km of boundary
    none = read_boundary(XUANWU, name="不存在区")
    assert none.lines.is_empty and none.label is None


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_places(tmp_path / "none.osm")
