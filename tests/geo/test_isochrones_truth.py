"""Service circles against walking times worked out by hand on a street grid.

A 1 km grid of streets 100 m apart, plus a back lane 80 m north of the top street that joins the
grid only at its east end. The station stands 20 m east of the street x = 500. Each building's
walk: along the streets to the point where it joins its nearest street, then straight to it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from geo.isochrones import isochrones
from geo.network import reach_matrix, walk_network
from tests.geo.test_isochrones import UTM, X0, Y0
from tests.geo.test_isochrones import points as frame

PER_MIN = 75.0  # metres per minute at 4.5 km/h
GRID = [LineString([(0, k * 100), (1000, k * 100)]) for k in range(11)] + [
    LineString([(k * 100, 0), (k * 100, 1000)]) for k in range(11)
]
LANE = [LineString([(0, 1080), (1000, 1080)]), LineString([(1000, 1000), (1000, 1080)])]
STATION = (520, 540)  # joins x = 500 at y = 540, 20 m walk

# building: (x, y), walking metres worked out by hand (None: not reachable)
BUILDINGS = {
    "same_edge": ((480, 560), 20 + 20 + 20),  # on the station's own street piece
    "north": ((530, 720), 20 + 160 + 30 + 20),  # joins y = 700 at x = 530
    "block": ((560, 650), 20 + 60 + 100 + 50 + 40),  # joins x = 600 at y = 650
    "just_in": ((505, 870), 20 + 330 + 5),  # 4.73 min
    "just_out": ((503, 910), 20 + 370 + 3),  # 5.24 min
    "far_corner": ((850, 140), 20 + 440 + 350 + 40),  # joins y = 100 at x = 850
    # 45 m from the top street (reached in 9 min) but nearer the back lane (35 m), which is
    # 20 + 460 + 500 + 80 + 700 + 35 = 1,795 m away: not within 15 minutes
    "behind_lane": ((300, 1045), None),
    "off_network": ((1300, 500), None),  # 300 m from any street
}


@pytest.fixture(scope="module")
def net():
    lines = [shapely.affinity.translate(line, X0, Y0) for line in GRID + LANE]
    return walk_network(gpd.GeoDataFrame(geometry=lines, crs=UTM).to_crs(4326), max_snap_m=150.0)


@pytest.fixture(scope="module")
def buildings():
    names = list(BUILDINGS)
    return frame([BUILDINGS[n][0] for n in names], names)


@pytest.fixture(scope="module")
def circles(net):
    return isochrones(net, frame([STATION], ["station"])).to_crs(UTM)


def hand_minutes() -> np.ndarray:
    metres = [BUILDINGS[n][1] for n in BUILDINGS]
    return np.array([np.inf if m is None else m / PER_MIN for m in metres])


def test_reference_gives_the_walk_worked_out_by_hand(net, buildings):
    matrix = reach_matrix(net, frame([STATION]), buildings, max_minutes=15).toarray()
    got = np.where(matrix[0] > 0, matrix[0], np.inf)  # pairs out of reach are not stored
    np.testing.assert_allclose(got, hand_minutes(), rtol=1e-6)


def test_each_band_holds_exactly_the_buildings_in_reach(circles, buildings):
    pts = buildings.to_crs(UTM).geometry.to_numpy()
    truth = hand_minutes()
    for minutes, poly in zip(circles["minutes"], circles.geometry, strict=True):
        inside = shapely.contains(poly, pts)
        expected = truth <= minutes
        assert inside.tolist() == expected.tolist(), (minutes, list(BUILDINGS))
    # the back-lane building is 45 m from a street reached in 9 minutes, yet outside at 15
    assert not circles.geometry.iloc[2].contains(Point(X0 + 300, Y0 + 1045))


def test_scattered_places_against_the_reference(net, circles):
    rng = np.random.default_rng(11)
    xy = rng.uniform(-150, 1250, size=(5000, 2))
    truth = reach_matrix(net, frame([STATION]), frame(list(map(tuple, xy))), max_minutes=15)
    minutes = np.full(len(xy), np.inf)
    coo = truth.tocoo()
    minutes[coo.col] = coo.data
    for m, poly in zip(circles["minutes"], circles.geometry, strict=True):
        reached = minutes <= m
        inside = shapely.contains_xy(poly, X0 + xy[:, 0], Y0 + xy[:, 1])
        assert (reached & inside).sum() >= 0.97 * reached.sum(), m
        assert (inside & ~reached).sum() <= 0.05 * inside.sum(), m


def test_nested_valid_and_light_enough_to_draw(circles):
    polys = circles.geometry.to_numpy()
    assert shapely.is_valid(polys).all()
    assert polys[1].covers(polys[0]) and polys[2].covers(polys[1])
    assert polys[0].area < polys[1].area < polys[2].area
    # outlines are not simplified (simplifying would undo the nesting by construction): at
    # most one and a half points per cell of outline, and a few hundred points here
    for poly in polys:
        assert len(shapely.get_coordinates(poly)) <= 1.5 * poly.length / 10
    assert max(len(shapely.get_coordinates(p)) for p in polys) < 1000


def test_width_caps_the_straight_walk(net, buildings):
    narrow = isochrones(net, frame([STATION], ["station"]), minutes=(15,), width_m=30.0)
    poly = narrow.to_crs(UTM).geometry.iloc[0]
    inside = dict(
        zip(BUILDINGS, shapely.contains(poly, buildings.to_crs(UTM).geometry), strict=True)
    )
    assert inside["north"] and not inside["block"] and not inside["far_corner"]
