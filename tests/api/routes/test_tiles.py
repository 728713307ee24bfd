"""Vector tiles from PostGIS: decoded features and their properties, empty tiles, bad tiles."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from tests.conftest import load_gridded_city


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture
def city(db_url):
    load_gridded_city(db_url)
    return db_url


def test_tiles_hold_the_current_grids_with_their_codes(city, client: TestClient):
    layer = client.get("/api/grids", params={"level": "grid"}).json()["features"]
    lon, lat = layer[0]["geometry"]["coordinates"][0][0]
    x, y = tile_of(lon, lat, 14)
    response = client.get(f"/tiles/grids/14/{x}/{y}.pbf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.content)
    features = decoded["grids"]["features"]
    codes = {f["properties"]["code"] for f in features}
    assert layer[0]["properties"]["code"] in codes
    assert codes <= {f["properties"]["code"] for f in layer}
    assert all(f["properties"]["level"] == "grid" for f in features)
    first = next(f for f in features if f["properties"]["code"] == layer[0]["properties"]["code"])
    assert first["properties"]["households"] == layer[0]["properties"]["households"]
    micro = mapbox_vector_tile.decode(client.get(f"/tiles/micro_grids/14/{x}/{y}.pbf").content)
    assert len(micro["micro_grids"]["features"]) > len(features)
    buildings = mapbox_vector_tile.decode(client.get(f"/tiles/buildings/14/{x}/{y}.pbf").content)
    assert all("building_id" in f["properties"] for f in buildings["buildings"]["features"])


def test_empty_tile_is_204_and_bad_tiles_are_422(city, client: TestClient):
    assert client.get("/tiles/grids/14/0/0.pbf").status_code == 204  # the Arctic, far west
    for path in ("/tiles/grids/3/8/0.pbf", "/tiles/grids/3/0/-1.pbf", "/tiles/grids/25/0/0.pbf"):
        response = client.get(path)
        assert response.status_code == 422, path
    assert client.get("/tiles/roads/3/0/0.pbf").status_code == 422


def _sql(url: str, statement: str, **params) -> None:
    from sqlalchemy import text

    from api.db import transaction

    with transaction(url) as session:
        session.execute(text(statement), params)


def test_unchanged_tiles_revalidate_with_304_and_edits_make_new_ones(city, client: TestClient):
    """A tile carries an ETag; If-None-Match with it gives 304 and no body; a repeat comes from
    the cache; editing a building in the tile, or a community's code, gives a new ETag and a
    tile holding the edit."""
    from api.storage import tiles

    layer = client.get("/api/grids", params={"level": "grid"}).json()["features"]
    lon, lat = layer[0]["geometry"]["coordinates"][0][0]
    x, y = tile_of(lon, lat, 14)
    path = f"/tiles/buildings/14/{x}/{y}.pbf"
    first = client.get(path)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    hits = tiles.CACHE.hits
    again = client.get(path)
    assert again.content == first.content and again.headers["etag"] == etag
    assert tiles.CACHE.hits == hits + 1
    unchanged = client.get(path, headers={"If-None-Match": f'W/{etag}, "other"'})
    assert unchanged.status_code == 304 and unchanged.content == b""

    feature = mapbox_vector_tile.decode(first.content)["buildings"]["features"][0]
    building = feature["properties"]["building_id"]
    _sql(city, "UPDATE buildings SET households = 4321 WHERE building_id = :b", b=building)
    edited = client.get(path, headers={"If-None-Match": etag})
    assert edited.status_code == 200 and edited.headers["etag"] != etag
    found = mapbox_vector_tile.decode(edited.content)["buildings"]["features"]
    assert {
        f["properties"]["households"] for f in found if f["properties"]["building_id"] == building
    } == {4321}

    grids_path = f"/tiles/grids/14/{x}/{y}.pbf"
    before = client.get(grids_path)
    code = (
        layer[0]["properties"]["parent_code"]
        or mapbox_vector_tile.decode(before.content)["grids"]["features"][0]["properties"][
            "community_code"
        ]
    )
    _sql(city, "UPDATE communities SET code = '999999999999' WHERE code = :c", c=code)
    after = client.get(grids_path, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    codes = {
        f["properties"]["community_code"]
        for f in mapbox_vector_tile.decode(after.content)["grids"]["features"]
    }
    assert "999999999999" in codes and code not in codes


def test_an_empty_tile_revalidates_too(city, client: TestClient):
    empty = client.get("/tiles/grids/14/0/0.pbf")
    assert empty.status_code == 204
    again = client.get("/tiles/grids/14/0/0.pbf", headers={"If-None-Match": empty.headers["etag"]})
    assert again.status_code == 304
