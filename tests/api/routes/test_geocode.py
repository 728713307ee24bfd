"""Geocoding over HTTP on PostGIS: the synthetic community loaded and its grids generated."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.db import get_engine
from api.main import create_app
from geo.coords import from_wgs84, to_wgs84
from tests.api.test_grids_db import rows
from tests.conftest import gridded_city_database


@pytest.fixture(scope="module")
def city_url(pg_cluster) -> Iterator[str]:
    """One database for the module (the tests only read): city loaded, grids built."""
    with gridded_city_database(pg_cluster, "test_geocode") as url:
        yield url


@pytest.fixture(scope="module")
def api(city_url) -> Iterator[TestClient]:
    with TestClient(create_app(city_url)) as c:
        yield c


@pytest.fixture(scope="module")
def building(city_url) -> dict:
    """A building whose address no other place of the base has, with where it lies."""
    found = rows(
        city_url,
        "SELECT b.building_id, b.address, ST_X(b.location), ST_Y(b.location), c.code, "
        "(SELECT code FROM grids g WHERE g.level = 'grid' AND g.valid_to IS NULL "
        " AND ST_Contains(g.geom, b.location)), "
        "(SELECT code FROM grids g WHERE g.level = 'micro' AND g.valid_to IS NULL "
        " AND ST_Contains(g.geom, b.location)) "
        "FROM buildings b JOIN communities c ON ST_Contains(c.geom, b.location) "
        "WHERE b.address IS NOT NULL "
        "AND (SELECT count(*) FROM buildings o WHERE o.address = b.address) = 1 "
        "AND NOT EXISTS (SELECT 1 FROM stations s WHERE s.address = b.address) "
        "AND NOT EXISTS (SELECT 1 FROM compounds k WHERE k.address = b.address) "
        "ORDER BY b.building_id LIMIT 1",
    )
    bid, address, lon, lat, community, grid, micro = found[0]
    assert grid and micro, "the building should lie in a generated grid and micro-grid"
    return {
        "id": bid,
        "address": address,
        "lon": lon,
        "lat": lat,
        "community": community,
        "grid": grid,
        "micro": micro,
    }


def execute(url: str, sql: str, **params) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(text(sql), params)


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dx = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6_371_000 * math.hypot(dx, math.radians(lat2 - lat1))


def test_exact_address_finds_the_building(api, building):
    answer = api.get("/api/geocode", params={"q": building["address"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["matched_id"] == f"building:{building['id']}"
    assert body["matched_address"] == building["address"]
    assert body["level"] in ("houseno", "roadno", "poi")
    assert 0 < body["score"] <= 1
    assert body["crs"] == "wgs84"
    # the building's footprint point lies within metres of its stored location
    assert metres(body["lon"], body["lat"], building["lon"], building["lat"]) < 50


def test_address_without_its_district_finds_the_building(api, building):
    assert "滨江区" in building["address"]
    short = building["address"].replace("滨江区", "")
    body = api.get("/api/geocode", params={"q": short}).json()
    assert body["matched_id"] == f"building:{building['id']}"


def test_gcj02_output_is_shifted_and_converts_back(api, building):
    wgs = api.get("/api/geocode", params={"q": building["address"]}).json()
    gcj = api.get("/api/geocode", params={"q": building["address"], "crs": "gcj02"}).json()
    assert gcj["crs"] == "gcj02" and gcj["matched_id"] == wgs["matched_id"]
    shift = metres(wgs["lon"], wgs["lat"], gcj["lon"], gcj["lat"])
    assert 100 < shift < 1000
    back = to_wgs84(gcj["lon"], gcj["lat"], crs="gcj02")
    assert metres(*back, wgs["lon"], wgs["lat"]) < 0.05
    bd = api.get("/api/geocode", params={"q": building["address"], "crs": "bd09"}).json()
    assert metres(*to_wgs84(bd["lon"], bd["lat"], crs="bd09"), wgs["lon"], wgs["lat"]) < 0.05


def test_reverse_at_a_building_given_in_gcj02(api, building):
    lon, lat = from_wgs84(building["lon"], building["lat"], crs="gcj02")
    answer = api.get("/api/reverse", params={"lon": lon, "lat": lat, "crs": "gcj02"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["building_id"] == building["id"]
    assert body["address"] == building["address"]
    assert body["distance_m"] == pytest.approx(0, abs=0.5)
    assert body["grid_code"] == building["grid"]
    assert body["micro_grid_code"] == building["micro"]
    assert body["micro_grid_code"].startswith(body["grid_code"])
    assert body["community"]["code"] == building["community"]
    assert body["community"]["name"]
    assert body["street"]["code"] == building["community"][:9]
    # the same point read as WGS-84 lies a few hundred metres away: another answer or none
    moved = api.get("/api/reverse", params={"lon": lon, "lat": lat}).json()
    assert moved["building_id"] != building["id"]


def test_reverse_far_outside_is_all_null(api):
    body = api.get("/api/reverse", params={"lon": 100.0, "lat": 30.0}).json()
    assert body == {
        "address": None,
        "building_id": None,
        "distance_m": None,
        "place": None,
        "micro_grid_code": None,
        "grid_code": None,
        "community": None,
        "street": None,
    }


def test_reverse_in_a_compound_away_from_buildings_names_the_compound(api, city_url):
    """A point in a compound's yard, over 50 m from any building, answers the compound."""
    found = rows(
        city_url,
        "SELECT k.compound_id, coalesce(nullif(btrim(k.address), ''), k.name), "
        "ST_X(p), ST_Y(p) FROM compounds k, "
        "LATERAL (SELECT (ST_Dump(ST_GeneratePoints(k.geom, 200, 1))).geom AS p) pts "
        "WHERE NOT EXISTS (SELECT 1 FROM buildings b WHERE "
        "ST_DWithin(b.footprint::geography, p::geography, 60)) "
        "ORDER BY k.compound_id LIMIT 1",
    )
    assert found, "the synthetic community has compounds with yards"
    compound_id, address, lon, lat = found[0]
    body = api.get("/api/reverse", params={"lon": lon, "lat": lat}).json()
    assert body["building_id"] is None
    assert body["place"]["id"] == f"compound:{compound_id}"
    assert body["place"]["distance_m"] == 0
    assert body["address"] == address


