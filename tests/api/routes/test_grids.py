"""GET /api/grids and GET /api/grids/{code}: GeoJSON layers, filters and history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text

from api.db import transaction
from api.grids.generation import generate_communities
from api.storage import grids as store
from tests.api.test_grids_db import COMMUNITY, load_city

OTHER = "990101001002"


def regenerate(url: str, level: str = "both"):
    with transaction(url) as session:
        areas = store.select_communities(session, every=True)
        return generate_communities(session, areas, level=level)


@pytest.fixture
def layered(db_url):
    """The synthetic community with two grid versions, and a second community without grids."""
    load_city(db_url)
    with transaction(db_url) as session:
        session.execute(
            text("INSERT INTO communities (code, name) VALUES (:code, '空社区')"), {"code": OTHER}
        )
    first = regenerate(db_url)
    second = regenerate(db_url)
    return db_url, first.at, second.at


def test_current_layer_by_level_is_valid_geojson(client, layered):
    response = client.get("/api/grids", params={"level": "grid"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["features"]
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        props = feature["properties"]
        assert props["level"] == "grid" and props["parent_code"] is None
        assert props["community_code"] == COMMUNITY and props["version"] == 2
        assert props["valid_to"] is None and props["locked"] is False
        assert props["members"] and sum(h for _, h in props["members"]) == props["households"]
        geom = shape(feature["geometry"])
        assert geom.geom_type == "Polygon" and geom.is_valid
        assert 118 < geom.centroid.x < 120 and 31 < geom.centroid.y < 33  # lon/lat order
        assert feature["id"] == props["code"]
    micro = client.get("/api/grids", params={"level": "micro"}).json()["features"]
    grid_codes = {f["properties"]["code"] for f in body["features"]}
    assert micro and all(f["properties"]["parent_code"] in grid_codes for f in micro)
    both = client.get("/api/grids").json()["features"]
    assert len(both) == len(micro) + len(body["features"])
    # grids cover their micro-grids
    union = shapely.union_all([shape(f["geometry"]) for f in body["features"]])
    assert all(union.buffer(1e-6).contains(shape(f["geometry"])) for f in micro)


def test_community_filter(client, layered):
    ours = client.get("/api/grids", params={"level": "grid", "community": COMMUNITY}).json()
    assert len(ours["features"]) == len(client.get("/api/grids?level=grid").json()["features"])
    empty = client.get("/api/grids", params={"community": OTHER})
    assert empty.status_code == 200 and empty.json()["features"] == []
    unknown = client.get("/api/grids", params={"community": "990101009009"})
    assert unknown.status_code == 404 and "990101009009" in unknown.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"level": "block"},
        {"community": "12345"},
        {"version": 0},
        {"version": "x"},
        {"at": "yesterday"},
        {"version": 1, "at": "2026-01-01T00:00:00Z"},
    ],
)
def test_bad_query_is_422(client, params):
    response = client.get("/api/grids", params=params)
    assert response.status_code == 422, response.text


def test_history_by_version_and_by_time(client, layered):
    _, first_at, second_at = layered
    now = client.get("/api/grids?level=grid").json()["features"]
    v1 = client.get("/api/grids", params={"level": "grid", "version": 1}).json()["features"]
    assert [f["properties"]["code"] for f in v1] == [f["properties"]["code"] for f in now]
    assert {f["properties"]["version"] for f in v1} == {1}
    assert all(f["properties"]["valid_to"] is not None for f in v1)
    before = client.get("/api/grids", params={"level": "grid", "at": first_at.isoformat()})
    assert {f["properties"]["version"] for f in before.json()["features"]} == {1}
    after = client.get("/api/grids", params={"level": "grid", "at": second_at.isoformat()})
    assert {f["properties"]["version"] for f in after.json()["features"]} == {2}
    earlier = datetime(2000, 1, 1, tzinfo=UTC).isoformat()
    assert client.get("/api/grids", params={"at": earlier}).json()["features"] == []
    naive = second_at.astimezone(UTC).replace(tzinfo=None).isoformat()  # read as UTC
    naive_layer = client.get("/api/grids", params={"level": "grid", "at": naive}).json()
    assert {f["properties"]["version"] for f in naive_layer["features"]} == {2}


def test_one_grid_with_history(client, layered):
    code = COMMUNITY + "001"
    response = client.get(f"/api/grids/{code}")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "Feature" and body["id"] == code
    assert body["properties"]["version"] == 2 and body["properties"]["valid_to"] is None
    assert [h["properties"]["version"] for h in body["history"]] == [1, 2]
    old, new = body["history"]
    assert old["properties"]["valid_to"] == new["properties"]["valid_from"]
    assert shape(old["geometry"]).equals(shape(new["geometry"]))
    micro = client.get(f"/api/grids/{code}001")
    assert micro.status_code == 200 and micro.json()["properties"]["parent_code"] == code


def test_one_grid_errors(client, layered):
    assert client.get(f"/api/grids/{COMMUNITY}999").status_code == 404
    assert client.get("/api/grids/12345").status_code == 422
    assert client.get("/api/grids/99010100100100a").status_code == 422


def test_openapi_documents_grids(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/grids" in paths and "/api/grids/{code}" in paths
    names = {p["name"] for p in paths["/api/grids"]["get"]["parameters"]}
    assert names >= {"level", "community", "version", "at"}
