"""The vectorised router (geo.dispatch) and the PostGIS one (api.cases.dispatch) agree,
boundary ties included, on the synthetic community's generated grids and on the small world."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pytest
import shapely

from api.cases import dispatch
from api.db import transaction
from geo.dispatch import route_points
from tests.api import cases_world as w
from tests.conftest import load_gridded_city


@pytest.fixture(scope="module")
def synthetic_url(pg_cluster):
    from api.storage import migrate

    name = "test_dispatch_synthetic"
    pg_cluster.drop_database(name)
    pg_cluster.ensure_database(name)
    url = pg_cluster.url(name)
    migrate.upgrade(url)
    load_gridded_city(url)
    yield url
    from api.db import get_engine

    get_engine(url).dispose()
    pg_cluster.drop_database(name)


def _test_points(grids: gpd.GeoDataFrame, n_random: int, seed: int) -> np.ndarray:
    """Random points over the layer and a margin, every grid vertex and edge midpoints."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = grids.total_bounds
    pad = 0.002
    random = shapely.points(
        rng.uniform(x0 - pad, x1 + pad, n_random), rng.uniform(y0 - pad, y1 + pad, n_random)
    )
    coords = shapely.get_coordinates(shapely.boundary(grids.geometry.to_numpy()))
    vertices = shapely.points(np.unique(coords, axis=0))
    mids = shapely.points((coords[:-1] + coords[1:]) / 2)
    return np.concatenate([random, vertices[:400], mids[:400]])


def _compare(url: str, points: np.ndarray, tolerance_m: float = 50.0) -> Counter:
    with transaction(url) as session:
        grids, communities, streets = dispatch.routing_layers(session)
        frame = gpd.GeoDataFrame(geometry=points, crs=4326)
        bulk = route_points(
            frame, grids, communities=communities, streets=streets, tolerance_m=tolerance_m
        )
        mismatches = []
        for (i, row), p in zip(bulk.iterrows(), points, strict=True):
            one = dispatch.route_point(session, p.x, p.y, tolerance_m=tolerance_m)
            if one != dispatch.as_route(row):
                mismatches.append((i, p.wkt, one, dispatch.as_route(row)))
    assert mismatches == []
    return Counter(r if isinstance(r, str) else None for r in bulk["routing"])


def test_bulk_agrees_with_postgis_on_generated_grids(synthetic_url):
    with transaction(synthetic_url) as session:
        grids, _, _ = dispatch.routing_layers(session)
    layer = grids[grids["level"] == "grid"]
    points = _test_points(layer, 600, seed=1)
    counts = _compare(synthetic_url, points)
    assert counts.get("contained", 0) > 500 and counts.get("nearest", 0) > 0


def test_bulk_agrees_with_postgis_on_the_small_world(db_url):
    w.build(db_url)
    xs = [118.80, 118.805, 118.81, 118.815, 118.82, 118.8203, 118.825, 118.835, 100.0]
    ys = [31.9985, 31.9997, 32.00, 32.0025, 32.005, 32.01, 32.0103, 32.015]
    points = shapely.points([(x, y) for x in xs for y in ys])
    counts = _compare(db_url, points)
    assert set(counts) >= {"contained", "nearest", "community", "street", None}


def test_ties_and_empty_input():
    from shapely import box

    grids = gpd.GeoDataFrame(
        {"code": ["002", "001"], "level": "grid", "parent_code": None, "community_code": "C"},
        geometry=[box(1, 0, 2, 1), box(0, 0, 1, 1)],
        crs=4326,
    )
    empty = gpd.GeoDataFrame(geometry=[], crs=4326)
    assert route_points(empty, grids).empty
    corner = gpd.GeoDataFrame(geometry=[shapely.Point(1, 1)], crs=4326)
    assert route_points(corner, grids)["grid_code"].tolist() == ["001"]
    from geo.errors import CRSMismatchError, InputError

    with pytest.raises(CRSMismatchError):
        route_points(corner.set_crs(3857, allow_override=True), grids)
    with pytest.raises(InputError, match="Point"):
        route_points(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=4326), grids)