def test_reverse_beside_a_road_interpolates_its_house_number(api, city_url):
    """A point 33 m north of an east-west numbered road, away from every other place."""
    found = rows(
        city_url,
        "SELECT r.road_id, r.name, r.from_no, r.to_no, ST_X(p), ST_Y(p), "
        "ST_LineLocatePoint(ST_LineMerge(r.geom), p) FROM roads r, LATERAL ("
        " SELECT ST_Translate(ST_LineInterpolatePoint(ST_LineMerge(r.geom), 0.5), 0, 0.0003) AS p"
        ") q WHERE r.from_no IS NOT NULL AND GeometryType(ST_LineMerge(r.geom)) = 'LINESTRING' "
        "AND abs(degrees(ST_Azimuth(ST_StartPoint(ST_LineMerge(r.geom)), "
        "ST_EndPoint(ST_LineMerge(r.geom)))) - 90) < 20 "
        "AND NOT EXISTS (SELECT 1 FROM buildings b WHERE "
        "ST_DWithin(coalesce(b.footprint, b.location)::geography, p::geography, 55)) "
        "AND NOT EXISTS (SELECT 1 FROM compounds k WHERE ST_Contains(k.geom, p)) "
        "AND NOT EXISTS (SELECT 1 FROM stations s WHERE ST_DWithin(s.geom::geography, "
        "p::geography, 55)) "
        "AND (SELECT r2.road_id FROM roads r2 WHERE btrim(r2.name) <> '' "
        " ORDER BY r2.geom::geography <-> p::geography LIMIT 1) = r.road_id "
        "ORDER BY r.road_id LIMIT 1",
    )
    assert found, "the synthetic community has east-west numbered roads with free verges"
    road_id, name, lo, hi, lon, lat, at = found[0]
    body = api.get("/api/reverse", params={"lon": lon, "lat": lat}).json()
    assert body["building_id"] is None
    place = body["place"]
    assert place["id"] == f"road:{road_id}" and place["kind"] == "road"
    assert 20 < place["distance_m"] <= 100
    assert place["house_number"] == round(lo + at * (hi - lo))
    assert min(lo, hi) <= place["house_number"] <= max(lo, hi)
    assert body["address"] == f"{name}{place['house_number']}号附近"


