"""WGS-84 / GCJ-02 / BD-09 conversions: reference values, round trips, outside China, frames."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geo.coords import (
    CHINA_BBOX,
    TOLERANCE,
    convert,
    convert_frame,
    from_wgs84,
    in_china,
    to_wgs84,
)
from geo.errors import CRSMismatchError, InputError

GEOD = Geod(ellps="WGS84")
DATUMS = ("wgs84", "gcj02", "bd09")
PAIRS = [(a, b) for a in DATUMS for b in DATUMS if a != b]

# China's mainland and islands lie within 73.5–135.1 E, 18–53.6 N (Hainan's south coast to Mohe)
china_lon = st.floats(73.5, 135.1)
china_lat = st.floats(18.0, 53.6)


def metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# ---------------------------------------------------------------------------- reference values


# Published outputs of the public formulas (wandergis/coordtransform, test/app.js), input
# (116.404, 39.915) in every case; the forward transforms are closed-form and must agree to
# rounding.
def test_published_forward_values():
    assert convert(116.404, 39.915, src="wgs84", dst="gcj02") == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-12
    )
    assert convert(116.404, 39.915, src="gcj02", dst="bd09") == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-12
    )


def test_published_bd09_inverse_agrees_with_the_closed_form_approximation():
    # that source inverts BD-09 in closed form, good to a few 1e-7 degrees; ours iterates
    got = convert(116.404, 39.915, src="bd09", dst="gcj02")
    assert got == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-6)
    assert convert(*got, src="gcj02", dst="bd09") == pytest.approx((116.404, 39.915), abs=1e-7)


def test_beijing_railway_station_gcj02_and_bd09():
    # a published pair, rounded to 5 decimals: GCJ-02 (116.42703, 39.90245), BD-09 (116.43351,
    # 39.90851)
    assert convert(116.42703, 39.90245, src="gcj02", dst="bd09") == pytest.approx(
        (116.43351, 39.90851), abs=1e-5
    )
    assert convert(116.43351, 39.90851, src="bd09", dst="gcj02") == pytest.approx(
        (116.42703, 39.90245), abs=1e-5
    )


@pytest.mark.parametrize(
    ("city", "lon", "lat"), [("Beijing", 116.3975, 39.9087), ("Nanjing", 118.7969, 32.0603)]
)
def test_offset_sizes_in_beijing_and_nanjing(city, lon, lat):
    gcj = from_wgs84(lon, lat, crs="gcj02")
    bd = from_wgs84(lon, lat, crs="bd09")
    assert 100 < metres(lon, lat, *gcj) < 700, city
    assert 300 < metres(*gcj, *bd) < 1200, city  # BD-09 is a further offset of ~1 km
    assert convert(*gcj, src="gcj02", dst="bd09") == pytest.approx(bd, abs=1e-12)


# ---------------------------------------------------------------------------- round trips


@settings(max_examples=300, deadline=None)
@given(lon=china_lon, lat=china_lat, src=st.sampled_from(DATUMS), dst=st.sampled_from(DATUMS))
def test_round_trip_inside_china_under_half_a_metre(lon, lat, src, dst):
    there = convert(lon, lat, src=src, dst=dst)
    back = convert(*there, src=dst, dst=src)
    assert metres(lon, lat, *back) < 0.5


@settings(max_examples=200, deadline=None)
@given(lon=china_lon, lat=china_lat, crs=st.sampled_from(["gcj02", "bd09"]))
def test_inverse_matches_the_forward_transform(lon, lat, crs):
    wgs = to_wgs84(lon, lat, crs=crs)
    again = from_wgs84(*wgs, crs=crs)
    assert abs(again[0] - lon) <= TOLERANCE and abs(again[1] - lat) <= TOLERANCE


def test_round_trips_at_many_random_points_vectorised():
    rng = np.random.default_rng(0)
    n = 200_000
    lon = rng.uniform(73.5, 135.1, n)
    lat = rng.uniform(18.0, 53.6, n)
    for crs in ("gcj02", "bd09"):
        back = to_wgs84(*from_wgs84(lon, lat, crs=crs), crs=crs)
        assert metres(lon, lat, *back).max() < 0.5, crs
        there = from_wgs84(*to_wgs84(lon, lat, crs=crs), crs=crs)
        assert np.abs(there[0] - lon).max() <= TOLERANCE
        assert np.abs(there[1] - lat).max() <= TOLERANCE


# ---------------------------------------------------------------------------- outside China


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(2.3522, 48.8566), (-74.006, 40.7128), (151.2093, -33.8688), (139.0, 35.68), (70.0, 30.0)],
)
def test_gcj02_is_the_identity_outside_china(lon, lat):
    assert not in_china(lon, lat)
    assert from_wgs84(lon, lat, crs="gcj02") == (lon, lat)
    assert to_wgs84(lon, lat, crs="gcj02") == (lon, lat)


def test_bd09_still_rotates_and_shifts_outside_china():
    lon, lat = 2.3522, 48.8566
    bd = from_wgs84(lon, lat, crs="bd09")
    assert bd == convert(lon, lat, src="gcj02", dst="bd09")
    assert 300 < metres(lon, lat, *bd) < 1500
    assert to_wgs84(*bd, crs="bd09") == pytest.approx((lon, lat), abs=1e-7)


def test_box_edges():
    lon_min, lat_min, lon_max, lat_max = CHINA_BBOX
    assert in_china(lon_min, lat_min) and in_china(lon_max, lat_max)
    assert not in_china(lon_min - 1e-6, 30.0) and not in_china(100.0, lat_max + 1e-6)
    assert in_china([100.0, 10.0], [30.0, 30.0]).tolist() == [True, False]


# ---------------------------------------------------------------------------- shapes


def test_scalars_give_floats_and_arrays_give_arrays():
    lon, lat = convert(118.79, 32.05, src="wgs84", dst="gcj02")
    assert type(lon) is float and type(lat) is float
    lons, lats = convert([118.79, 2.35], [32.05, 48.86], src="wgs84", dst="gcj02")
    assert isinstance(lons, np.ndarray) and lons.shape == (2,)
    assert (lons[0], lats[0]) == (lon, lat)
    assert (lons[1], lats[1]) == (2.35, 48.86)


def test_broadcast_and_two_dimensional_arrays():
    lon = np.array([[118.79, 116.40], [2.35, 121.47]])
    lat = np.array([[32.05, 39.90], [48.86, 31.23]])
    out_lon, out_lat = convert(lon, lat, src="bd09", dst="wgs84")
    assert out_lon.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            assert (out_lon[i, j], out_lat[i, j]) == pytest.approx(
                convert(lon[i, j], lat[i, j], src="bd09", dst="wgs84"), abs=1e-12
            )
    row_lon, row_lat = convert([118.79, 118.80], 32.05, src="wgs84", dst="gcj02")
    assert row_lat.shape == (2,)


def test_input_arrays_are_not_modified_and_empty_input_works():
    lon = np.array([118.79, 116.40])
    lat = np.array([32.05, 39.90])
    convert(lon, lat, src="bd09", dst="wgs84")
    assert lon.tolist() == [118.79, 116.40] and lat.tolist() == [32.05, 39.90]
    empty = convert([], [], src="gcj02", dst="wgs84")
    assert empty[0].shape == (0,) and empty[1].shape == (0,)


@pytest.mark.parametrize("src", DATUMS)
def test_same_datum_is_a_copy(src):
    lon = np.array([118.79])
    out, _ = convert(lon, [32.05], src=src, dst=src)
    assert out.tolist() == [118.79] and out is not lon


def test_datum_names_ignore_case_and_separators():
    assert convert(118.79, 32.05, src="WGS-84", dst="GCJ_02") == from_wgs84(
        118.79, 32.05, crs="gcj02"
    )


# ---------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        (float("nan"), 32.0, r"longitude nan is not a finite number"),
        (118.0, float("inf"), r"latitude inf is not a finite number"),
        (181.0, 32.0, r"longitude 181.0 is outside \[-180, 180\]"),
        (118.0, -90.5, r"latitude -90.5 is outside \[-90, 90\]"),
        ([118.0, 118.1, 200.0], [32.0, 32.0, 32.0], r"longitude 200.0 at index 2 is outside"),
        ([118.0, 118.1], [32.0, np.nan], r"latitude nan at index 1 is not a finite number"),
        ([118.0, 118.1, 118.2], [32.0, 32.0], r"do not match"),
        ("east", 32.0, r"must be numbers"),
    ],
)
def test_invalid_coordinates(lon, lat, message):
    with pytest.raises(InputError, match=message):
        convert(lon, lat, src="gcj02", dst="wgs84")


def test_unknown_datum_is_named():
    with pytest.raises(InputError, match=r"unknown source datum 'mars'.*'wgs84', 'gcj02', 'bd09'"):
        to_wgs84(118.0, 32.0, crs="mars")
    with pytest.raises(InputError, match=r"unknown target datum 'EPSG:3857'"):
        convert(118.0, 32.0, src="wgs84", dst="EPSG:3857")
    with pytest.raises(InputError, match=r"unknown source datum None"):
        convert(118.0, 32.0, src=None, dst="wgs84")


# ---------------------------------------------------------------------------- frames


def _reports(crs="EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"case": ["a", "b", "c", "d"], "households": [3, 5, 8, 13]},
        geometry=[
            shapely.Point(118.79, 32.05),
            shapely.Point(2.35, 48.86),
            None,
            shapely.Point(),
        ],
        index=[10, 20, 30, 40],
        crs=crs,
    )


def test_convert_frame_of_points_keeps_other_columns_and_crs():
    frame = _reports()
    out = convert_frame(frame, src="gcj02", dst="wgs84")
    assert out is not frame and out.crs.to_epsg() == 4326
    assert out.index.tolist() == [10, 20, 30, 40]
    assert out[["case", "households"]].equals(frame[["case", "households"]])
    expected = to_wgs84(118.79, 32.05, crs="gcj02")
    assert (out.geometry.iloc[0].x, out.geometry.iloc[0].y) == pytest.approx(expected, abs=1e-12)
    assert out.geometry.iloc[1].equals(frame.geometry.iloc[1])  # outside China
    assert out.geometry.iloc[2] is None and out.geometry.iloc[3].is_empty
    assert frame.geometry.iloc[0].x == 118.79  # input untouched


def test_convert_frame_of_any_geometry_keeps_z():
    square = shapely.box(118.78, 32.04, 118.80, 32.06)
    line = shapely.LineString([(118.78, 32.04, 12.0), (118.79, 32.05, 15.0)])
    frame = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[square, line], crs="EPSG:4326")
    out = convert_frame(frame, src="wgs84", dst="bd09")
    coords = shapely.get_coordinates(out.geometry.iloc[0])
    exp_lon, exp_lat = from_wgs84(*shapely.get_coordinates(square).T, crs="bd09")
    assert np.allclose(coords[:, 0], exp_lon, atol=1e-12)
    assert np.allclose(coords[:, 1], exp_lat, atol=1e-12)
    assert out.geometry.iloc[1].has_z
    assert shapely.get_coordinates(out.geometry.iloc[1], include_z=True)[:, 2].tolist() == [
        12.0,
        15.0,
    ]
    back = convert_frame(out, src="bd09", dst="wgs84")
    assert back.geometry.iloc[0].equals_exact(square, tolerance=1e-7)


def test_convert_frame_other_geometry_column_and_series():
    frame = _reports().rename_geometry("where")
    out = convert_frame(frame, src="wgs84", dst="gcj02")
    assert out.geometry.name == "where" and list(out.columns) == list(frame.columns)
    series = convert_frame(frame.geometry, src="wgs84", dst="gcj02")
    assert isinstance(series, gpd.GeoSeries) and series.crs.to_epsg() == 4326
    assert series.geom_equals(out.geometry).iloc[:2].all()


def test_convert_frame_without_crs_gets_epsg_4326():
    out = convert_frame(_reports(crs=None), src="gcj02", dst="wgs84")
    assert out.crs.to_epsg() == 4326


def test_convert_frame_rejects_projected_data_and_bad_coordinates():
    with pytest.raises(CRSMismatchError, match=r"reports is in EPSG:32650, expected EPSG:4326"):
        convert_frame(_reports().to_crs(32650), src="gcj02", dst="wgs84", name="reports")
    bad = gpd.GeoDataFrame(geometry=[shapely.Point(500_000, 3_500_000)])
    with pytest.raises(InputError, match=r"longitude 500000.0 .*outside \[-180, 180\]"):
        convert_frame(bad, src="gcj02", dst="wgs84")


def test_convert_frame_empty():
    empty = gpd.GeoDataFrame({"n": []}, geometry=[], crs="EPSG:4326")
    out = convert_frame(empty, src="bd09", dst="wgs84")
    assert out.empty and list(out.columns) == ["n", "geometry"] and out.crs.to_epsg() == 4326
