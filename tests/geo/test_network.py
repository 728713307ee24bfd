"""Walking network: building from OSM and from lines, snapping, walking minutes (by hand)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from geo.errors import CRSMismatchError, InputError
from geo.network import (
    reach_matrix,
    read_walk_network,
    snap_points,
    walk_network,
    walking_minutes,
)

UTM = 32650
X0, Y0 = 670_000.0, 3_540_000.0  # near Nanjing, UTM 50N
PER_MIN = 4.5 * 1000 / 60  # 75 m per minute


def lines_4326(geoms, **columns) -> gpd.GeoDataFrame:
    """Lines given in local metres (offset from X0, Y0) as an EPSG:4326 frame."""
    moved = [shapely.affinity.translate(g, X0, Y0) for g in geoms]
    return gpd.GeoDataFrame(columns, geometry=moved, crs=UTM).to_crs(4326)


def points_4326(xy) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"p{k}" for k in range(len(xy))]},
        geometry=[Point(X0 + x, Y0 + y) for x, y in xy],
        crs=UTM,
    ).to_crs(4326)


def grid(n: int = 3, step: float = 100.0) -> gpd.GeoDataFrame:
    """An n × n node grid of streets, each street one line through all its crossings."""
    end = (n - 1) * step
    rows = [LineString([(0, k * step), (end, k * step)]) for k in range(n)]
    cols = [LineString([(k * step, 0), (k * step, end)]) for k in range(n)]
    return lines_4326(rows + cols)


@pytest.fixture(scope="module")
def net():
    return walk_network(grid())


# -- building ------------------------------------------------------------------------------


def test_grid_is_noded_at_every_crossing(net):
    assert len(net.nodes) == 9
    assert len(net.edges) == 12
    assert net.summary()["components"] == 1
    np.testing.assert_allclose(net.edges["length_m"], 100.0, atol=0.01)
    assert net.crs.to_epsg() == UTM


def test_two_crossing_lines_share_a_node():
    net = walk_network(
        lines_4326([LineString([(0, 50), (100, 50)]), LineString([(50, 0), (50, 100)])])
    )
    assert len(net.nodes) == 5 and len(net.edges) == 4
    degree = np.bincount(np.r_[net.edges["u"], net.edges["v"]])
    assert sorted(degree) == [1, 1, 1, 1, 4]


def test_lines_on_different_levels_do_not_cross():
    frame = lines_4326(
        [LineString([(0, 50), (100, 50)]), LineString([(50, 0), (50, 100)])],
        bridge=["no", "yes"],
    )
    net = walk_network(frame)
    assert len(net.edges) == 2 and net.summary()["components"] == 2


def test_a_ramp_ending_on_a_bridge_vertex_joins_it():
    bridge = LineString([(0, 50), (50, 50), (100, 50)])
    ramp = LineString([(50, 50), (50, 120)])
    net = walk_network(lines_4326([bridge, ramp], layer=[1, 0]))
    assert net.summary()["components"] == 1 and len(net.edges) == 3


def test_motorway_and_forbidden_lines_are_dropped():
    frame = lines_4326(
        [LineString([(0, 0), (100, 0)])] * 5,
        highway=["footway", "motorway", "trunk_link", "service", "service"],
        foot=[None, "yes", None, "no", None],
        access=[None, None, None, None, "private"],
    )
    net = walk_network(frame)
    assert len(net.edges) == 1
    assert net.dropped == {
        "access=private": 1,
        "class motorway (never walkable)": 1,
        "class trunk_link (never walkable)": 1,
        "foot=no": 1,
    }
    every = walk_network(frame, walkable_only=False)
    assert len(every.edges) == 1  # five copies of one line node into a single edge


def test_private_road_open_to_walkers_is_kept():
    frame = lines_4326(
        [LineString([(0, 0), (100, 0)])],
        highway=["service"],
        access=["private"],
        foot=["permissive"],
    )
    assert len(walk_network(frame).edges) == 1


def test_disconnected_piece_is_kept_and_reported():
    island = LineString([(1000, 1000), (1100, 1000)])
    frame = lines_4326([*grid().to_crs(UTM).translate(-X0, -Y0).geometry, island])
    net = walk_network(frame)
    assert net.summary()["components"] == 2
    assert list(net.component_sizes) == [9, 2]
    island_edge = net.edges.index[net.edges["component"] == 1]
    assert len(island_edge) == 1
    snaps = snap_points(net, points_4326([(1050, 1005), (210, 100)]))
    assert snaps["component"].tolist() == [1, 0]
    assert snaps["on_network"].all()


def test_snapping_prefers_the_largest_piece_within_tolerance():
    fragment = LineString([(140, 20), (140, 80)])  # 40 m east of the grid, not joined to it
    frame = lines_4326([*grid(2).to_crs(UTM).translate(-X0, -Y0).geometry, fragment])
    net = walk_network(frame, prefer_largest_m=30.0)
    assert net.summary()["components"] == 2
    snap = snap_points(net, points_4326([(139, 50)]))
    assert snap["component"].iloc[0] == 1  # fragment 1 m, main grid 39 m: too far to prefer
    snap = snap_points(net, points_4326([(125, 50)]))
    assert snap["component"].iloc[0] == 0  # fragment 15 m, main 25 m: main preferred
    assert snap["snap_m"].iloc[0] == pytest.approx(25.0, abs=0.01)


def test_osm_ways_join_only_at_shared_nodes(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    net = read_walk_network(path)
    # road 1-2-3 and footway 4-2-5 share node 2; the bridge 6-7 crosses the road without a node
    assert net.summary()["components"] == 2
    assert len(net.edges) == 5
    assert net.dropped == {"class motorway (never walkable)": 1, "foot=no": 1}
    bridge = net.edges[net.edges["road_id"] == "osm-way-12"]
    assert len(bridge) == 1 and bridge["component"].iloc[0] == 1
    degree = np.bincount(np.r_[net.edges["u"], net.edges["v"]])
    assert degree.max() == 4  # node 2


OSM_NODES = {
    1: (0, 50),
    2: (50, 50),
    3: (100, 50),
    4: (50, 0),
    5: (50, 100),
    6: (75, 0),
    7: (75, 100),
}


def _osm_xml() -> str:
    pts = gpd.GeoSeries([Point(X0 + x, Y0 + y) for x, y in OSM_NODES.values()], crs=UTM).to_crs(
        4326
    )
    nodes = "".join(
        f'<node id="{k}" version="1" lat="{p.y:.9f}" lon="{p.x:.9f}"/>'
        for k, p in zip(OSM_NODES, pts, strict=True)
    )

    def way(wid, refs, **tags):
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        return f'<way id="{wid}" version="1">{nds}{tg}</way>'

    ways = (
        way(10, [1, 2, 3], highway="residential")
        + way(11, [4, 2, 5], highway="footway")
        + way(12, [6, 7], highway="footway", bridge="yes", layer="1")
        + way(13, [1, 4], highway="motorway")
        + way(14, [3, 5], highway="service", foot="no")
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">{nodes}{ways}</osm>'


OSM_XML = _osm_xml()


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(CRSMismatchError, match="EPSG:4326"):
        walk_network(grid().to_crs(UTM))
    points_only = gpd.GeoDataFrame(geometry=[Point(118.8, 32.0)], crs=4326)
    with pytest.raises(InputError, match="no LineString"):
        walk_network(points_only)
    motorway = grid().assign(highway="motorway")
    with pytest.raises(InputError, match="no walkable line"):
        walk_network(motorway)
    with pytest.raises(InputError, match="not found"):
        read_walk_network(tmp_path / "missing.geojson")


# -- snapping and walking minutes ------------------------------------------------------------


def test_snap_onto_an_edge_midpoint_counts_the_snap_walk(net):
    snap = snap_points(net, points_4326([(50, 10)])).iloc[0]  # 10 m north of the (0,0)-(100,0) edge
    assert snap["on_network"]
    assert snap["snap_m"] == pytest.approx(10.0, abs=0.01)
    assert snap["along_m"] == pytest.approx(50.0, abs=0.01)
    assert snap["to_u_m"] == pytest.approx(60.0, abs=0.02)
    assert snap["to_v_m"] == pytest.approx(60.0, abs=0.02)
    corner = points_4326([(0, 0)])
    minutes = walking_minutes(net, corner, points_4326([(50, 10)]))
    assert minutes[0] == pytest.approx(60.0 / PER_MIN, abs=1e-3)


def test_walking_minutes_by_hand_on_a_grid(net):
    source = points_4326([(0, 0)])
    targets = points_4326(
        [(200, 200), (100, 100), (150, 0), (0, 30), (100, 50), (200, 230), (130, 130)]
    )
    minutes = walking_minutes(net, source, targets, max_minutes=60)
    expected = np.array([400, 200, 150, 30, 150, 400 + 30, 200 + 30 + 30]) / PER_MIN
    np.testing.assert_allclose(minutes, expected, atol=1e-3)
    short = walking_minutes(net, source, targets, max_minutes=3.0)  # 225 m
    assert np.isinf(short[[0, 5, 6]]).all()
    np.testing.assert_allclose(short[[1, 2, 3, 4]], expected[[1, 2, 3, 4]], atol=1e-3)


def test_source_and_target_on_the_same_edge_walk_directly(net):
    minutes = walking_minutes(net, points_4326([(40, 5)]), points_4326([(60, 5)]))
    assert minutes[0] == pytest.approx((5 + 20 + 5) / PER_MIN, abs=1e-3)


def test_nearest_of_several_sources(net):
    sources = points_4326([(0, 0), (200, 200)])
    minutes = walking_minutes(net, sources, points_4326([(200, 150), (0, 50)]))
    np.testing.assert_allclose(minutes, np.array([50, 50]) / PER_MIN, atol=1e-3)


def test_off_network_points():
    net = walk_network(grid(), max_snap_m=100.0)
    far = points_4326([(500, 100)])  # 300 m east of the grid
    assert not snap_points(net, far)["on_network"].iloc[0]
    to_far = walking_minutes(net, points_4326([(200, 100)]), far, max_minutes=60)
    assert np.isinf(to_far[0])  # not reachable on the network
    from_far = walking_minutes(net, far, points_4326([(200, 100)]), max_minutes=60)
    assert from_far[0] == pytest.approx(300 / PER_MIN, abs=1e-3)  # straight line, like its circle


def test_reach_matrix_agrees_with_walking_minutes(net):
    rng = np.random.default_rng(3)
    sources = points_4326(rng.uniform(-20, 220, size=(6, 2)))
    targets = points_4326(rng.uniform(-20, 220, size=(40, 2)))
    matrix = reach_matrix(net, sources, targets, max_minutes=4.0)
    assert matrix.shape == (6, 40)
    dense = np.full(matrix.shape, np.inf)
    coo = matrix.tocoo()
    dense[coo.row, coo.col] = coo.data
    assert (coo.data <= 4.0).all()
    np.testing.assert_allclose(
        dense.min(axis=0), walking_minutes(net, sources, targets, max_minutes=4.0)
    )
    for k in range(len(sources)):
        alone = walking_minutes(net, sources.iloc[[k]], targets, max_minutes=4.0)
        np.testing.assert_allclose(dense[k], alone)
    few = reach_matrix(net, sources.iloc[:2], targets, max_minutes=4.0)  # no virtual nodes
    np.testing.assert_array_equal(few.indptr, matrix[:2].indptr)
    np.testing.assert_allclose(few.data, matrix[:2].data)


def test_speed_and_minutes_are_checked(net):
    pts = points_4326([(0, 0)])
    with pytest.raises(InputError, match="speed"):
        walking_minutes(net, pts, pts, speed_kmh=0)
    with pytest.raises(InputError, match="max_minutes"):
        reach_matrix(net, pts, pts, max_minutes=-1)
    with pytest.raises(CRSMismatchError):
        walking_minutes(net, pts.to_crs(UTM), pts)


def test_building_polygons_snap_by_a_point_inside(net):
    square = shapely.box(X0 + 40, Y0 + 10, X0 + 60, Y0 + 30)
    frame = gpd.GeoDataFrame(geometry=[square], crs=UTM).to_crs(4326)
    snap = snap_points(net, frame).iloc[0]
    assert snap["on_network"] and math.isclose(snap["snap_m"], 20.0, abs_tol=0.05)