def test_batch_keeps_order_and_converts(api, building):
    texts = [building["address"], "火星市不存在路999号", building["address"].replace("滨江区", "")]
    answer = api.post("/api/geocode/batch", json={"addresses": texts, "crs": "gcj02"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["text"] for r in body] == texts
    assert body[0]["matched_id"] == body[2]["matched_id"] == f"building:{building['id']}"
    assert body[1]["level"] in ("none", "city", "district", "town", "community", "road")
    single = api.get("/api/geocode", params={"q": texts[0], "crs": "gcj02"}).json()
    assert (body[0]["lon"], body[0]["lat"]) == (single["lon"], single["lat"])


def test_index_is_rebuilt_when_buildings_are_added(api, city_url, building):
    address = "江苏省示范市滨江区测试新路8号"
    before = api.get("/api/geocode", params={"q": address}).json()
    # an unknown road: at best the district, never a building or a door number
    assert before["level"] in ("none", "city", "district", "town", "community")
    assert before["matched_id"] != "building:BTEST1"
    execute(
        city_url,
        "INSERT INTO buildings (building_id, households, address, location) VALUES "
        "('BTEST1', 3, :address, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))",
        address=address,
        lon=building["lon"] + 0.001,
        lat=building["lat"],
    )
    try:
        assert api.get("/api/geocode", params={"q": address}).json()["matched_id"] == (
            "building:BTEST1"
        )
    finally:
        execute(city_url, "DELETE FROM buildings WHERE building_id = 'BTEST1'")


def test_index_is_rebuilt_when_an_address_is_edited_in_place(api, city_url, building):
    """Same row count, same ids: the change counter of migration 0005 still sees the edit."""
    new = "江苏省示范市滨江区改名新路18号"
    assert api.get("/api/geocode", params={"q": building["address"]}).json()["matched_id"] == (
        f"building:{building['id']}"
    )
    execute(
        city_url,
        "UPDATE buildings SET address = :new WHERE building_id = :id",
        new=new,
        id=building["id"],
    )
    try:
        moved = api.get("/api/geocode", params={"q": new}).json()
        assert moved["matched_id"] == f"building:{building['id']}"
        old = api.get("/api/geocode", params={"q": building["address"]}).json()
        assert old["matched_id"] != f"building:{building['id']}"
    finally:
        execute(
            city_url,
            "UPDATE buildings SET address = :old WHERE building_id = :id",
            old=building["address"],
            id=building["id"],
        )
    again = api.get("/api/geocode", params={"q": building["address"]}).json()
    assert again["matched_id"] == f"building:{building['id']}"


def test_households_edit_does_not_count_as_an_address_change(city_url):
    def counter() -> int:
        return rows(city_url, "SELECT last_value + is_called::int FROM address_base_changes")[0][0]

    before = counter()
    execute(city_url, "UPDATE buildings SET households = households WHERE false")
    execute(city_url, "UPDATE buildings SET address = address WHERE false")
    assert counter() == before + 1  # statement triggers fire once per statement, on its columns


def test_named_points_of_interest_are_in_the_address_base(api, city_url, building):
    name = "滨江区金鹰国际购物中心"
    execute(
        city_url,
        "INSERT INTO pois (poi_id, name, kind, value, geom) VALUES "
        "('n424242', :name, 'shop', 'mall', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))",
        name=name,
        lon=building["lon"] + 0.002,
        lat=building["lat"],
    )
    try:
        body = api.get("/api/geocode", params={"q": "金鹰国际购物中心门口"}).json()
        assert body["matched_id"] == "poi:n424242"
        assert body["level"] == "poi"
        assert body["lon"] == pytest.approx(building["lon"] + 0.002, abs=1e-6)
    finally:
        execute(city_url, "DELETE FROM pois WHERE poi_id = 'n424242'")


@pytest.mark.parametrize(
    ("path", "params", "needle"),
    [
        ("/api/geocode", {"q": "x", "crs": "utm"}, "wgs84"),
        ("/api/geocode", {"q": ""}, "at least 1"),
        ("/api/geocode", {"q": "   "}, "empty"),
        ("/api/geocode", {}, "q"),
        ("/api/reverse", {"lon": 200, "lat": 30}, "less than or equal to 180"),
        ("/api/reverse", {"lon": 118, "lat": -91}, "greater than or equal to -90"),
        ("/api/reverse", {"lon": 118, "lat": 32, "crs": "WGS-84x"}, "gcj02"),
        ("/api/reverse", {"lon": "east", "lat": 32}, "number"),
    ],
)
def test_bad_queries_are_422_with_a_reason(api, path, params, needle):
    answer = api.get(path, params=params)
    assert answer.status_code == 422
    assert needle in answer.text


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"addresses": ["南京路1号"] * 1001}, "at most 1000"),
        ({"addresses": []}, "at least 1"),
        ({"addresses": ["南京路1号", " "]}, "address at position 1"),
        ({"addresses": ["南京路1号"], "crs": "mars"}, "bd09"),
        ({"address": "南京路1号"}, "addresses"),
    ],
)
def test_bad_batches_are_422_with_a_reason(api, body, needle):
    answer = api.post("/api/geocode/batch", json=body)
    assert answer.status_code == 422
    assert needle in answer.text


