"""`wangge isochrones` in file mode, exactly as the contract says, and its input errors."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, Point
from typer.testing import CliRunner

from api.cli import app
from api.stations import isochrone_files as cli_isochrones
from geo import isochrones as geo_isochrones
from geo import network as geo_network
from tests.geo.test_network import OSM_XML

runner = CliRunner()
UTM = 32650
X0, Y0 = 670_000.0, 3_540_000.0


def write(frame: gpd.GeoDataFrame, path) -> str:
    frame.to_file(path, driver="GeoJSON")
    return str(path)


@pytest.fixture
def files(tmp_path):
    streets = [LineString([(X0, Y0 + k * 100), (X0 + 800, Y0 + k * 100)]) for k in range(9)]
    streets += [LineString([(X0 + k * 100, Y0), (X0 + k * 100, Y0 + 800)]) for k in range(9)]
    classes = ["residential"] * len(streets)
    streets.append(LineString([(X0 - 50, Y0 + 420), (X0 + 850, Y0 + 420)]))
    classes.append("motorway")  # crosses the grid but must not carry walkers
    network = gpd.GeoDataFrame({"highway": classes}, geometry=streets, crs=UTM).to_crs(4326)
    stations = gpd.GeoDataFrame(
        {"id": ["S1", "S2", "far"], "name": ["一", "二", "三"]},
        geometry=[Point(X0 + 410, Y0 + 390), Point(X0 + 95, Y0 + 700), Point(X0 + 3000, Y0)],
        crs=UTM,
    ).to_crs(4326)
    return {
        "network": write(network, tmp_path / "network.geojson"),
        "points": write(stations, tmp_path / "stations.geojson"),
        "out": str(tmp_path / "iso.geojson"),
        "tmp": tmp_path,
    }


def run(points, network, out, *extra):
    args = ["isochrones", "--points", points, "--network", network, "--out", out, *extra]
    return runner.invoke(app, args)


def test_contract_output(files):
    result = run(files["points"], files["network"], files["out"], "--minutes", "5,10,15")
    assert result.exit_code == 0, result.output
    data = json.loads(Path(files["out"]).read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    features = data["features"]
    assert len(features) == 9
    keys = [(f["properties"]["id"], f["properties"]["minutes"]) for f in features]
    assert keys == [(s, m) for s in ("S1", "S2", "far") for m in (5, 10, 15)]
    methods = [f["properties"]["method"] for f in features]
    assert methods == ["network"] * 6 + ["buffer"] * 3
    assert {f["geometry"]["type"] for f in features} <= {"Polygon", "MultiPolygon"}
    polys = [shapely.geometry.shape(f["geometry"]) for f in features]
    for k in (0, 3, 6):
        assert polys[k + 1].covers(polys[k]) and polys[k + 2].covers(polys[k + 1])
    lon, lat = polys[0].centroid.x, polys[0].centroid.y
    assert 118 < lon < 119 and 31 < lat < 33  # WGS-84 degrees


def test_motorway_is_not_walked(files):
    result = run(files["points"], files["network"], files["out"], "--minutes", "3")
    assert result.exit_code == 0, result.output
    frame = gpd.read_file(files["out"]).to_crs(UTM)
    s1 = frame.geometry.iloc[0]
    # 3 min = 225 m from (410, 390): along y=400 to x = 410 ± ~215, never along the motorway
    assert not s1.covers(Point(X0 + 800, Y0 + 420))
    assert s1.covers(Point(X0 + 410, Y0 + 400))


def test_speed_option(files):
    assert run(files["points"], files["network"], files["out"], "--speed-kmh", "3").exit_code == 0
    slow = gpd.read_file(files["out"]).to_crs(UTM).area
    assert run(files["points"], files["network"], files["out"]).exit_code == 0
    normal = gpd.read_file(files["out"]).to_crs(UTM).area
    assert (slow < normal).all()


def test_osm_network(files, tmp_path):
    osm = tmp_path / "tiny.osm"
    osm.write_text(OSM_XML, encoding="utf-8")
    pts = gpd.GeoDataFrame({"id": [7]}, geometry=[Point(X0 + 50, Y0 + 40)], crs=UTM).to_crs(4326)
    points = write(pts, tmp_path / "p.geojson")
    result = run(points, str(osm), files["out"], "--minutes", "1,2")
    assert result.exit_code == 0, result.output
    data = json.loads(Path(files["out"]).read_text(encoding="utf-8"))
    assert [f["properties"]["id"] for f in data["features"]] == [7, 7]
    assert [f["properties"]["method"] for f in data["features"]] == ["network"] * 2


def _bad(files, tmp_path):
    geojson_utm = tmp_path / "utm.geojson"
    pts = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(X0, Y0)], crs=UTM)
    pts.to_file(geojson_utm, driver="GeoJSON")
    no_id = write(gpd.read_file(files["points"]).drop(columns="id"), tmp_path / "noid.geojson")
    lines_as_points = write(gpd.read_file(files["network"]), tmp_path / "lines.geojson")
    only_points = write(gpd.read_file(files["points"]), tmp_path / "only_points.geojson")
    bare = tmp_path / "bare.geojson"  # projected numbers without a crs member
    bare.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"id": "x"},
                        "geometry": {"type": "Point", "coordinates": [X0, Y0]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    p, n = files["points"], files["network"]
    return [
        ((str(tmp_path / "missing.geojson"), n), "not found"),
        ((p, str(tmp_path / "missing.osm")), "not found"),
        ((p, only_points), "no LineString"),
        ((p, n, "--minutes", "5,abc"), "minutes"),
        ((p, n, "--minutes", "-5"), "minutes"),
        ((p, n, "--speed-kmh", "0"), "speed"),
        ((str(geojson_utm), n), "expected WGS-84"),
        ((str(bare), n), "longitude/latitude"),
        ((no_id, n), "'id'"),
        ((lines_as_points, n), "not points"),
    ]


def test_bad_input_exits_non_zero_with_a_message(files, tmp_path):
    for args, expected in _bad(files, tmp_path):
        points, network, *extra = args
        result = run(points, network, files["out"], *extra)
        assert result.exit_code != 0, (args, result.output)
        assert expected in result.output, (args, result.output)


def test_help_defaults_match_the_library():
    assert cli_isochrones.DEFAULT_SPEED_KMH == geo_network.DEFAULT_SPEED_KMH
    assert cli_isochrones.DEFAULT_MAX_SNAP_M == geo_network.DEFAULT_MAX_SNAP_M
    assert cli_isochrones.DEFAULT_WIDTH_M == geo_isochrones.DEFAULT_WIDTH_M
    assert cli_isochrones.DEFAULT_CELL_M == geo_isochrones.DEFAULT_CELL_M
