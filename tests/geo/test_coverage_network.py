"""Coverage on a small hand-built network, every number worked out by hand.

One straight street 2,000 m long (UTM 50N, x = 0 … 2000, y = 0), walked at 6 km/h = 100 m/min.
A canteen (food) stands on the street at x = 0, a clinic (health) at x = 2000. Buildings stand
10 m north of the street, so each walk is 10 m of snap plus the distance along the street.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from geo.coverage import (
    ANY,
    coverage_table,
    greedy_max_cover,
    minutes_by_function,
    near_enough,
    uncovered,
)
from geo.network import reach_matrix, walk_network

UTM = "EPSG:32650"
X0, Y0 = 660_000.0, 3_540_000.0
SPEED = 6.0


def frame(geoms, **columns) -> gpd.GeoDataFrame:
    moved = [
        LineString([(X0 + x, Y0 + y) for x, y in g.coords])
        if g.geom_type == "LineString"
        else Point(X0 + g.x, Y0 + g.y)
        for g in geoms
    ]
    return gpd.GeoDataFrame(columns, geometry=moved, crs=UTM).to_crs(4326)


@pytest.fixture(scope="module")
def net():
    streets = frame([LineString([(0, 0), (2000, 0)])], road_id=["r1"], **{"class": ["residential"]})
    return walk_network(streets)


@pytest.fixture(scope="module")
def stations():
    return frame(
        [Point(0, 0), Point(2000, 0)],
        station_id=["canteen", "clinic"],
        functions=[["food"], ["health"]],
    )


@pytest.fixture(scope="module")
def buildings():
    xs = [300, 800, 1400, 1600]
    return frame(
        [Point(x, 10) for x in xs],
        building_id=[f"b{x}" for x in xs],
        households=[100, 50, 30, 20],
        community_code=["A", "A", "B", "B"],
    )


def test_minutes_by_hand(net, stations, buildings):
    m = minutes_by_function(
        net, stations, buildings, functions=["food", "health"], speed_kmh=SPEED, max_minutes=15
    )
    # food from x=0: 310, 810, 1410 m; 1610 m is beyond 15 min
    assert m["food"].tolist()[:3] == pytest.approx([3.1, 8.1, 14.1], abs=1e-6)
    assert np.isinf(m["food"].iloc[3])
    # health from x=2000: 1710 m (out), 1210, 610, 410
    assert np.isinf(m["health"].iloc[0])
    assert m["health"].tolist()[1:] == pytest.approx([12.1, 6.1, 4.1], abs=1e-6)
    assert m[ANY].tolist() == pytest.approx([3.1, 8.1, 6.1, 4.1], abs=1e-6)
    assert np.isinf(m["all"]).all()  # only two of the six functions exist


def test_shares_by_hand(net, stations, buildings):
    m = minutes_by_function(
        net, stations, buildings, functions=["food", "health"], speed_kmh=SPEED, max_minutes=15
    )
    table = coverage_table(buildings, m, by=["community_code"]).set_index(
        ["level", "code", "function", "minutes"]
    )
    # food within 5 min: only b300 (100 of 200 households); within 10: +b800; within 15: +b1400
    assert table.loc[("total", None, "food", 5.0), "covered"] == 100
    assert table.loc[("total", None, "food", 10.0), "covered"] == 150
    assert table.loc[("total", None, "food", 15.0), "share"] == pytest.approx(180 / 200)
    # community B (b1400, b1600: 50 households): health within 5 min only b1600
    assert table.loc[("community_code", "B", "health", 5.0), "covered"] == 20
    assert table.loc[("community_code", "B", "health", 10.0), "covered"] == 50
    # any station within 5 min: b300 (3.1) and b1600 (4.1)
    assert table.loc[("total", None, ANY, 5.0), "covered"] == 120
    assert uncovered(m, function="food", within=10).tolist() == [False, False, True, True]


def test_greedy_site_on_the_network(net, buildings):
    # demand: the buildings without food within 10 minutes (b1400: 30, b1600: 20 households)
    demand = buildings.iloc[2:]
    candidates = frame([Point(x, 0) for x in (500, 1000, 1500, 5000)], id=["c1", "c2", "c3", "c4"])
    near = near_enough(candidates, demand, minutes=10, speed_kmh=SPEED)
    assert near.tolist() == [True, True, True, False]  # c4 lies 3.4 km away
    cover = reach_matrix(net, candidates[near], demand, speed_kmh=SPEED, max_minutes=10)
    # c1 (x=500): 910 m to b1400 → 9.1 min, 1110 m to b1600 → out
    # c2 (x=1000): 410 m and 610 m; c3: 110 m and 110 m
    choice = greedy_max_cover(cover, demand["households"].to_numpy(), k=1)
    assert choice.covered == 50
    assert choice.chosen[0] in (1, 2)
    assert choice.upper_bound == 50
