"""Stations, circles, nearest stations, coverage and suggestions over HTTP on real PostGIS.

The synthetic community is loaded once for the module; tests that write use their own
transaction and leave the data as they found it.
"""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from api.db import transaction
from api.main import create_app
from api.stations import network as network_db
from api.storage import stations as store
from geo.coords import from_wgs84
from geo.coverage import minutes_by_function
from geo.network import walking_minutes
from tests.api.test_grids_db import rows
from tests.conftest import gridded_city_database


@pytest.fixture(scope="module")
def city_url(pg_cluster) -> Iterator[str]:
    with gridded_city_database(pg_cluster, "test_stations") as url:
        yield url


@pytest.fixture(scope="module")
def api(city_url) -> Iterator[TestClient]:
    with TestClient(create_app(city_url)) as c:
        yield c


@pytest.fixture(scope="module")
def circles(city_url, pg_cluster):
    """`wangge stations circles` run against the module's database."""
    mp = pytest.MonkeyPatch()
    from api.settings import get_settings

    mp.setenv("WANGGE_DATABASE_URL", city_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["stations", "circles", "--minutes", "5,10,15"])
    mp.undo()
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def frames(city_url):
    with transaction(city_url) as session:
        net = network_db.get_network(session, city_url)
        return net, store.station_frame(session), store.building_frame(session)


def test_list_stations_geojson_and_filters(api, city_url):
    answer = api.get("/api/stations")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/geo+json")
    body = answer.json()
    total = rows(city_url, "SELECT count(*) FROM stations")[0][0]
    assert body["type"] == "FeatureCollection" and len(body["features"]) == total >= 2
    first = body["features"][0]
    assert first["geometry"]["type"] == "Point"
    props = first["properties"]
    assert "contact" not in props  # no contact person on the public list
    assert props["icon"] and 3 <= props["stars"] <= 5
    centers = api.get("/api/stations", params={"type": "党群服务中心"}).json()["features"]
    assert centers and all(f["properties"]["type"] == "党群服务中心" for f in centers)
    services = api.get("/api/stations", params={"function": "services"}).json()["features"]
    expected = rows(city_url, "SELECT count(*) FROM stations WHERE 'services' = ANY(functions)")
    assert len(services) == expected[0][0] >= len(centers)


