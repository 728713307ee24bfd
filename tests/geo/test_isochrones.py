"""Isochrones: the places reached in time (exact walking times), nested, circle fallback."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from geo.errors import InputError
from geo.isochrones import isochrones, parse_minutes
from geo.network import walk_network, walking_minutes

UTM = 32650
X0, Y0 = 670_000.0, 3_540_000.0
STREETS = [LineString([(X0, Y0 + k * 100), (X0 + 1000, Y0 + k * 100)]) for k in range(11)] + [
    LineString([(X0 + k * 100, Y0), (X0 + k * 100, Y0 + 1000)]) for k in range(11)
]


def points(xy, ids=None) -> gpd.GeoDataFrame:
    ids = ids or [f"s{k}" for k in range(len(xy))]
    geoms = [Point(X0 + x, Y0 + y) for x, y in xy]
    return gpd.GeoDataFrame({"id": ids}, geometry=geoms, crs=UTM).to_crs(4326)


@pytest.fixture(scope="module")
def net():
    frame = gpd.GeoDataFrame(geometry=STREETS, crs=UTM).to_crs(4326)
    return walk_network(frame, max_snap_m=150.0)


@pytest.fixture(scope="module")
def iso(net):
    return isochrones(net, points([(520, 540), (3000, 500)], ["inside", "far"]))


def test_one_row_per_point_and_minute(iso):
    assert iso.crs.to_epsg() == 4326
    assert iso["id"].tolist() == ["inside"] * 3 + ["far"] * 3
    assert iso["minutes"].tolist() == [5, 10, 15] * 2
    assert iso["method"].tolist() == ["network"] * 3 + ["buffer"] * 3
    assert iso.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert iso["snap_m"].iloc[0] == pytest.approx(20.0, abs=0.01)


def test_nested(iso):
    for point in ("inside", "far"):
        polys = iso[iso["id"] == point].geometry.to_numpy()
        assert polys[1].covers(polys[0]) and polys[2].covers(polys[1])
        assert polys[0].area < polys[1].area < polys[2].area


def test_holds_to_the_walking_times(net, iso):
    """Against the exact walking time of 4,000 scattered places (snap walk counted)."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(-200, 1200, size=(4000, 2))
    spots = shapely.points(X0 + xy[:, 0], Y0 + xy[:, 1])
    frame = gpd.GeoDataFrame(geometry=spots, crs=UTM).to_crs(4326)
    truth = walking_minutes(net, points([(520, 540)]), frame, max_minutes=15)
    got = iso[iso["id"] == "inside"].to_crs(UTM).geometry.to_numpy()
    for minutes, poly in zip((5, 10, 15), got, strict=True):
        reached = truth <= minutes
        inside = shapely.contains_xy(poly, X0 + xy[:, 0], Y0 + xy[:, 1])
        assert (reached & inside).sum() / reached.sum() >= 0.97, minutes
        assert (inside & ~reached).sum() / inside.sum() <= 0.05, minutes
    # 5 minutes = 375 m: the diamond of the grid, not the circle of 375 m
    circle = Point(X0 + 520, Y0 + 540).buffer(375)
    assert got[0].area < 0.7 * circle.area


def test_off_network_point_gets_a_plain_circle(iso):
    far = iso[iso["id"] == "far"].to_crs(UTM)
    for minutes, poly in zip(far["minutes"], far.geometry, strict=True):
        radius = minutes * 75.0
        assert poly.area == pytest.approx(np.pi * radius**2, rel=0.01)
        assert poly.centroid.distance(Point(X0 + 3000, Y0 + 500)) < 1.0
    assert far["snap_m"].isna().all()


def test_speed_scales_the_reach(net):
    slow = isochrones(net, points([(500, 500)]), minutes=(10,), speed_kmh=3.0).to_crs(UTM)
    fast = isochrones(net, points([(500, 500)]), minutes=(10,), speed_kmh=4.5).to_crs(UTM)
    assert fast.geometry.iloc[0].buffer(10).covers(slow.geometry.iloc[0])  # one raster cell
    assert slow.area.iloc[0] < 0.7 * fast.area.iloc[0]


def test_bad_input(net):
    good = points([(500, 500)])
    with pytest.raises(InputError, match="minutes"):
        isochrones(net, good, minutes=(0, 5))
    with pytest.raises(InputError, match="no 'id' column"):
        isochrones(net, good.drop(columns="id"))
    with pytest.raises(InputError, match="speed"):
        isochrones(net, good, speed_kmh=-1)
    with pytest.raises(InputError, match="without geometry"):
        isochrones(net, good.assign(geometry=None))
    empty = isochrones(net, good.iloc[:0])
    assert len(empty) == 0 and list(empty.columns) == [
        "id",
        "minutes",
        "method",
        "snap_m",
        "geometry",
    ]


def test_parse_minutes():
    assert parse_minutes("15, 5,10") == (5.0, 10.0, 15.0)
    for bad in ("", "5,x", "-5", "500"):
        with pytest.raises(InputError):
            parse_minutes(bad)
