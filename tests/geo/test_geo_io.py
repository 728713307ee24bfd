"""read_vector: every supported format written here, read back in EPSG:4326."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.errors import CRSMismatchError, InputError
from geo.io import read_vector

LON, LAT = 118.79, 32.05


def _buildings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"building_id": ["b1", "b2", "b3"], "households": [40, 12, 0], "name": ["甲", "乙", "丙"]},
        geometry=[
            shapely.box(LON, LAT, LON + 0.001, LAT + 0.001),
            shapely.box(LON + 0.002, LAT, LON + 0.003, LAT + 0.001),
            shapely.Point(LON + 0.004, LAT),
        ],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize(
    ("name", "driver"),
    [("b.geojson", "GeoJSON"), ("b.json", "GeoJSON"), ("b.gpkg", "GPKG"), ("b.shp", None)],
)
def test_vector_formats_round_trip(tmp_path, name, driver):
    source = _buildings()
    if name.endswith(".shp"):  # one geometry type, field names of at most 10 characters
        source = source.iloc[:2].rename(columns={"building_id": "bid"})
    source.to_file(tmp_path / name, driver=driver)

    frame = read_vector(tmp_path / name)

    assert frame.crs.to_epsg() == 4326
    id_column = source.columns[0]
    assert list(frame[id_column]) == list(source[id_column])
    assert list(frame["households"]) == list(source["households"])
    assert list(frame["name"]) == list(source["name"])
    assert list(frame["source_row"]) == list(range(1, len(source) + 1))
    for got, want in zip(frame.geometry, source.geometry, strict=True):
        assert shapely.normalize(got).equals_exact(shapely.normalize(want), tolerance=1e-9)


def test_projected_geopackage_comes_back_in_wgs84(tmp_path):
    utm = _buildings().to_crs(32650)
    assert utm.geometry.iloc[2].x > 100_000  # really projected
    utm.to_file(tmp_path / "utm.gpkg", layer="buildings")

    frame = read_vector(tmp_path / "utm.gpkg")

    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.iloc[2].distance(shapely.Point(LON + 0.004, LAT)) < 1e-8
    assert (
        frame.geometry.iloc[0].centroid.distance(shapely.Point(LON + 0.0005, LAT + 0.0005)) < 1e-8
    )


def test_geopackage_with_several_layers_needs_a_layer(tmp_path):
    path = tmp_path / "two.gpkg"
    _buildings().to_file(path, layer="buildings")
    _buildings().iloc[:1].to_file(path, layer="other")
    with pytest.raises(InputError, match=r"2 spatial layers.*layer="):
        read_vector(path)
    assert list(read_vector(path, layer="other")["building_id"]) == ["b1"]


def test_shapefile_without_prj_needs_crs(tmp_path):
    _buildings()[["households", "geometry"]].iloc[:2].to_crs(32650).to_file(tmp_path / "b.shp")
    (tmp_path / "b.prj").unlink()
    with pytest.raises(InputError, match=r"b\.shp.*declares no CRS"):
        read_vector(tmp_path / "b.shp")
    frame = read_vector(tmp_path / "b.shp", crs="EPSG:32650")
    assert (
        frame.geometry.iloc[0].centroid.distance(shapely.Point(LON + 0.0005, LAT + 0.0005)) < 1e-8
    )


def test_declared_crs_conflicting_with_given_crs(tmp_path):
    _buildings().to_crs(32650).to_file(tmp_path / "utm.gpkg")
    with pytest.raises(CRSMismatchError, match="EPSG:32650.*EPSG:32651"):
        read_vector(tmp_path / "utm.gpkg", crs="EPSG:32651")


def test_geojson_in_utm_without_crs_member(tmp_path):
    point = _buildings().to_crs(32650).geometry.iloc[2]
    feature = {
        "type": "Feature",
        "properties": {"building_id": "p"},
        "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
    }
    path = tmp_path / "utm.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    frame = read_vector(path, crs="EPSG:32650")
    assert frame.geometry.iloc[0].distance(shapely.Point(LON + 0.004, LAT)) < 1e-8


def test_csv_points(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text(
        "station_id,name,Lng,LAT\n"
        "0001,玄武门服务站,118.79,32.05\n"
        "0002,坏坐标,abc,32.06\n"
        "0003,空坐标,,\n"
        "0004,北京东路站,118.80,32.06\n",
        encoding="utf-8",
    )
    frame = read_vector(path)
    assert frame.crs.to_epsg() == 4326
    assert list(frame["station_id"]) == ["0001", "0002", "0003", "0004"]  # zeros kept
    assert list(frame["source_row"]) == [1, 2, 3, 4]
    assert frame.geometry.iloc[0].equals(shapely.Point(118.79, 32.05))
    assert frame.geometry.iloc[1] is None and frame.geometry.iloc[2] is None
    assert frame.geometry.iloc[3].equals(shapely.Point(118.80, 32.06))


def test_csv_named_columns_and_bom(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,east,north\n7,118.79,32.05\n", encoding="utf-8-sig")
    frame = read_vector(path, lon_column="east", lat_column="north")
    assert frame.geometry.iloc[0].equals(shapely.Point(118.79, 32.05))
    assert frame["id"].iloc[0] == "7"
    with pytest.raises(InputError, match=r"'west' not found.*'east'"):
        read_vector(path, lon_column="west", lat_column="north")


def test_csv_without_coordinate_columns(tmp_path):
    path = tmp_path / "nocoords.csv"
    pd.DataFrame({"id": [1], "east": [118.79], "north": [32.05]}).to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        read_vector(path)
    message = str(caught.value)
    assert "nocoords.csv" in message
    assert "longitude" in message and "['id', 'east', 'north']" in message


def test_csv_in_another_crs(tmp_path):
    point = _buildings().to_crs(32650).geometry.iloc[2]
    path = tmp_path / "utm.csv"
    path.write_text(f"id,x,y\n1,{point.x},{point.y}\n")
    frame = read_vector(path, crs="EPSG:32650")
    assert frame.geometry.iloc[0].distance(shapely.Point(LON + 0.004, LAT)) < 1e-8


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match=r"missing\.geojson: file not found"):
        read_vector(tmp_path / "missing.geojson")
    (tmp_path / "b.kml").write_text("<kml/>")
    with pytest.raises(InputError, match=r"b\.kml: unsupported file type '\.kml'"):
        read_vector(tmp_path / "b.kml")
    (tmp_path / "town.osm.pbf").write_bytes(b"")
    with pytest.raises(InputError, match="read_osm"):
        read_vector(tmp_path / "town.osm.pbf")
    (tmp_path / "broken.gpkg").write_bytes(b"not a geopackage")
    with pytest.raises(InputError, match=r"broken\.gpkg: cannot read"):
        read_vector(tmp_path / "broken.gpkg")
    (tmp_path / "broken.geojson").write_text("{not json")
    with pytest.raises(InputError, match=r"broken\.geojson: cannot read"):
        read_vector(tmp_path / "broken.geojson")
    (tmp_path / "latin.csv").write_bytes("id,lon,lat\n\xe9,1,2\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.csv: not UTF-8"):
        read_vector(tmp_path / "latin.csv")
