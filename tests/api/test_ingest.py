"""`wangge ingest` into real PostGIS: every format, bad rows, all-or-nothing, round trips."""

from __future__ import annotations

import json

import geopandas as gpd
import osmium
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()

# a block in Nanjing, in EPSG:4326
X0, Y0 = 118.78, 32.03
D = 0.0004  # about 40 m


def square(i: int) -> Polygon:
    x = X0 + i * 2 * D
    return box(x, Y0, x + D, Y0 + D / 2)


def query(url: str, sql: str, **params):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def ingest(*args: str):
    return runner.invoke(app, ["ingest", *map(str, args)])


def buildings_frame(n: int = 4) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "building_id": [f"b{i}" for i in range(n)],
            "households": pd.array([10 * (i + 1) for i in range(n - 1)] + [None], dtype="Int64"),
            "floors": [6] * n,
            "building_type": ["apartments"] * n,
            "address": [f"长江路{i + 1}号" for i in range(n)],
        },
        geometry=[square(i) for i in range(n)],
        crs=4326,
    )


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp"])
def test_buildings_from_vector_formats(use_database, tmp_path, suffix):
    path = tmp_path / f"buildings{suffix}"
    buildings_frame().to_file(path)
    result = ingest("buildings", path)
    assert result.exit_code == 0, result.output
    rows = query(
        use_database,
        "SELECT building_id, households, households_estimated, floors, address "
        "FROM buildings ORDER BY building_id",
    )
    assert [r.building_id for r in rows] == ["b0", "b1", "b2", "b3"]
    assert [r.households for r in rows[:3]] == [10, 20, 30]
    assert [r.households_estimated for r in rows] == [False, False, False, True]
    assert rows[3].households > 0  # estimated from footprint × floors
    assert rows[0].address == "长江路1号"
    assert "households estimated" in result.output


def test_polygon_round_trip_is_exact(use_database, tmp_path):
    frame = buildings_frame()
    frame.to_file(tmp_path / "b.geojson")
    assert ingest("buildings", tmp_path / "b.geojson").exit_code == 0
    engine = create_engine(use_database)
    stored = gpd.read_postgis(
        "SELECT building_id, footprint, location FROM buildings ORDER BY building_id",
        engine,
        geom_col="footprint",
    )
    engine.dispose()
    assert stored.crs.to_epsg() == 4326
    for original, back in zip(frame.geometry, stored.geometry, strict=True):
        assert back.geom_type == "MultiPolygon"
        assert shapely.equals_exact(shapely.MultiPolygon([original]), back, tolerance=1e-12)
    inside = query(
        use_database, "SELECT bool_and(ST_Contains(footprint, location)) AS ok FROM buildings"
    )
    assert inside[0].ok


def test_points_from_csv(use_database, tmp_path):
    path = tmp_path / "buildings.csv"
    path.write_text(
        "building_id,lng,lat,households,building_type\n"
        f"p1,{X0},{Y0},40,apartments\n"
        f"p2,{X0 + D},{Y0},,house\n",
        encoding="utf-8",
    )
    result = ingest("buildings", path)
    assert result.exit_code == 0, result.output
    rows = query(
        use_database,
        "SELECT building_id, households, households_estimated, footprint IS NULL AS nofp, "
        "ST_X(location) AS x, ST_Y(location) AS y FROM buildings ORDER BY building_id",
    )
    assert rows[0].households == 40 and not rows[0].households_estimated
    assert rows[1].households_estimated
    assert all(r.nofp for r in rows)
    assert rows[0].x == pytest.approx(X0) and rows[0].y == pytest.approx(Y0)


BAD_GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        # 1: good
        {"type": "Feature", "properties": {"building_id": "ok1", "households": 5},
         "geometry": {"type": "Polygon", "coordinates": [[[118.78, 32.03], [118.781, 32.03],
                      [118.781, 32.031], [118.78, 32.031], [118.78, 32.03]]]}},
        # 2: bow-tie, repairable
        {"type": "Feature", "properties": {"building_id": "bowtie", "households": 5},
         "geometry": {"type": "Polygon", "coordinates": [[[118.79, 32.03], [118.791, 32.031],
                      [118.791, 32.03], [118.79, 32.031], [118.79, 32.03]]]}},
        # 3: collapses to a line: unrepairable
        {"type": "Feature", "properties": {"building_id": "flat", "households": 5},
         "geometry": {"type": "Polygon", "coordinates": [[[118.78, 32.04], [118.781, 32.04],
                      [118.782, 32.04], [118.78, 32.04]]]}},
        # 4: missing id
        {"type": "Feature", "properties": {"building_id": None, "households": 5},
         "geometry": {"type": "Point", "coordinates": [118.78, 32.03]}},
        # 5: duplicate of row 1
        {"type": "Feature", "properties": {"building_id": "ok1", "households": 5},
         "geometry": {"type": "Point", "coordinates": [118.78, 32.03]}},
        # 6: negative households
        {"type": "Feature", "properties": {"building_id": "neg", "households": -3},
         "geometry": {"type": "Point", "coordinates": [118.78, 32.03]}},
        # 7: latitude and longitude swapped
        {"type": "Feature", "properties": {"building_id": "swapped", "households": 5},
         "geometry": {"type": "Point", "coordinates": [32.03, 118.78]}},
    ],
}  # fmt: skip


