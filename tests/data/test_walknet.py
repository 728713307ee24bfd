"""The dense synthetic walking network and benchmark stations: deterministic and connected."""

from __future__ import annotations

import pytest

from data.synthetic import generate_city
from data.walknet import benchmark_stations, dense_walk_network
from geo.network import snap_points, walk_network


@pytest.fixture(scope="module")
def city():
    return generate_city(size="community", seed=3)


def test_mesh_is_deterministic_and_joins_the_roads(city):
    lines = dense_walk_network(city, seed=3)
    again = dense_walk_network(city, seed=3)
    assert lines.geometry.geom_equals_exact(again.geometry, tolerance=0).all()
    assert lines.crs.to_epsg() == 4326
    mesh = lines["class"] == "footway"
    assert mesh.sum() > 5 * len(city.roads)
    net = walk_network(lines)
    sizes = net.component_sizes
    assert sizes[0] > 0.95 * sizes.sum()  # the mesh meets the roads: one town, a few stubs
    assert len(net.edges) > len(lines)


def test_stations_reach_the_requested_count(city):
    stations = benchmark_stations(city, count=40, seed=3)
    assert len(stations) == 40 and stations["id"].is_unique
    assert (
        stations["id"].iloc[: len(city.stations)].tolist() == city.stations["station_id"].tolist()
    )
    net = walk_network(dense_walk_network(city, seed=3))
    assert snap_points(net, stations)["on_network"].all()
