"""Water and rail from `wangge ingest osm` are barriers to DB-mode grids, and nothing else:
the walking network and the roads table never see them (issue 15)."""

from __future__ import annotations

import json

import geopandas as gpd
import osmium
from shapely.geometry import box
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from api.storage.grids import read_roads, select_communities
from api.storage.stations import road_frame

runner = CliRunner()
X0, Y0 = 118.78, 32.03
D = 0.0001  # about 10 m
RIVER_X = 10  # the river runs north-south at X0 + 10 D; houses on both sides


def write_osm(path) -> None:
    nodes, ways = [], []

    def node(x, y):
        nodes.append(osmium.osm.mutable.Node(id=len(nodes) + 1, location=(X0 + x * D, Y0 + y * D)))
        return len(nodes)

    for i, (x, y) in enumerate([(2, 2), (2, 8), (5, 2), (5, 8), (13, 2), (13, 8), (16, 5)]):
        ring = [node(x, y), node(x + 2, y), node(x + 2, y + 1.5), node(x, y + 1.5)]
        tags = {"building": "apartments", "building:flats": "10"}
        ways.append(osmium.osm.mutable.Way(id=100 + i, nodes=[*ring, ring[0]], tags=tags))
    river = [node(RIVER_X, -5), node(RIVER_X, 15)]
    ways.append(
        osmium.osm.mutable.Way(id=200, nodes=river, tags={"waterway": "river", "name": "珍珠河"})
    )
    subway = [node(-5, 5), node(25, 5)]
    ways.append(
        osmium.osm.mutable.Way(id=201, nodes=subway, tags={"railway": "subway", "tunnel": "yes"})
    )
    path_nodes = [node(0, 0.5), node(20, 0.5)]
    ways.append(osmium.osm.mutable.Way(id=202, nodes=path_nodes, tags={"highway": "footway"}))
    with osmium.SimpleWriter(str(path)) as writer:
        for n in nodes:
            writer.add_node(n)
        for w in ways:
            writer.add_way(w)


def query(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        engine.dispose()


def test_a_river_from_osm_divides_db_grids_and_is_never_walked(use_database, tmp_path):
    write_osm(tmp_path / "river.osm.pbf")
    community = gpd.GeoDataFrame(
        {"code": ["320102002001"], "name": ["梅园新村社区"]},
        geometry=[box(X0, Y0, X0 + 20 * D, Y0 + 11 * D)],
        crs=4326,
    )
    community.to_file(tmp_path / "c.gpkg")
    result = runner.invoke(
        app, ["ingest", "boundaries", str(tmp_path / "c.gpkg"), "--level", "community"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["ingest", "osm", str(tmp_path / "river.osm.pbf")])
    assert result.exit_code == 0, result.output
    # the river is a barrier row; the tunnelled subway is nothing; roads hold only the path
    assert query(use_database, "SELECT barrier_id, class, name FROM barriers") == [
        ("osm-way-200", "river", "珍珠河")
    ]
    assert query(use_database, "SELECT class FROM roads") == [("footway",)]
    engine = create_engine(use_database)
    with Session(engine) as session:
        assert road_frame(session)["class"].tolist() == ["footway"]  # the walking network's
        [area] = select_communities(session, community=["320102002001"])
        assert sorted(read_roads(session, area)["class"]) == ["footway", "river"]  # the engine's
    engine.dispose()
    # 40 households west of the river, 30 east: grids of 20-40 end at the river
    report = tmp_path / "report.json"
    result = runner.invoke(
        app,
        ["grids", "generate", "--community", "320102002001", "--level", "grid",
         "--min", "20", "--max", "40", "--report", str(report)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    grids = query(use_database, "SELECT households FROM grids WHERE valid_to IS NULL ORDER BY code")
    assert sorted(h for (h,) in grids) == [30, 40]
    rep = json.loads(report.read_text(encoding="utf-8"))
    [community] = rep["communities"]
    assert community["report"]["grid"]["barrier_crossing"] == 0
