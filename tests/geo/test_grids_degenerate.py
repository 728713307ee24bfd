"""The grid engine on real-world footprints: degenerate shapes, stacked parts, towers, pinholes,
empty land and barriers (issue 15)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from geo.errors import InputError
from geo.grids.clean import fill_pinholes
from geo.grids.edit import validate_layer
from geo.grids.footprints import clean_footprints, merge_stacked
from geo.grids.generate import generate_grids

X0, Y0 = 118.90, 32.00
M = 1 / 100_000  # about a metre in degrees here
SIDE = 120  # metres: the test area is SIDE x SIDE


def rect(x, y, w, h):
    return box(X0 + x * M, Y0 + y * M, X0 + (x + w) * M, Y0 + (y + h) * M)


def frame(geoms, households, **columns):
    ids = [f"b{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame(
        {"building_id": ids, "households": households, **columns}, geometry=geoms, crs=4326
    )


AREA = gpd.GeoDataFrame({"code": ["320102002001"]}, geometry=[rect(0, 0, SIDE, SIDE)], crs=4326)


@st.composite
def degenerate_buildings(draw):
    """A few footprints of every awkward kind inside, across and outside a square area."""
    n = draw(st.integers(min_value=1, max_value=9))
    geoms = []
    for _ in range(n):
        kind = draw(st.sampled_from(list(KINDS) + (["duplicate", "nested"] if geoms else [])))
        x, y = draw(st.floats(0, SIDE - 5)), draw(st.floats(0, SIDE - 5))
        w, h = draw(st.floats(0.001, 40)), draw(st.floats(0.001, 40))
        geoms.append(KINDS[kind](x, y, w, h) if kind in KINDS else _again(kind, geoms[-1]))
    households = draw(st.lists(st.integers(0, 160), min_size=n, max_size=n))
    return frame(geoms, households)


KINDS = {
    "box": rect,
    "point": lambda x, y, w, h: Point(X0 + x * M, Y0 + y * M),
    "sliver": lambda x, y, w, h: rect(x, y, w, 0.01),
    "collinear": lambda x, y, w, h: Polygon(
        [
            (X0 + x * M, Y0 + y * M),
            (X0 + (x + w) * M, Y0 + y * M),
            (X0 + (x + 2 * w) * M, Y0 + y * M),
        ]
    ),
    "holed": lambda x, y, w, h: rect(x, y, w, h).difference(
        rect(x + w / 4, y + h / 4, w / 2, h / 2)
    ),
    "multi": lambda x, y, w, h: MultiPolygon([rect(x, y, 4, 4), rect(x + 8, y, 4, 4)]),
    "straddling": lambda x, y, w, h: rect(SIDE - 5, y, 12, h),
    "outside": lambda x, y, w, h: rect(SIDE + 20 + x, y, 10, 10),
}


def _again(kind, previous):
    if kind == "duplicate":
        return previous
    if previous.geom_type == "Point":
        return previous
    return shapely.affinity.scale(previous, 0.5, 0.5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    degenerate_buildings(),
    st.sampled_from(["grid", "micro", "both"]),
    st.sampled_from([None, 30.0, 77.5]),
)
def test_degenerate_footprints_work_or_name_the_building(buildings, level, road_x):
    roads = None
    if road_x is not None:  # a major road across the area
        line = LineString([(X0 + road_x * M, Y0 - M), (X0 + road_x * M, Y0 + (SIDE + 1) * M)])
        roads = gpd.GeoDataFrame({"class": ["primary"]}, geometry=[line], crs=4326)
    bounds = {"grid_bounds": (100, 200), "micro_bounds": (20, 40)}
    try:
        layer = generate_grids(buildings, AREA, roads=roads, level=level, **bounds)
    except InputError as exc:  # the only way to fail: a clear error naming a building
        assert any(f"building {b} " in str(exc) for b in buildings["building_id"]), exc
        return
    grids = layer.grids
    assert len(grids) > 0
    assert grids.is_valid.all() and (grids.geom_type == "Polygon").all()
    for lvl in ("grid", "micro") if level == "both" else (level,):
        part = grids[grids["level"] == lvl]
        assert int(part["households"].sum()) == _inside_households(layer, buildings)
        # where anyone lives, no region of 0 households is made
        if part["households"].sum() > 0:
            assert (part["households"] > 0).all()
        outside = part[~part["within_bounds"]]
        assert outside["reason"].map(lambda r: isinstance(r, str) and r != "").all()


def _inside_households(layer, buildings) -> int:
    """Households of buildings placed in the area, stacked ones counted once (the largest)."""
    utm = AREA.estimate_utm_crs()
    merged = set(layer.report["merged"])
    kept = buildings[~buildings["building_id"].isin(merged)]
    survivors, _ = merge_stacked(clean_footprints(buildings.to_crs(utm)))
    kept = survivors.set_index("building_id").loc[kept["building_id"]]
    anchor = shapely.point_on_surface(kept.geometry.to_numpy())
    inside = shapely.intersects(AREA.to_crs(utm).union_all(), anchor)
    return int(kept.loc[inside, "households"].sum())


def test_stacked_slivers_with_many_households_no_longer_crash():
    # was ValueError: attempt to get argmax of an empty sequence (split.slice_cell)
    sliver = rect(60, 60, 6, 0.08)
    buildings = frame([sliver, sliver, rect(20, 20, 15, 10)], [221, 180, 40])
    layer = generate_grids(buildings, AREA, level="both")
    assert layer.report["buildings_merged"] == 1
    assert layer.report["merged"] == {"b1": "b0"}
    assert int(layer.grids.loc[layer.grids["level"] == "grid", "households"].sum()) == 221 + 40


def test_duplicates_beside_a_road_no_longer_crash():
    # was GEOSException: getX called on empty Point (generate._anchor_xy)
    strip = rect(30, 70, 18, 0.16)
    road = LineString([(X0 + 10 * M, Y0 - M), (X0 + 15 * M, Y0 + 121 * M)])
    roads = gpd.GeoDataFrame({"class": ["primary"]}, geometry=[road], crs=4326)
    buildings = frame([strip, strip, rect(60, 10, 30, 15), strip, Point(X0 + 5 * M, Y0 + 50 * M)],
                      [233, 4, 200, 61, 164])  # fmt: skip
    layer = generate_grids(buildings, AREA, roads=roads, level="both")
    assert layer.report["buildings_merged"] == 2
    micro = layer.grids[layer.grids["level"] == "micro"]
    assert int(micro["households"].sum()) == 233 + 200 + 164


def test_an_empty_footprint_is_refused_by_name():
    buildings = frame([rect(10, 10, 10, 10), Polygon()], [10, 10])
    with pytest.raises(InputError, match="building b1 has an empty geometry"):
        generate_grids(buildings, AREA, level="grid")


def test_merge_stacked_keeps_the_largest_and_its_id():
    tower = rect(10, 10, 30, 20)
    part = rect(12, 12, 10, 10)  # a building:part inside the tower
    beside = rect(40, 10, 10, 20)  # touches the tower: a neighbour, not a part
    points = [Point(X0 + 80 * M, Y0 + 80 * M)] * 2
    buildings = frame([part, tower, beside, *points], [30, 120, 50, 8, 5]).to_crs(32650)
    out, merged = merge_stacked(buildings)
    assert merged == {"b0": "b1", "b4": "b3"}
    assert out["building_id"].tolist() == ["b1", "b2", "b3"]
    assert out["households"].tolist() == [120, 50, 8]  # the largest count, not the sum


def test_clean_footprints_turns_flat_rings_into_points():
    flat = Polygon([(X0, Y0), (X0 + 10 * M, Y0), (X0 + 20 * M, Y0)])
    bowtie = Polygon([(X0, Y0), (X0 + 10 * M, Y0 + 10 * M), (X0 + 10 * M, Y0), (X0, Y0 + 10 * M)])
    out = clean_footprints(frame([flat, bowtie], [1, 2]).to_crs(32650))
    assert out.geom_type.tolist() == ["Point", "MultiPolygon"]
    assert out.is_valid.all()


def test_fill_pinholes_fills_gaps_but_not_cells():
    outer = box(0, 0, 100, 100)
    gap = box(10, 10, 10.5, 10.5)  # 0.25 m², filled by nothing
    cell = box(50, 50, 50.8, 50.8)  # 0.64 m², another polygon of the layer
    holed = outer.difference(gap).difference(cell)
    out = fill_pinholes(np.array([holed, cell], dtype=object))
    assert len(out[0].interiors) == 1
    assert shapely.Polygon(out[0].interiors[0]).equals(cell)


def test_a_tower_is_not_drawn_as_a_barcode():
    # 600 households on a 24 m footprint: strips of 30-50 households would be < 2 m wide
    tower = rect(50, 50, 24, 18)
    low = [rect(10 + 14 * i, 10, 10, 8) for i in range(6)]
    buildings = frame([tower, *low], [600] + [20] * 6, units=[2] + [1] * 6, floors=[30] + [3] * 6)
    layer = generate_grids(buildings, AREA, level="micro")
    micro = layer.grids.to_crs(AREA.estimate_utm_crs())
    widths = [2 * shapely.maximum_inscribed_circle(p, 0.05).length for p in micro.geometry]
    assert min(widths) >= 5
    over = micro[micro["households"] > 50]
    assert len(over) > 0
    assert over["reason"].str.contains("b0").all() and over["reason"].str.contains("米").all()
    parts = [p for ps in micro["parts"] for p in ps]
    assert all(p[0] == "b0" and "单元" in p[1] for p in parts)


def test_empty_land_joins_its_neighbour():
    # a road cuts off an empty strip of land: it belongs to a micro-grid with households
    road = LineString([(X0 + 100 * M, Y0 - M), (X0 + 100 * M, Y0 + 121 * M)])
    roads = gpd.GeoDataFrame({"class": ["primary"]}, geometry=[road], crs=4326)
    houses = [rect(10 + 20 * (i % 4), 10 + 25 * (i // 4), 12, 10) for i in range(12)]
    layer = generate_grids(frame(houses, [10] * 12), AREA, roads=roads, level="both")
    assert (layer.grids["households"] > 0).all()
    utm = AREA.estimate_utm_crs()
    micro = layer.grids[layer.grids["level"] == "micro"].to_crs(utm)
    area = AREA.to_crs(utm).geometry.iloc[0]
    assert abs(micro.union_all().area - area.area) < area.length * 0.01  # 1 cm snapping
    assert layer.report["grid"]["barrier_crossing"] == 0  # nobody lives across the road


def test_a_grid_crosses_a_road_only_with_a_reason():
    road = LineString([(X0 + 100 * M, Y0 - M), (X0 + 100 * M, Y0 + 121 * M)])
    roads = gpd.GeoDataFrame({"class": ["primary"]}, geometry=[road], crs=4326)
    west = [rect(10 + 20 * (i % 4), 10 + 25 * (i // 4), 12, 10) for i in range(12)]
    east = [rect(105, 20, 10, 10), rect(105, 60, 10, 10)]
    layer = generate_grids(frame(west + east, [10] * 14), AREA, roads=roads, level="grid",
                           grid_bounds=(100, 200))  # fmt: skip
    assert layer.report["grid"]["barrier_crossing"] == 1
    [why] = layer.report["grid"]["barrier_crossing_reasons"]
    assert "一侧只有 20 户" in why["reason"] and "only 20 households" in why["reason"]


def test_generated_layer_passes_its_own_validation():
    tower = rect(50, 50, 30, 15)
    part = rect(55, 52, 10, 10)  # stacked building:part, counted once
    houses = [rect(5 + 15 * i, 10, 10, 8) for i in range(7)]
    buildings = frame([tower, part, *houses], [90, 90] + [15] * 7)
    layer = generate_grids(buildings, AREA, level="both")
    problems = validate_layer(layer.grids, buildings, AREA)
    assert (problems["severity"] != "error").all(), problems["message"].tolist()
    assert "households_stale" not in set(problems["kind"])