def write_bad(tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(BAD_GEOJSON), encoding="utf-8")
    return path


def test_bad_rows_fail_the_whole_file(use_database, tmp_path):
    result = ingest("buildings", write_bad(tmp_path))
    assert result.exit_code == 1
    assert "nothing loaded" in result.output
    for row in ("row 3", "row 4", "row 5", "row 6", "row 7"):
        assert row in result.output
    assert "swapped" in result.output
    assert query(use_database, "SELECT count(*) AS n FROM buildings")[0].n == 0


def test_skip_invalid_loads_the_rest_and_reports(use_database, tmp_path):
    result = ingest("buildings", write_bad(tmp_path), "--skip-invalid")
    assert result.exit_code == 0, result.output
    ids = [r.building_id for r in query(use_database, "SELECT building_id FROM buildings")]
    assert sorted(ids) == ["bowtie", "ok1"]
    valid = query(use_database, "SELECT bool_and(ST_IsValid(footprint)) AS ok FROM buildings")
    assert valid[0].ok
    out = result.output
    assert "row 3 (flat)" in out and "unrepairable" in out
    assert "row 5 (ok1)" in out and "duplicate" in out
    assert "row 6 (neg)" in out
    assert "row 2 (bowtie): repaired" in out


def test_repairable_rows_do_not_block_a_load(use_database, tmp_path):
    only_good = dict(BAD_GEOJSON, features=BAD_GEOJSON["features"][:2])
    path = tmp_path / "repairable.geojson"
    path.write_text(json.dumps(only_good), encoding="utf-8")
    result = ingest("buildings", path)
    assert result.exit_code == 0, result.output
    assert "row 2 (bowtie): repaired" in result.output
    kinds = query(use_database, "SELECT GeometryType(footprint) AS kind FROM buildings")
    assert {r.kind for r in kinds} == {"MULTIPOLYGON"}


def test_ids_already_stored_are_rejected_not_overwritten(use_database, tmp_path):
    path = tmp_path / "b.geojson"
    buildings_frame().to_file(path)
    assert ingest("buildings", path).exit_code == 0
    again = buildings_frame().assign(households=pd.array([99] * 4, dtype="Int64"))
    again.to_file(path)
    result = ingest("buildings", path)
    assert result.exit_code == 1 and "already in the database" in result.output
    rows = query(use_database, "SELECT households FROM buildings WHERE building_id = 'b0'")
    assert rows[0].households == 10


def test_bad_file_is_a_clear_error(use_database, tmp_path):
    junk = tmp_path / "roads.geojson"
    junk.write_text("this is not json", encoding="utf-8")
    result = ingest("roads", junk)
    assert result.exit_code == 1 and "roads.geojson" in result.output
    no_coords = tmp_path / "stations.csv"
    no_coords.write_text("station_id,name\ns1,x\n", encoding="utf-8")
    result = ingest("stations", no_coords)
    assert result.exit_code == 1 and "lon" in result.output
    result = ingest("boundaries", junk)
    assert result.exit_code == 1 and "--level" in result.output


def test_boundaries_nest_by_code(use_database, tmp_path):
    district = gpd.GeoDataFrame(
        {"code": ["320102"], "name": ["玄武区"]},
        geometry=[box(118.77, 32.02, 118.80, 32.05)],
        crs=4326,
    )
    streets = gpd.GeoDataFrame(
        {"code": ["320102002"], "name": ["梅园新村街道"]},
        geometry=[box(118.77, 32.02, 118.785, 32.05)],
        crs=4326,
    )
    communities = gpd.GeoDataFrame(
        {"code": ["320102002001"], "name": ["梅园新村社区"], "street_code": ["320102002"]},
        geometry=[box(118.77, 32.02, 118.785, 32.04)],
        crs=4326,
    )
    for level, frame in (("district", district), ("street", streets), ("community", communities)):
        frame.to_file(tmp_path / f"{level}.gpkg")
        result = ingest("boundaries", tmp_path / f"{level}.gpkg", "--level", level)
        assert result.exit_code == 0, result.output
    rows = query(
        use_database,
        "SELECT c.name AS community, s.name AS street, d.code AS district FROM communities c "
        "JOIN streets s ON s.id = c.street_id JOIN districts d ON d.id = s.district_id",
    )
    assert [tuple(r) for r in rows] == [("梅园新村社区", "梅园新村街道", "320102")]
    # buildings loaded afterwards find their community by location
    buildings_frame(2).to_file(tmp_path / "b.geojson")
    assert ingest("buildings", tmp_path / "b.geojson").exit_code == 0
    linked = query(use_database, "SELECT count(community_id) AS n FROM buildings")
    assert linked[0].n == 2


