"""Reverse geocoding without a database: the nearest place within a tolerance."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo.coords import from_wgs84
from geo.errors import InputError
from geo.geocode.reverse import nearest_place

BASE = gpd.GeoDataFrame(
    {"id": ["B1", "B2"]},
    geometry=[box(118.8, 32.0, 118.8005, 32.0005), Point(118.81, 32.0)],
    crs=4326,
)


def test_inside_a_footprint_is_distance_zero():
    found = nearest_place(BASE, 118.8002, 32.0002)
    assert found.label == 0 and found.distance_m == 0


def test_gcj02_input_is_converted_first():
    lon, lat = from_wgs84(118.81, 32.00003, crs="gcj02")
    found = nearest_place(BASE, float(lon), float(lat), crs="gcj02")
    assert found.label == 1 and found.distance_m == pytest.approx(3.3, abs=0.2)


def test_nothing_within_the_tolerance_or_empty_base():
    assert nearest_place(BASE, 118.9, 32.0) is None
    assert nearest_place(BASE.iloc[:0], 118.8, 32.0) is None


def test_bad_input_is_an_input_error():
    with pytest.raises(InputError, match="out of range"):
        nearest_place(BASE, 118.8, 95)
    with pytest.raises(InputError, match="expected one of"):
        nearest_place(BASE, 118.8, 32.0, crs="mars")
