"""What people read for buildings and sample-case spots: names and addresses, never ids."""

from __future__ import annotations

import math

import pytest
import shapely

from api.demo.places import side
from api.storage.map_data import building_title


@pytest.mark.parametrize(
    ("name", "address", "kind", "households", "title"),
    [
        ("长发中心A座", "中山东路300号", "commercial", 0, "长发中心A座"),
        (None, "中山东路300号", "apartments", 120, "中山东路300号"),
        (math.nan, math.nan, "apartments", 40, "未命名楼栋（住宅）"),  # NaN as frames hold it
        (None, "", "school", 0, "未命名楼栋（学校）"),
        (None, None, "yes", 36, "未命名楼栋（住宅）"),  # households: judged residential
        (None, None, "yes", 0, "未命名楼栋"),
        (None, None, None, 0, "未命名楼栋"),
    ],
)
def test_building_title(name, address, kind, households, title):
    assert building_title(name, address, kind, households) == title


@pytest.mark.parametrize(
    ("dx", "dy", "word"), [(10, 0, "东"), (7, 7, "东北"), (0, -5, "南"), (-3, -3, "西南")]
)
def test_side_of_a_landmark(dx, dy, word):
    assert side(shapely.Point(0, 0), shapely.Point(dx, dy)) == word