def test_cli_db_mode_writes_the_contract_lines(city_url, building, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from api.cli import app
    from api.settings import get_settings

    monkeypatch.setenv("WANGGE_DATABASE_URL", city_url)
    get_settings.cache_clear()
    src, out = tmp_path / "in.txt", tmp_path / "out.jsonl"
    src.write_text(f"{building['address']}\n火星市不存在路999号\n", encoding="utf-8")
    try:
        done = CliRunner().invoke(app, ["geocode", "--db", "--in", str(src), "--out", str(out)])
        both = CliRunner().invoke(
            app, ["geocode", "--db", "--index", "x.geojson", "--in", str(src), "--out", str(out)]
        )
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert set(lines[0]) == {
        "text", "lon", "lat", "level", "score", "matched_id", "matched_address"
    }  # fmt: skip
    assert lines[0]["matched_id"] == f"building:{building['id']}"
    assert metres(lines[0]["lon"], lines[0]["lat"], building["lon"], building["lat"]) < 50
    assert both.exit_code != 0 and "not both" in both.output


def test_a_bad_request_reads_in_chinese_with_the_english_beside_it(api):
    far = api.get("/api/reverse", params={"lon": 200, "lat": 30}).json()["detail"][0]
    assert far["msg"] == "lon：应不大于 180"
    assert far["msg_en"] == "Input should be less than or equal to 180"
    empty = api.post("/api/geocode/batch", json={"addresses": []}).json()["detail"][0]
    assert empty["msg"] == "addresses：至少 1 项" and "at least 1" in empty["msg_en"]
    missing = api.get("/api/geocode").json()["detail"][0]
    assert (missing["msg"], missing["msg_en"]) == ("q：缺少必填项", "Field required")