def test_station_list_revalidates_and_follows_edits(api, city_url):
    """The list carries an ETag: If-None-Match with it gives 304, a repeat comes from the
    process's cache, and renaming a station gives a new ETag and the new name at once."""
    from sqlalchemy import text

    from api.stations import listing

    first = api.get("/api/stations")
    etag = first.headers["etag"]
    hits = listing.CACHE.hits
    assert api.get("/api/stations").json() == first.json()
    assert listing.CACHE.hits == hits + 1
    unchanged = api.get("/api/stations", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    station = first.json()["features"][0]
    name = station["properties"]["name"]
    rename = "UPDATE stations SET name = :n WHERE station_id = :s"
    try:
        with transaction(city_url) as session:
            session.execute(text(rename), {"n": "改名的驿站 <b>", "s": station["id"]})
        edited = api.get("/api/stations", headers={"If-None-Match": etag})
        assert edited.status_code == 200 and edited.headers["etag"] != etag
        names = {f["id"]: f["properties"]["name"] for f in edited.json()["features"]}
        assert names[station["id"]] == "改名的驿站 <b>"
    finally:
        with transaction(city_url) as session:
            session.execute(text(rename), {"n": name, "s": station["id"]})


def test_list_stations_bad_filters(api):
    assert api.get("/api/stations", params={"type": "火星站"}).status_code == 422
    answer = api.get("/api/stations", params={"function": "flying"})
    assert answer.status_code == 422 and "unknown function" in answer.json()["detail"]


def test_one_station_and_404(api):
    some = api.get("/api/stations").json()["features"][0]
    answer = api.get(f"/api/stations/{some['id']}")
    assert answer.status_code == 200 and answer.json()["properties"] == some["properties"]
    assert api.get("/api/stations/S9999").status_code == 404
    assert api.get("/api/stations/S9999/isochrone").status_code == 404
    assert api.get("/api/stations/bad%20id").status_code == 422


def test_circles_stored_and_served(api, city_url, circles):
    stations = rows(city_url, "SELECT count(*) FROM stations")[0][0]
    counts = dict(rows(city_url, "SELECT minutes, count(*) FROM isochrones GROUP BY minutes"))
    assert counts == {5.0: stations, 10.0: stations, 15.0: stations}
    nested = rows(
        city_url,
        "SELECT bool_and(ST_Covers(ST_Buffer(b.geom, 1e-6), a.geom)) FROM isochrones a "
        "JOIN isochrones b ON a.station_id = b.station_id AND a.minutes < b.minutes",
    )
    assert nested[0][0] is True
    some = api.get("/api/stations").json()["features"][0]["id"]
    stored = api.get(f"/api/stations/{some}/isochrone", params={"minutes": 15})
    assert stored.status_code == 200
    feature = stored.json()
    assert feature["properties"]["source"] == "stored"
    assert feature["properties"]["method"] in ("network", "buffer")
    assert feature["geometry"]["type"] == "MultiPolygon"
    computed = api.get(f"/api/stations/{some}/isochrone", params={"minutes": 7}).json()
    assert computed["properties"]["source"] == "computed"
    seven = shapely.geometry.shape(computed["geometry"])
    fifteen = shapely.geometry.shape(feature["geometry"])
    assert seven.area < fifteen.area
    assert fifteen.buffer(2e-4).covers(seven)  # within two raster cells (10 m)
    assert api.get(f"/api/stations/{some}/isochrone", params={"minutes": 0}).status_code == 422


def test_circles_replace_old_rows(city_url, circles):
    before = rows(city_url, "SELECT count(*) FROM isochrones")[0][0]
    with transaction(city_url) as session:
        from api.stations.circles import build_circles

        report = build_circles(session, minutes="5,10,15")
    assert report.stored == before
    assert rows(city_url, "SELECT count(*) FROM isochrones")[0][0] == before


def test_nearest_minutes_match_the_network(api, frames):
    net, stations, _ = frames
    station = stations.iloc[0]
    # a point 100 m east of the station
    x, y = (
        station.geometry.x + 100 / (111_320 * np.cos(np.radians(station.geometry.y))),
        (station.geometry.y),
    )
    answer = api.get("/api/stations/nearest", params={"lon": x, "lat": y, "limit": 50})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["on_network"] is True and body["snap_m"] is not None
    found = {s["station_id"]: s["minutes"] for s in body["stations"]}
    point = gpd.GeoDataFrame(geometry=[shapely.Point(x, y)], crs=4326)
    expected = walking_minutes(net, point, stations.iloc[[0]], max_minutes=30)[0]
    assert found[station.station_id] == pytest.approx(expected, abs=0.01)
    minutes = [s["minutes"] for s in body["stations"]]
    assert minutes == sorted(minutes)
    # the same place given in GCJ-02 and BD-09 gives the same answer
    for crs in ("gcj02", "bd09"):
        gx, gy = from_wgs84(x, y, crs=crs)
        other = api.get(
            "/api/stations/nearest",
            params={"lon": float(gx), "lat": float(gy), "crs": crs, "limit": 50},
        ).json()
        assert other["lon"] == pytest.approx(x, abs=1e-6)
        assert {s["station_id"]: s["minutes"] for s in other["stations"]} == pytest.approx(found)


def test_nearest_bad_input(api):
    assert api.get("/api/stations/nearest", params={"lon": 118.8}).status_code == 422
    params = {"lon": 118.8, "lat": 32.0, "crs": "mars"}
    assert api.get("/api/stations/nearest", params=params).status_code == 422
    params = {"lon": 200, "lat": 32.0}
    assert api.get("/api/stations/nearest", params=params).status_code == 422


def test_coverage_matches_direct_computation(api, city_url, frames):
    net, stations, buildings = frames
    code = rows(city_url, "SELECT code FROM communities ORDER BY code LIMIT 1")[0][0]
    answer = api.get(
        "/api/coverage", params={"community": code, "function": "health", "minutes": 10}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    mine = buildings[buildings["community_code"] == code]
    m = minutes_by_function(net, stations, mine, functions=["health"], max_minutes=15)["health"]
    hh = mine["households"].to_numpy()
    assert body["households"] == int(hh.sum())
    assert body["covered"] == int(hh[m.to_numpy() <= 10].sum())
    assert body["uncovered_count"] == int((~(m.to_numpy() <= 10)).sum())
    total = {(r["function"], r["minutes"]): r for r in body["rows"] if r["level"] == "total"}
    assert total[("health", 10.0)]["covered"] == body["covered"]
    assert total[("health", 5.0)]["covered"] <= total[("health", 15.0)]["covered"]
    assert {"any", "all", "childcare", "services"} <= {f for f, _ in total}
    grids = [r for r in body["rows"] if r["level"] == "grid" and r["function"] == "health"]
    assert (
        grids and sum(r["households"] for r in grids if r["minutes"] == 10.0) <= body["households"]
    )
    if body["uncovered_count"]:
        assert body["gaps"]["features"]
        gap_households = sum(f["properties"]["households"] for f in body["gaps"]["features"])
        assert gap_households == body["households"] - body["covered"]


def test_coverage_bad_input(api):
    assert api.get("/api/coverage", params={"community": "999999999999"}).status_code == 404
    assert api.get("/api/coverage", params={"community": "12"}).status_code == 422
    assert api.get("/api/coverage", params={"function": "zoo"}).status_code == 422


def test_suggestions_gain_is_real(api, frames):
    net, stations, buildings = frames
    body = {"k": 2, "minutes": 5, "function": "health"}
    answer = api.post("/api/coverage/suggestions", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    before = minutes_by_function(net, stations, buildings, functions=["health"], max_minutes=5)
    hh = buildings["households"].to_numpy()
    assert result["covered_before"] == int(hh[before["health"].to_numpy() <= 5].sum())
    assert result["gain"] > 0 and len(result["sites"]) == 2
    gains = [s["gain"] for s in result["sites"]]
    assert gains == sorted(gains, reverse=True) and sum(gains) == result["gain"]
    assert result["covered_after"] == result["covered_before"] + result["gain"]
    assert result["upper_bound"] >= result["gain"]
    # put health stations at the chosen sites: exactly `gain` more households within 5 minutes
    new = gpd.GeoDataFrame(
        {"functions": [["health"]] * 2},
        geometry=[shapely.Point(s["lon"], s["lat"]) for s in result["sites"]],
        crs=4326,
    )
    after = minutes_by_function(
        net,
        gpd.GeoDataFrame(
            {"functions": [*stations["functions"], *new["functions"]]},
            geometry=[*stations.geometry, *new.geometry],
            crs=4326,
        ),
        buildings,
        functions=["health"],
        max_minutes=5,
    )
    assert int(hh[after["health"].to_numpy() <= 5].sum()) == result["covered_after"]


def test_suggestions_from_given_candidates(api, frames):
    _, _, buildings = frames
    far = buildings.sort_values("building_id").iloc[-1].geometry
    lon, lat = from_wgs84(far.x, far.y, crs="gcj02")
    body = {
        "k": 1,
        "minutes": 5,
        "function": "health",
        "crs": "gcj02",
        "candidates": [{"id": "c1", "lon": float(lon), "lat": float(lat)}],
    }
    result = api.post("/api/coverage/suggestions", json=body).json()
    assert result["candidates"] == 1
    if result["sites"]:
        assert result["sites"][0]["id"] == "c1"
        assert result["sites"][0]["lon"] == pytest.approx(far.x, abs=1e-5)


def test_suggestions_bad_input(api):
    post = api.post
    assert post("/api/coverage/suggestions", json={"k": 0}).status_code == 422
    assert post("/api/coverage/suggestions", json={"k": 1, "function": "x"}).status_code == 422
    twice = [{"id": "a", "lon": 118.8, "lat": 32.0}] * 2
    answer = post("/api/coverage/suggestions", json={"k": 1, "candidates": twice})
    assert answer.status_code == 422
    answer = post("/api/coverage/suggestions", json={"k": 1, "community": "999999999999"})
    assert answer.status_code == 404


def test_empty_database_through_the_client_fixture(client):
    stations = client.get("/api/stations")
    assert stations.status_code == 200 and stations.json()["features"] == []
    answer = client.get("/api/coverage")
    assert answer.status_code == 404 and "no roads" in answer.json()["detail"]
    nearest = client.get("/api/stations/nearest", params={"lon": 118.8, "lat": 32.0})
    assert nearest.status_code == 404
    assert client.get("/api/stations/S0001/isochrone").status_code == 404
    answer = client.post("/api/coverage/suggestions", json={"k": 1})
    assert answer.status_code == 404