def test_projected_source_lands_in_4326(use_database, tmp_path):
    utm = gpd.GeoDataFrame(
        {"road_id": ["r1"], "name": ["中山路"], "class": ["primary"]},
        geometry=[shapely.LineString([(669000, 3545000), (669500, 3545000)])],
        crs=32650,
    )
    utm.to_file(tmp_path / "roads.gpkg")
    assert ingest("roads", tmp_path / "roads.gpkg").exit_code == 0
    row = query(
        use_database,
        "SELECT ST_SRID(geom) AS srid, ST_X(ST_StartPoint(ST_GeometryN(geom, 1))) AS x, "
        "ST_Length(geom::geography) AS m, class FROM roads",
    )[0]
    assert row.srid == 4326 and 118 < row.x < 119.5
    assert row.m == pytest.approx(500, rel=0.01)
    assert row[3] == "primary"


def test_stations_get_functions_from_catalog(use_database, tmp_path):
    stations = gpd.GeoDataFrame(
        {"station_id": ["s1"], "name": ["梅园邻里中心"], "type": ["邻里中心"], "stars": [4]},
        geometry=[Point(X0, Y0)],
        crs=4326,
    )
    stations.to_file(tmp_path / "s.geojson")
    assert ingest("stations", tmp_path / "s.geojson").exit_code == 0
    row = query(use_database, "SELECT functions, stars FROM stations")[0]
    assert set(row.functions) >= {
        "childcare",
        "elderly_care",
        "health",
        "food",
        "leisure",
        "services",
    }
    assert row.stars == 4


def write_pbf(path):
    with osmium.SimpleWriter(str(path)) as writer:
        coords = [(X0, Y0), (X0 + D, Y0), (X0 + D, Y0 + D), (X0, Y0 + D)]
        for i, (x, y) in enumerate(coords, start=1):
            writer.add_node(osmium.osm.mutable.Node(id=i, location=(x, y)))
        writer.add_node(
            osmium.osm.mutable.Node(id=9, location=(X0 + 2 * D, Y0), tags={"amenity": "clinic"})
        )
        writer.add_way(
            osmium.osm.mutable.Way(
                id=100,
                nodes=[1, 2, 3, 4, 1],
                tags={"building": "apartments", "building:levels": "6"},
            )
        )
        writer.add_way(
            osmium.osm.mutable.Way(
                id=200, nodes=[1, 2], tags={"highway": "footway", "name": "小路"}
            )
        )


def test_osm_pbf_loads_buildings_roads_pois_in_one_go(use_database, tmp_path):
    path = tmp_path / "tiny.osm.pbf"
    write_pbf(path)
    result = ingest("osm", path)
    assert result.exit_code == 0, result.output
    b = query(use_database, "SELECT building_id, floors, households_estimated FROM buildings")
    assert [tuple(r) for r in b] == [("osm-way-100", 6, True)]
    roads = query(use_database, "SELECT road_id, class, name FROM roads")
    assert [tuple(r) for r in roads] == [("osm-way-200", "footway", "小路")]
    pois = query(use_database, "SELECT kind, value FROM pois")
    assert [tuple(r) for r in pois] == [("amenity", "clinic")]


def test_osm_xml_xuanwu(use_database):
    from api.demo.datasets import XUANWU_OSM

    result = ingest("osm", XUANWU_OSM)
    assert result.exit_code == 0, result.output
    counts = query(
        use_database,
        "SELECT (SELECT count(*) FROM buildings) AS b, (SELECT count(*) FROM roads) AS r, "
        "(SELECT count(*) FROM pois) AS p, (SELECT sum(households) FROM buildings) AS hh",
    )[0]
    assert 1200 <= counts.b <= 1277
    assert counts.r >= 300
    assert counts.p >= 300
    assert counts.hh > 1000
