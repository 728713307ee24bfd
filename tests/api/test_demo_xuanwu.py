"""The Nanjing Xuanwu demo reads true: real divisions, approximate community areas each with
grids, only catalog service places as stations, names (never OSM ids) where people read, and
sample cases dated from today."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from api.cli import app
from api.db import transaction
from api.demo import datasets as demo
from api.main import create_app
from api.storage import ingest as store
from data.catalogs import station_types

NOTE = json.dumps("社区边界为近似范围")[1:-1]  # the legend's row, as the page's script holds it
OSM_ID = re.compile(r"osm-(node|way|relation)-\d+")


def rows(url: str, sql: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def test_xuanwu_demo_reads_true(use_database):
    url = use_database
    started = datetime.now(UTC)
    demo.prepare(dataset="nanjing-xuanwu", log=lambda _: None).close()
    assert rows(url, "SELECT count(*) FROM streets")[0][0] == 8
    assert rows(url, "SELECT count(*) FROM communities")[0][0] == 61
    # the extract's rivers (内秦淮河, 珍珠河) are stored as barriers to the grids
    rivers = rows(url, "SELECT count(*) FROM barriers WHERE class = 'river' AND name LIKE '%河%'")
    assert rivers[0][0] >= 2
    # approximate communities, each with grids and micro-grids, grouped under street offices
    placed = rows(
        url,
        "SELECT c.code, c.boundary_source, s.boundary_source, "
        "ST_Covers(ST_Buffer(s.geom, 1e-7), c.geom), "
        "(SELECT count(*) FROM grids g WHERE g.community_id = c.id AND g.level = 'grid' "
        " AND g.valid_to IS NULL), "
        "(SELECT count(*) FROM grids g WHERE g.community_id = c.id AND g.level = 'micro' "
        " AND g.valid_to IS NULL) "
        "FROM communities c JOIN streets s ON s.id = c.street_id WHERE c.geom IS NOT NULL",
    )
    assert len(placed) >= 5
    for code, source, street_source, within, grids, micro in placed:
        assert (source, street_source) == ("approximate", "approximate"), code
        assert within and grids >= 1 and micro >= 1, code
    # no two approximate communities overlap
    overlap = "SELECT count(*) FROM communities a JOIN communities b ON a.id < b.id "
    overlap += "WHERE ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 1"
    assert rows(url, overlap)[0][0] == 0
    # stations: catalog types only, none of the museums, post office, library or Qinhuai clinic
    stations = rows(url, "SELECT name, type, functions FROM stations")
    assert stations
    types = station_types()["types"]
    for name, kind, functions in stations:
        assert kind in types and functions, name
        assert not re.search("美术馆|邮局|图书馆|保健所|医院", name), name
    # sample cases: worded from names, reported in the last days, deadlines near today
    cases = rows(url, "SELECT description, reported_at, due_at FROM cases")
    assert len(cases) >= 20
    for description, reported, due in cases:
        assert not OSM_ID.search(description) and "nan" not in description, description
        assert started - timedelta(days=5) < reported <= started, description
        assert due > started - timedelta(days=1), description
    assert any(due < started for _, _, due in cases)  # a few just past their deadline
    assert sum(due > started for _, _, due in cases) > len(cases) / 2
    # an address where the building has one, never a missing value written out ("NaN")
    addresses = [a for (a,) in rows(url, "SELECT address FROM cases")]
    assert not [a for a in addresses if a is not None and a.strip().lower() in ("nan", "none")]
    assert any(a for a in addresses)
    with TestClient(create_app(url)) as client:
        public = client.get("/map/public")
        assert public.status_code == 200
        community = placed[0][0]
        planner = client.get(f"/map/planner?community={community}")
        assert planner.status_code == 200 and NOTE in planner.text
        buildings = client.get(f"/api/buildings?community={community}").json()["features"]
        outlines = client.get("/map/communities").json()["features"]
    for page in (public.text, planner.text):  # ids may sit in data, never in a tooltip title
        assert not re.search(r'"(title|name|tooltip)": "osm-', page)
    assert buildings and all(not OSM_ID.search(b["properties"]["title"]) for b in buildings)
    assert {f["properties"]["boundary_source"] for f in outlines} == {"approximate"}
    assert len(outlines) == len(placed)


def test_official_boundaries_replace_approximate_ones(use_database, tmp_path):
    db_url = use_database
    area = shapely.box(118.78, 32.04, 118.79, 32.05)
    west, east = (
        shapely.box(118.78, 32.04, 118.785, 32.05),
        shapely.box(118.785, 32.04, 118.79, 32.05),
    )

    def frame(codes, geoms, **columns):
        return gpd.GeoDataFrame({"code": codes, **columns}, geometry=geoms, crs=4326)

    with transaction(db_url) as session:
        store.load_boundaries(session, frame(["320102"], [None], name=["玄武区"]), level="district")
        store.load_boundaries(
            session, frame(["320102003"], [area], name=["新街口街道"]), level="street"
        )
        store.load_boundaries(
            session,
            frame(
                ["320102003001", "320102003002"],
                [area, None],
                name=["香铺营社区居委会", "长江路社区居委会"],
            ),
            level="community",
        )
        session.execute(
            text("UPDATE communities SET boundary_source = 'approximate' WHERE geom IS NOT NULL")
        )
        buildings = gpd.GeoDataFrame(
            {"building_id": ["w", "e"], "households": [40, 60]},
            geometry=[shapely.Point(118.782, 32.045), shapely.Point(118.788, 32.045)],
            crs=4326,
        )
        store.load_buildings(session, buildings)
    official = frame(["320102003001", "320102003002"], [west, east], name=["香铺营社区", None])
    official.to_file(tmp_path / "official.geojson")
    cli = ["ingest", "boundaries", str(tmp_path / "official.geojson"), "--level", "community"]
    loaded = CliRunner().invoke(app, cli)
    assert loaded.exit_code == 0, loaded.output
    again = CliRunner().invoke(app, cli)  # official rows stay as they are: refused, as before
    assert again.exit_code != 0 and "already" in again.output
    found = rows(
        db_url,
        "SELECT c.code, c.name, c.boundary_source, round(ST_XMax(c.geom)::numeric, 3)::float8, "
        "array_agg(b.building_id) FROM communities c "
        "LEFT JOIN buildings b ON b.community_id = c.id GROUP BY c.id ORDER BY c.code",
    )
    assert [tuple(r) for r in found] == [
        ("320102003001", "香铺营社区", "official", 118.785, ["w"]),
        ("320102003002", "长江路社区居委会", "official", 118.79, ["e"]),
    ]
