"""Unnamed buildings in a worker's visits told apart: the nearest named road (or POI) within
150 m, and where two still read the same, each one's number in its grid (north to south).

Grid A of the cases' world (118.80–118.81 × 32.00–32.01), all buildings without name or
address but n1:

    n1 (32.0090, 118.8055)  named, the grid's first from the north
    u1 (32.0080, 118.8050)  ┐ 杨将军巷 runs between them at 32.0070 (about 111 m from each);
    u2 (32.0060, 118.8052)  ┘ a nameless alley lies nearer to u1
    u3 (32.0020, 118.8020)  a school (hostile name) 44 m away, no road within 150 m
    u4 (32.0020, 118.8090)  only 远路, 200 m south: nothing within 150 m
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from api.db import transaction
from api.storage.map_data import BUILDING_KINDS, building_title
from tests.api.cases_world import C1, A, served
from tests.conftest import own_database

BUILDINGS = {  # id: (name, lon, lat)
    "n1": ("一号楼", 118.8055, 32.0090),
    "u1": (None, 118.8050, 32.0080),
    "u2": (None, 118.8052, 32.0060),
    "u3": (None, 118.8020, 32.0020),
    "u4": (None, 118.8090, 32.0020),
}
ROADS = [  # (id, name, WKT line)
    ("r1", "杨将军巷", "LINESTRING(118.803 32.007, 118.807 32.007)"),
    ("r2", None, "LINESTRING(118.8045 32.0078, 118.8055 32.0078)"),  # 22 m from u1, no name
    ("r3", "  ", "LINESTRING(118.8045 32.0079, 118.8055 32.0079)"),  # a blank name
    ("r4", "远路", "LINESTRING(118.808 32.0002, 118.810 32.0002)"),
]
SCHOOL = "第九中学<img src=x onerror=alert(1)>"
UNNAMED = "未命名楼栋（住宅）"
UNNAMED_EN = "Unnamed building (residential)"


def _world(url: str) -> None:
    with transaction(url) as s:
        for bid, (name, lon, lat) in BUILDINGS.items():
            s.execute(
                text(
                    "INSERT INTO buildings (building_id, name, building_type, households,"
                    " community_id, location) SELECT :b, :n, 'residential', 30, id,"
                    " ST_SetSRID(ST_MakePoint(:x, :y), 4326) FROM communities WHERE code = :c"
                ),
                {"b": bid, "n": name, "x": lon, "y": lat, "c": C1},
            )
        for rid, name, line in ROADS:
            s.execute(
                text(
                    "INSERT INTO roads (road_id, name, class, geom)"
                    " VALUES (:r, :n, 'residential', ST_Multi(ST_GeomFromText(:g, 4326)))"
                ),
                {"r": rid, "n": name, "g": line},
            )
        s.execute(
            text(
                "INSERT INTO pois (poi_id, name, kind, value, geom) VALUES ('p1', :n,"
                " 'amenity', 'school', ST_SetSRID(ST_MakePoint(118.8020, 32.0024), 4326))"
            ),
            {"n": SCHOOL},
        )


@pytest.fixture(scope="module")
def client(pg_cluster):
    with own_database(pg_cluster, "visit_titles") as url, served(url) as client:
        _world(url)
        yield client


def _visit(client, building: str, minutes_ago: int) -> dict:
    _, lon, lat = BUILDINGS[building]
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    body = {"building_id": building, "lon": lon, "lat": lat, "visited_at": at}
    answer = client.post("/api/visits", json=body, headers=client.headers_by["worker_a"])
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def answers(client) -> dict:
    """The answers to worker_a's visits (u1, u3, u4 twice, u2, n1), and then their list."""
    order = [("u1", 50), ("u3", 40), ("u4", 30), ("u4", 15), ("u2", 10), ("n1", 5)]
    told = [_visit(client, building, minutes_ago) for building, minutes_ago in order]
    mine = client.get("/api/visits/mine", headers=client.headers_by["worker_a"]).json()
    return {"told": told, "mine": mine}


def test_unnamed_buildings_are_told_apart_by_road_poi_and_grid_number(answers):
    # each answer at once names the nearest road or POI (no number: one building alone)
    assert [a["building_name"] for a in answers["told"][:3]] == [
        f"{UNNAMED}，杨将军巷旁",
        f"{UNNAMED}，近{SCHOOL}",
        UNNAMED,  # 远路 is 200 m away
    ]
    assert [(v["building_id"], v["building_name"], v["grid_code"]) for v in answers["mine"]] == [
        ("n1", "一号楼", A),
        ("u2", f"{UNNAMED}，杨将军巷旁，网格内第 3 栋", A),  # both by 杨将军巷: numbered
        ("u4", UNNAMED, A),  # the same building twice reads the same
        ("u4", UNNAMED, A),
        ("u3", f"{UNNAMED}，近{SCHOOL}", A),  # as text: the page shows it with textContent
        ("u1", f"{UNNAMED}，杨将军巷旁，网格内第 2 栋", A),
    ]


def test_the_english_title_reads_by_near_and_building_n_in_the_grid(answers):
    assert [a["building_name_en"] for a in answers["told"][:3]] == [
        f"{UNNAMED_EN}, by 杨将军巷",
        f"{UNNAMED_EN}, near {SCHOOL}",
        UNNAMED_EN,
    ]
    assert [v["building_name_en"] for v in answers["mine"]] == [
        "一号楼",  # a name is a name in either language
        f"{UNNAMED_EN}, by 杨将军巷, building 3 in the grid",
        UNNAMED_EN,
        UNNAMED_EN,
        f"{UNNAMED_EN}, near {SCHOOL}",
        f"{UNNAMED_EN}, by 杨将军巷, building 2 in the grid",
    ]


def test_each_visit_says_where_its_building_stands(answers):
    for v in answers["told"] + answers["mine"]:
        _, lon, lat = BUILDINGS[v["building_id"]]
        assert (v["building_lon"], v["building_lat"]) == pytest.approx((lon, lat), abs=1e-9)
        # no footprint in this world: the outline is the building's point
        assert v["building_outline"]["type"] == "Point", v
        assert v["building_outline"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)


@pytest.mark.parametrize("kind", [*sorted(BUILDING_KINDS), "yes", None])
def test_every_kind_has_an_english_title(kind):
    zh, en = (building_title(None, None, kind, 5, lang=lang) for lang in ("zh", "en"))
    assert zh.startswith("未命名楼栋"), zh
    assert en.startswith("Unnamed building (") and en.isascii(), en
