"""validate_features: each kind of bad row, with its row number and reason."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import CRSMismatchError, InputError
from geo.io import read_vector
from geo.validate import RowProblem, as_multipolygon, validate_features

X, Y, D = 118.79, 32.05, 0.001
SQUARE = shapely.box(X, Y, X + D, Y + D)
BOWTIE = shapely.Polygon([(X, Y), (X + D, Y + D), (X + D, Y), (X, Y + D), (X, Y)])
TWO_POINTS = shapely.Polygon([(X, Y), (X + D, Y + D), (X + D, Y + D), (X, Y)])
SWAPPED = shapely.box(Y, X, Y + D, X + D)
FAR_OUT = shapely.box(X + 200, Y, X + 201, Y + 1)


def _frame(rows, *, id_column="building_id", first_row=2, **columns) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {id_column: [r[0] for r in rows], **columns},
        geometry=[r[1] for r in rows],
        crs="EPSG:4326",
    )
    if first_row is not None:
        frame["source_row"] = np.arange(first_row, first_row + len(frame))
    return frame


def _by_row(result) -> dict[int, str]:
    return {p.row: p.reason for p in result.problems + result.repaired}


def test_every_bad_building_row():
    rows = [
        ("b1", SQUARE),
        ("b2", BOWTIE),
        ("b3", TWO_POINTS),
        ("b4", SWAPPED),
        ("b5", FAR_OUT),
        (None, SQUARE),
        ("b1", SQUARE),
        ("b8", SQUARE),
        ("b9", shapely.LineString([(X, Y), (X + D, Y)])),
        ("b10", None),
        ("b11", shapely.Polygon()),
        ("b12", SQUARE),
        ("  ", SQUARE),
        ("b14", shapely.Point(X, Y)),
    ]
    households = [10, None, None, None, None, None, None, -3, None, None, None, 2.5, 1, 4]
    result = validate_features(_frame(rows, households=households), kind="buildings")

    reasons = _by_row(result)
    assert reasons[3].startswith("repaired invalid geometry: Self-intersection")
    assert reasons[4].startswith("unrepairable geometry: Too few points")
    assert reasons[5] == "coordinates look like lat/lon swapped (lon=32.051, lat=118.79)"
    assert reasons[6].startswith("coordinates out of range (lon=319.79, lat=32.05")
    assert reasons[7] == "missing id in column 'building_id'"
    assert reasons[8] == "duplicate id 'b1' (first seen in row 2)"
    assert reasons[9] == "households is negative: -3"
    assert reasons[10].startswith("wrong geometry type LineString for buildings; expected Polygon")
    assert reasons[11] == "missing geometry"
    assert reasons[12] == "empty geometry"
    assert reasons[13] == "households is not a whole number: 2.5"
    assert reasons[14] == "missing id in column 'building_id'"
    assert set(reasons) == set(range(3, 15))

    assert result.repaired == (RowProblem(3, "b2", reasons[3]),)
    problems = {p.row: p for p in result.problems}
    assert problems[8].id == "b1" and problems[7].id is None
    assert [p.row for p in result.problems] == list(range(4, 15))

    good = result.frame
    assert list(good["building_id"]) == ["b1", "b2", "b14"]
    assert list(good["source_row"]) == [2, 3, 15]
    assert good["households"].tolist() == [10, pd.NA, 4]
    assert str(good["households"].dtype) == "Int64"
    repaired = good.geometry.iloc[1]
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon" and len(repaired.geoms) == 2
    # the two triangles of the bow tie: each a quarter of the square
    assert repaired.area == pytest.approx(SQUARE.area / 2)
    assert good.crs == "EPSG:4326"


def test_attribute_checks_for_buildings():
    rows = [("a", SQUARE), ("b", SQUARE), ("c", SQUARE), ("d", SQUARE), ("e", SQUARE)]
    frame = _frame(
        rows,
        households=["12", "many", None, 3, 3],
        floors=[6, 2.5, -1, None, 6],
        units=[2, 1, 1, -1, 1],
    )
    reasons = _by_row(validate_features(frame, kind="buildings"))
    assert reasons == {
        3: "households is not a number: 'many'",
        4: "floors is negative: -1",
        5: "units is negative: -1",
    }


def test_numeric_count_columns_are_checked_as_columns():
    rows = [(c, SQUARE) for c in "abcdef"]
    frame = _frame(
        rows,
        households=pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
        floors=[np.inf, 2.0, np.nan, 1e20, 3.5, 2.0],
        units=[1.0, 2.5, -0.0, 1.0, 1.0, -2.0],
    )
    reasons = _by_row(validate_features(frame, kind="buildings"))
    assert reasons == {
        2: "floors is not a finite number: inf",
        3: "units is not a whole number: 2.5",
        7: "units is negative: -2",
    }


def test_rows_numbered_from_a_file(tmp_path):
    def feature(fid, geom):
        return {"type": "Feature", "properties": {"road_id": fid}, "geometry": geom}

    line = {"type": "LineString", "coordinates": [[X, Y], [X + D, Y]]}
    stuck = {"type": "LineString", "coordinates": [[X, Y], [X, Y]]}
    square = shapely.geometry.mapping(SQUARE)
    features = [
        feature("r1", line),
        feature("r2", stuck),
        feature("r3", square),
        feature("r1", line),
        feature("r5", line),
    ]
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    result = validate_features(read_vector(path), kind="roads")

    reasons = _by_row(result)
    assert reasons.pop(2).startswith("unrepairable geometry: Too few points")
    assert reasons == {
        3: "wrong geometry type Polygon for roads; expected LineString or MultiLineString",
        4: "duplicate id 'r1' (first seen in row 1)",
    }
    assert list(result.frame["road_id"]) == ["r1", "r5"]


def test_boundaries_keep_polygons_and_repair():
    multi = shapely.MultiPolygon([SQUARE])
    rows = [("320102", multi), ("320103", BOWTIE), ("320104", shapely.Point(X, Y))]
    result = validate_features(_frame(rows, id_column="code"), kind="boundaries")
    assert _by_row(result)[4].startswith("wrong geometry type Point for boundaries")
    kept = result.frame.geometry
    assert kept.iloc[0].geom_type == "MultiPolygon"  # a valid input is left as it is
    assert kept.iloc[1].geom_type == "MultiPolygon" and kept.iloc[1].is_valid


def test_repair_keeps_single_polygon_as_polygon():
    spike = shapely.Polygon([(X, Y), (X + D, Y), (X + D, Y + D), (X, Y + D), (X, Y), (X - D, Y)])
    assert not spike.is_valid
    result = validate_features(_frame([("s", spike)], id_column="code"), kind="boundaries")
    assert result.frame.geometry.iloc[0].geom_type == "Polygon"
    assert result.frame.geometry.iloc[0].area == pytest.approx(SQUARE.area)
    assert result.problems == () and len(result.repaired) == 1


def test_stations_from_csv(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text("station_id,lon,lat\n1,118.79,32.05\n2,abc,32.05\n3,32.05,118.79\n")
    result = validate_features(read_vector(path), kind="stations")
    assert _by_row(result) == {
        2: "missing geometry",
        3: "coordinates look like lat/lon swapped (lon=32.05, lat=118.79)",
    }
    assert list(result.frame["station_id"]) == ["1"]


def test_station_polygon_becomes_point_inside():
    ring = SQUARE.difference(SQUARE.buffer(-D / 4))  # a square donut: centroid outside
    result = validate_features(_frame([("s1", ring)], id_column="station_id"), kind="stations")
    point = result.frame.geometry.iloc[0]
    assert point.geom_type == "Point" and ring.contains(point)


def test_pois_and_bounds():
    rows = [("p1", shapely.Point(X, Y)), ("p2", shapely.Point(X + 1, Y)), ("p3", SQUARE)]
    rows.append(("p4", shapely.Point(Y, X)))
    rows.append(("p5", shapely.Point(np.nan, Y)))
    bounds = (118.6, 31.9, 119.0, 32.2)
    result = validate_features(_frame(rows, id_column="poi_id"), kind="pois", bounds=bounds)
    assert _by_row(result) == {
        3: "coordinates outside bounds (118.6, 31.9, 119.0, 32.2) (lon=119.79, lat=32.05)",
        4: "wrong geometry type Polygon for pois; expected Point",
        5: "coordinates look like lat/lon swapped (lon=32.05, lat=118.79)",
        6: "non-finite coordinates (NaN or infinity)",
    }
    # within lon/lat range but swapped relative to the bounds
    small = (32.0, 118.0, 33.0, 119.0)  # pretend lon 32-33, lat 118-119 is impossible here
    swapped = validate_features(
        _frame([("p", shapely.Point(118.5, 32.5))], id_column="poi_id"),
        kind="pois",
        bounds=small,
    )
    assert swapped.problems[0].reason.startswith("coordinates look like lat/lon swapped")


def test_ids_are_text_and_rows_default_to_position():
    frame = _frame([(12.0, SQUARE), (7, SQUARE)], first_row=None)
    frame["building_id"] = pd.array([12.0, np.nan], dtype="float64")
    result = validate_features(frame, kind="buildings")
    assert result.problems == (RowProblem(2, None, "missing id in column 'building_id'"),)
    assert list(result.frame["building_id"]) == ["12"]
    other = validate_features(
        frame.rename(columns={"building_id": "bid"}), kind="buildings", id_column="bid"
    )
    assert list(other.frame["bid"]) == ["12"]


def test_bad_calls():
    frame = _frame([("a", SQUARE)])
    with pytest.raises(InputError, match="unknown kind 'houses'"):
        validate_features(frame, kind="houses")
    with pytest.raises(InputError, match=r"id column 'road_id' not found.*'building_id'"):
        validate_features(frame, kind="roads")
    with pytest.raises(CRSMismatchError, match="EPSG:3857"):
        validate_features(frame.to_crs(3857), kind="buildings")


def test_as_multipolygon():
    series = gpd.GeoSeries(
        [SQUARE, shapely.MultiPolygon([SQUARE, shapely.box(X + 2 * D, Y, X + 3 * D, Y + D)]), None],
        index=[5, 6, 7],
        crs="EPSG:4326",
        name="geom",
    )
    out = as_multipolygon(series)
    assert list(out.index) == [5, 6, 7] and out.crs == "EPSG:4326" and out.name == "geom"
    assert out.iloc[0].geom_type == "MultiPolygon" and out.iloc[0].geoms[0].equals(SQUARE)
    assert out.iloc[1].equals(series.iloc[1]) and out.iloc[2] is None
    assert series.iloc[0].geom_type == "Polygon"  # input untouched
    array = as_multipolygon([SQUARE])
    assert isinstance(array, np.ndarray) and array[0].geom_type == "MultiPolygon"
