"""Grid generation: coverage, no overlaps, households conserved, nesting, bounds, codes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from data.synthetic import generate_city
from geo.errors import CRSMismatchError, InputError
from geo.grids.codes import reading_order, sequence_codes
from geo.grids.footprints import clean_footprints, merge_stacked
from geo.grids.generate import generate_grids
from geo.grids.partition import choose_k
from geo.grids.tessellation import PRECISION_M

ORIGIN = (118.90, 32.00)
M = 1 / 100_000  # about a metre in degrees here (good enough for building test layouts)


def check_layer(layer, buildings, boundary, *, level: str) -> None:
    """The invariants every generated layer must hold."""
    grids = layer.grids
    assert grids.crs.to_epsg() == 4326
    utm = boundary.estimate_utm_crs()
    area = boundary.to_crs(utm).union_all()
    if layer.report.get("merged"):  # stacked footprints count once, with the largest count
        buildings = merge_stacked(clean_footprints(buildings.to_crs(utm)))[0].to_crs(4326)
    inside = shapely.intersects(area, shapely.point_on_surface(buildings.to_crs(utm).geometry))
    total = int(buildings.loc[np.asarray(inside), "households"].sum())
    for _, rows in grids.groupby("area_code", sort=False):  # code order, grid then its micro
        assert rows["code"].tolist() == sorted(rows["code"])
    levels = ("grid", "micro") if level == "both" else (level,)
    for lvl in levels:
        part = grids[grids["level"] == lvl].to_crs(utm)
        assert len(part) > 0
        assert (part.geom_type == "Polygon").all(), "every grid is one contiguous polygon"
        assert part.is_valid.all()
        union = part.union_all()
        # coordinates sit on a 1 cm grid: allow slivers up to 1 cm wide along the boundary
        slack = area.length * PRECISION_M
        # full coverage, no gaps
        assert abs(union.area - area.area) < slack
        # no overlaps: areas add up to the union
        assert abs(part.area.sum() - union.area) < slack
        # households conserved, members add up
        assert int(part["households"].sum()) == total
        for hh, members in zip(part["households"], part["members"], strict=True):
            assert sum(share for _, share in members) == hh
        codes = part["code"].tolist()
        assert len(set(codes)) == len(codes)
        digits = 15 if lvl == "grid" else 18
        assert all(len(c) == digits and c.isdigit() for c in codes)
        # every grid outside the bounds says why
        outside = part[~part["within_bounds"]]
        assert outside["reason"].map(lambda r: isinstance(r, str) and len(r) > 0).all()
    if level == "both":
        gridded = grids[grids["level"] == "grid"].set_index("code").to_crs(utm)
        micro = grids[grids["level"] == "micro"].to_crs(utm)
        assert set(micro["parent_code"]) == set(gridded.index)
        for code, kids in micro.groupby("parent_code"):
            parent = gridded.loc[code]
            assert kids["households"].sum() == parent["households"]
            assert all(c.startswith(code) for c in kids["code"])
            assert abs(kids.union_all().area - parent.geometry.area) < 1e-3 * parent.geometry.area
            # nothing of a micro-grid lies outside its grid but snapping slivers (< 4 cm wide)
            outside = kids.geometry.difference(parent.geometry).buffer(-0.02)
            assert outside.is_empty.all()


@pytest.fixture(scope="module")
def both(city):
    return generate_grids(city.buildings, city.communities, roads=city.roads, level="both")


def test_synthetic_community_both_levels(city, both):
    check_layer(both, city.buildings, city.communities, level="both")
    report = both.report
    for lvl in ("grid", "micro"):
        assert 0.2 < report[lvl]["polsby_popper_mean"] <= 1.0
    assert report["grid"]["within_bounds"] == report["grid"]["count"]
    assert report["grid"]["infeasible"] == []
    # micro-grids above the maximum hold a part of a tower too short to cut in thinner strips
    over = report["micro"]["infeasible"]
    assert report["micro"]["within_bounds"] == report["micro"]["count"] - len(over)
    assert all(
        item["households"] > 50 and "too short for strips" in item["reason"] for item in over
    )
    assert report["grid"]["split_compounds_within_max"] == 0
    prefix = city.communities["code"].iloc[0]
    assert all(c.startswith(prefix) for c in both.grids["code"])


def test_compactness_is_that_of_the_stored_polygon(both):
    """Polsby-Popper of each polygon as stored (after pinholes are filled), in metres: the
    cracks that snapping leaves inside a grid are filled and must not lower its score."""
    frame = both.grids
    metric = frame.to_crs(frame.estimate_utm_crs()).geometry
    expected = 4 * np.pi * metric.area / metric.length**2
    assert np.allclose(frame["polsby_popper"], expected, atol=1e-6)


def test_towers_are_split_by_unit_and_floor(city, both):
    micro = both.grids[both.grids["level"] == "micro"]
    parts = [p for ps in micro["parts"] for p in ps]
    assert parts, "the community has towers above the micro-grid maximum"
    towers = city.buildings.set_index("building_id")["households"]
    for building_id, label, share in parts:
        assert "单元" in label and "层" in label
        assert 0 < share < towers[building_id]
    # a split building's shares add up to its households
    shares: dict[str, int] = {}
    for members in micro["members"]:
        for building_id, share in members:
            shares[building_id] = shares.get(building_id, 0) + share
    assert shares == {k: v for k, v in towers.items() if k in shares}


def test_regenerating_gives_the_same_codes_and_shapes(city, both):
    again = generate_grids(city.buildings, city.communities, roads=city.roads, level="both")
    assert again.grids["code"].tolist() == both.grids["code"].tolist()
    assert again.grids["households"].tolist() == both.grids["households"].tolist()
    assert all(
        a.equals_exact(b, 1e-9)
        for a, b in zip(again.grids.geometry, both.grids.geometry, strict=True)
    )


def test_street_size_all_within_bounds():
    street = generate_city(size="street", seed=1)
    layer = generate_grids(street.buildings, street.communities, roads=street.roads, level="grid")
    check_layer(layer, street.buildings, street.communities, level="grid")
    assert layer.report["grid"]["within_bounds"] == layer.report["grid"]["count"]
    assert layer.report["grid"]["split_compounds_within_max"] == 0
    assert set(layer.grids["area_code"]) == set(street.communities["code"])


def square_city(n_side: int, households: int, *, spacing_m: float = 30.0):
    """n×n small buildings on a regular grid, each with `households`, and their boundary."""
    x0, y0 = ORIGIN
    step = spacing_m * M
    points = [
        (x0 + (i + 0.5) * step, y0 + (j + 0.5) * step) for i in range(n_side) for j in range(n_side)
    ]
    buildings = gpd.GeoDataFrame(
        {
            "building_id": [f"b{i:04d}" for i in range(len(points))],
            "households": [households] * len(points),
        },
        geometry=[box(x - 5 * M, y - 4 * M, x + 5 * M, y + 4 * M) for x, y in points],
        crs=4326,
    )
    boundary = gpd.GeoDataFrame(
        {"code": ["320102002001"]},
        geometry=[box(x0, y0, x0 + n_side * step, y0 + n_side * step)],
        crs=4326,
    )
    return buildings, boundary


def test_codes_run_west_to_east_then_north_to_south():
    buildings, boundary = square_city(12, 20)  # 2,880 households → about 7 grids
    layer = generate_grids(buildings, boundary, level="grid")
    grids = layer.grids.to_crs(32650)
    cx, cy = grids.centroid.x.to_numpy(), grids.centroid.y.to_numpy()
    first = grids["code"].str[-3:].astype(int).to_numpy().argmin()
    assert cy[first] >= np.median(cy), "001 lies in the northern row"
    row = np.abs(cy - cy[first]) < 100
    assert cx[first] == cx[row].min(), "001 is the westernmost of its row"


def test_reading_order_helper():
    xy = np.array([[10, 0], [0, 0], [0, 100], [10, 100]])
    assert reading_order(xy, band=50).tolist() == [2, 3, 1, 0]
    assert sequence_codes("320102002001", xy, band=50) == [
        "320102002001004",
        "320102002001003",
        "320102002001001",
        "320102002001002",
    ]


def test_too_few_households_is_one_grid_reported():
    buildings, boundary = square_city(3, 20)  # 180 households
    layer = generate_grids(buildings, boundary, level="grid")
    assert len(layer.grids) == 1
    [item] = layer.report["grid"]["infeasible"]
    assert "fewer than the minimum 300" in item["reason"]
    assert item["households"] == 180


def test_isolated_part_is_reported_and_still_covered():
    buildings, boundary = square_city(8, 20)  # 1,280 households
    x0, y0 = ORIGIN
    island = box(x0 + 400 * M, y0, x0 + 460 * M, y0 + 60 * M)
    far = gpd.GeoDataFrame(
        {"building_id": ["island"], "households": [100]},
        geometry=[Point(x0 + 430 * M, y0 + 30 * M).buffer(5 * M)],
        crs=4326,
    )
    buildings = gpd.GeoDataFrame(gpd.pd.concat([buildings, far], ignore_index=True), crs=4326)
    boundary = boundary.set_geometry([shapely.MultiPolygon([boundary.geometry.iloc[0], island])])
    layer = generate_grids(buildings, boundary, level="grid")
    reasons = [i["reason"] for i in layer.report["grid"]["infeasible"]]
    assert any("isolated part" in r and "100 households" in r for r in reasons)
    assert layer.grids["households"].sum() == 1380
    union = layer.grids.to_crs(32650).union_all()
    assert abs(union.area - boundary.to_crs(32650).area.sum()) < 1.0


def test_a_tower_above_the_grid_maximum_is_split_by_units():
    x0, y0 = ORIGIN
    buildings = gpd.GeoDataFrame(
        {
            "building_id": ["tower", "a", "b"],
            "households": [780, 30, 30],
            "units": [4, 1, 1],
            "floors": [33, 6, 6],
        },
        geometry=[
            box(x0 + 20 * M, y0 + 20 * M, x0 + 80 * M, y0 + 40 * M),
            box(x0 + 10 * M, y0 + 60 * M, x0 + 20 * M, y0 + 70 * M),
            box(x0 + 80 * M, y0 + 60 * M, x0 + 90 * M, y0 + 70 * M),
        ],
        crs=4326,
    )
    boundary = gpd.GeoDataFrame(geometry=[box(x0, y0, x0 + 100 * M, y0 + 100 * M)], crs=4326)
    layer = generate_grids(buildings, boundary, level="grid")
    assert layer.report["grid"]["within_bounds"] == layer.report["grid"]["count"] == 2
    assert layer.report["grid"]["split_buildings"] == 1
    check_layer(layer, buildings, boundary, level="grid")
    assert layer.grids["code"].str.startswith("000000000001").all()  # no community code given


def test_buildings_as_points():
    buildings, boundary = square_city(10, 15)
    points = buildings.set_geometry(buildings.representative_point())
    layer = generate_grids(points, boundary, level="both")
    check_layer(layer, points, boundary, level="both")
    assert layer.report["grid"]["within_bounds"] == layer.report["grid"]["count"]


def test_bad_input_is_refused_with_a_reason():
    buildings, boundary = square_city(3, 20)
    with pytest.raises(CRSMismatchError, match="EPSG:3857"):
        generate_grids(buildings.to_crs(3857), boundary)
    with pytest.raises(InputError, match="households"):
        generate_grids(buildings.drop(columns="households"), boundary)
    with pytest.raises(InputError, match="level"):
        generate_grids(buildings, boundary, level="block")
    with pytest.raises(InputError, match="min <= max"):
        generate_grids(buildings, boundary, grid_bounds=(500, 300))
    with pytest.raises(InputError, match="polygons"):
        generate_grids(buildings, buildings.set_geometry(buildings.centroid))


def test_choose_k():
    assert choose_k(400, 300, 500) == (1, None)
    assert choose_k(1000, 300, 500)[0] in (2, 3)
    k, reason = choose_k(550, 300, 500)
    assert k in (1, 2) and "cannot be divided" in reason
    assert choose_k(0, 300, 500) == (1, "no households")


@st.composite
def random_cities(draw):
    """Random buildings (squares or points) on jittered sites in a rectangle."""
    n = draw(st.integers(min_value=12, max_value=60))
    seed = draw(st.integers(min_value=0, max_value=10_000))
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(n)))
    sites = [(i % cols, i // cols) for i in range(n)]
    households = rng.integers(0, draw(st.sampled_from([12, 40, 80])), size=n)
    x0, y0 = ORIGIN
    geoms = []
    for (i, j), shape in zip(sites, rng.integers(0, 2, size=n), strict=True):
        x = x0 + (i * 40 + 20 + rng.uniform(-8, 8)) * M
        y = y0 + (j * 40 + 20 + rng.uniform(-8, 8)) * M
        geoms.append(Point(x, y) if shape else box(x - 6 * M, y - 5 * M, x + 6 * M, y + 5 * M))
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"r{i}" for i in range(n)], "households": households},
        geometry=geoms,
        crs=4326,
    )
    rows = int(np.ceil(n / cols))
    boundary = gpd.GeoDataFrame(
        geometry=[box(x0, y0, x0 + cols * 40 * M, y0 + rows * 40 * M)], crs=4326
    )
    return buildings, boundary


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_cities(), st.sampled_from(["grid", "micro", "both"]))
def test_invariants_on_random_cities(data, level):
    buildings, boundary = data
    bounds = {"grid_bounds": (100, 200), "micro_bounds": (20, 40)}
    layer = generate_grids(buildings, boundary, level=level, **bounds)
    check_layer(layer, buildings, boundary, level=level)
    # with every building below the minimum, a feasible total is divided within bounds
    lo, hi = bounds["micro_bounds"] if level == "micro" else bounds["grid_bounds"]
    total = int(buildings["households"].sum())
    if buildings["households"].max() < lo / 2 and choose_k(total, lo, hi)[1] is None:
        lvl = "micro" if level == "micro" else "grid"
        assert layer.report[lvl]["within_bounds"] == layer.report[lvl]["count"]


def test_real_nanjing_xuanwu_buildings():
    from api.demo.datasets import XUANWU_OSM
    from geo.households import estimate_households
    from geo.osm import read_osm

    osm = read_osm(XUANWU_OSM)
    buildings = estimate_households(osm.buildings)
    utm = buildings.estimate_utm_crs()
    hull = buildings.to_crs(utm).union_all().convex_hull.buffer(30)
    boundary = gpd.GeoDataFrame({"code": ["320102002001"]}, geometry=[hull], crs=utm).to_crs(4326)
    layer = generate_grids(buildings, boundary, roads=osm.network, level="grid")
    check_layer(layer, buildings, boundary, level="grid")
    report = layer.report["grid"]
    assert report["count"] > 20
    assert report["within_bounds"] / report["count"] >= 0.95
    assert layer.report["households_estimated_buildings"] > 1000


def test_an_area_without_buildings_is_one_empty_grid():
    buildings, boundary = square_city(3, 20)
    x0, y0 = ORIGIN
    empty = gpd.GeoDataFrame(
        {"code": ["320102002002"]}, geometry=[box(x0 + 0.01, y0, x0 + 0.011, y0 + 0.001)], crs=4326
    )
    layer = generate_grids(buildings.assign(compound="c1"), empty, level="grid")
    [item] = layer.report["grid"]["infeasible"]
    assert item["households"] == 0 and item["reason"] == "no households"
    assert layer.grids.geom_type.tolist() == ["Polygon"]


def test_a_road_a_hair_from_the_outline_leaves_no_empty_cell():
    buildings, boundary = square_city(6, 20)
    x0, y0 = ORIGIN
    side = 6 * 30 * M
    roads = gpd.GeoDataFrame(
        {"class": ["primary", "primary"]},
        geometry=[
            shapely.LineString([(x0 - M, y0 + 1e-9), (x0 + side + M, y0 + 1e-9)]),
            shapely.LineString([(x0 + side / 2, y0 - M), (x0 + side / 2, y0 + side + M)]),
        ],
        crs=4326,
    )
    layer = generate_grids(buildings, boundary, roads=roads, level="grid")
    check_layer(layer, buildings, boundary, level="grid")


def test_slicing_a_concave_cell_keeps_all_its_land():
    from geo.grids.split import slice_cell, split_households

    # a U-shaped cell: strips across the footprint's long axis come out in two parts
    cell = shapely.Polygon(
        [(0, 0), (100, 0), (100, 60), (70, 60), (70, 20), (30, 20), (30, 60), (0, 60)]
    )
    footprint = box(10, 5, 90, 15)
    for parts in (2, 5, 12, 35):
        strips = slice_cell(cell, footprint, split_households(288, parts))
        assert len(strips) == parts
        assert sum(s.area for s in strips) == pytest.approx(cell.area, abs=0.05)
        assert shapely.union_all(strips).area == pytest.approx(cell.area, abs=0.05)


def test_a_regions_polygon_is_the_union_of_its_cells():
    """A clean coverage is merged by coverage union, anything else by the snap-rounding union:
    the same polygon either way (up to where its rings start)."""
    from geo.grids.generate import _union

    rng = np.random.default_rng(3)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(rng.random((40, 2)))))
    cells = shapely.set_precision(shapely.intersection(cells, box(0.1, 0.1, 0.9, 0.9)), 0.01)
    overlapping = np.array([box(0, 0, 2, 1), box(1, 0, 3, 1), box(2.5, 0.5, 4, 2)])
    for geoms in (cells, overlapping):
        expected = shapely.union_all(geoms, grid_size=PRECISION_M)
        got = _union(geoms)
        assert got.is_valid
        assert shapely.equals_exact(shapely.normalize(got), shapely.normalize(expected), 0)
