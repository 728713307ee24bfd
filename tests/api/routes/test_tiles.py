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
