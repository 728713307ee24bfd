"""多格合一: comparing departments' grid layers and unifying them (geo.grids.unify)."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS
from shapely.geometry import box

from geo.errors import CRSMismatchError, InputError
from geo.grids.generate import generate_grids
from geo.grids.unify import FINDING_KINDS, compare_layers, summarise, unify_layers

UTM = CRS.from_epsg(32650)
X0, Y0 = 500000.0, 3540000.0
CODE = "990101001001"


def frame(geoms, **columns) -> gpd.GeoDataFrame:
    """Geometries drawn in metres (UTM 50N), returned in EPSG:4326."""
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=UTM).to_crs(4326)


def rect(x0: float, x1: float, y0: float = 0, y1: float = 400):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def metres(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(UTM)


@dataclass
class Departments:
    boundary: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    zongzhi: gpd.GeoDataFrame  # 综治: three grids of 400 households, the last sticking out
    chengguan: gpd.GeoDataFrame  # 城管: two grids overlapping by a strip, a gap in the east

    @property
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        return {"综治": self.zongzhi, "城管": self.chengguan}


def two_departments() -> Departments:
    """A 600 × 400 m community with 24 buildings of 50 households on a 100 m lattice
    (columns at x = 50, 150 … 550): 1,200 households.

    综治 (by code): A1 [0, 200], A2 [200, 400], A3 [400, 620] (20 m outside the boundary).
    城管 (by name): B1 [0, 300] (600 households), B2 [280, 500] (overlaps B1 on [280, 300]);
    [500, 600] is in no 城管 grid.
    """
    ids, footprints = [], []
    for cx in (50, 150, 250, 350, 450, 550):
        for cy in (50, 150, 250, 350):
            ids.append(f"b{cx}_{cy}")
            footprints.append(box(X0 + cx - 10, Y0 + cy - 10, X0 + cx + 10, Y0 + cy + 10))
    return Departments(
        boundary=frame([rect(0, 600)], code=[CODE]),
        buildings=frame(footprints, building_id=ids, households=[50] * len(ids)),
        zongzhi=frame([rect(0, 200), rect(200, 400), rect(400, 620)], code=["A1", "A2", "A3"]),
        chengguan=frame([rect(0, 300), rect(280, 500)], name=["B1", "B2"]),
    )


def assert_partition(grids: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame) -> None:
    """The grids cover the boundary exactly: no gaps, no overlaps (areas within 1e-6)."""
    g = metres(grids).geometry
    area = metres(boundary).area.sum()
    assert abs(shapely.union_all(g.to_numpy()).area - area) <= 1e-6 * area
    assert abs(g.area.sum() - area) <= 1e-6 * area


@pytest.fixture(scope="module")
def departments() -> Departments:
    return two_departments()


# -- compare -------------------------------------------------------------------------------


def test_compare_finds_each_kind_where_it_is(departments):
    found = compare_layers(
        departments.layers, boundary=departments.boundary, buildings=departments.buildings
    )
    assert found.crs.to_epsg() == 4326
    assert list(found.columns) == [
        "kind", "layer", "code", "other_layer", "other_code", "area_m2", "households",
        "message", "geometry",
    ]  # fmt: skip
    m = metres(found)
    by_kind = {k: m[m["kind"] == k] for k in FINDING_KINDS}

    (overlap,) = by_kind["overlap"].itertuples()
    assert (overlap.layer, overlap.code, overlap.other_layer, overlap.other_code) == (
        "城管", "B1", "城管", "B2",
    )  # fmt: skip
    assert overlap.area_m2 == pytest.approx(20 * 400)
    assert overlap.households == 0
    assert shapely.symmetric_difference(overlap.geometry, rect(280, 300)).area < 1e-3

    (gap,) = by_kind["gap"].itertuples()
    assert gap.layer == "城管" and gap.code is None
    assert gap.area_m2 == pytest.approx(100 * 400)
    assert gap.households == 4 * 50
    assert shapely.symmetric_difference(gap.geometry, rect(500, 600)).area < 1e-3

    (outside,) = by_kind["outside_boundary"].itertuples()
    assert (outside.layer, outside.code) == ("综治", "A3")
    assert outside.area_m2 == pytest.approx(20 * 400)
    assert shapely.symmetric_difference(outside.geometry, rect(600, 620)).area < 1e-3

    conflicts = {
        (r.code, r.other_code): (r.area_m2, r.households, r.geometry)
        for r in by_kind["conflict"].itertuples()
    }
    # A1 lies wholly inside B1 (nested: no disagreement); A1 and B2 do not meet
    assert set(conflicts) == {("A2", "B1"), ("A2", "B2"), ("A3", "B2")}
    expected = {("A2", "B1"): (200, 300), ("A2", "B2"): (280, 400), ("A3", "B2"): (400, 500)}
    for pair, (x0, x1) in expected.items():
        area, households, geom = conflicts[pair]
        assert area == pytest.approx((x1 - x0) * 400)
        assert households == 4 * 50  # one column of buildings in each piece
        assert shapely.symmetric_difference(geom, rect(x0, x1)).area < 1e-3
    assert set(by_kind["conflict"]["layer"]) == {"综治"}
    assert set(by_kind["conflict"]["other_layer"]) == {"城管"}


def test_compare_messages_say_which_id_column(departments):
    found = compare_layers(departments.layers, boundary=departments.boundary)
    messages = " | ".join(found["message"])
    assert "综治 code=A2" in messages and "城管 name=B1" in messages
    assert "households" not in found.columns

    unnamed = departments.chengguan.drop(columns=["name"])
    found = compare_layers({"城管": unnamed}, boundary=departments.boundary)
    overlap = found[found["kind"] == "overlap"].iloc[0]
    assert (overlap["code"], overlap["other_code"]) == ("1", "2")
    assert "城管 row=1 and 城管 row=2 overlap" in overlap["message"]


def test_compare_without_boundary_measures_gaps_against_all_layers(departments):
    found = metres(compare_layers(departments.layers))
    assert "outside_boundary" not in set(found["kind"])
    (gap,) = found[found["kind"] == "gap"].itertuples()
    assert gap.layer == "城管"
    assert gap.area_m2 == pytest.approx(120 * 400)  # up to A3's edge at 620
    assert shapely.symmetric_difference(gap.geometry, rect(500, 620)).area < 1e-3


def test_compare_ignores_slivers_narrower_than_the_tolerance():
    # B2 redrawn 0.4 m into A2: a drawing sliver, not an overlap
    layer = frame([rect(0, 200), rect(199.6, 400)], code=["A", "B"])
    assert len(compare_layers({"x": layer}, boundary=frame([rect(0, 400)]))) == 0
    found = compare_layers({"x": layer}, tolerance_m=0.1)
    assert list(found["kind"]) == ["overlap"]
    # two layers that agree up to a sliver do not conflict
    other = frame([rect(0, 200.5), rect(200.5, 400)], code=["C", "D"])
    assert len(compare_layers({"x": layer, "y": other})) == 0


def test_summarise_counts_per_kind_and_layer(departments):
    found = compare_layers(
        departments.layers, boundary=departments.boundary, buildings=departments.buildings
    )
    summary = summarise(found)
    assert summary["findings"] == 6
    assert summary["kinds"] == {"overlap": 1, "gap": 1, "conflict": 3, "outside_boundary": 1}
    assert summary["layers"]["综治"] == {
        "overlap": 0, "gap": 0, "conflict": 3, "outside_boundary": 1,
    }  # fmt: skip
    assert summary["layers"]["城管"] == {
        "overlap": 1, "gap": 1, "conflict": 3, "outside_boundary": 0,
    }  # fmt: skip
    assert summary["households"]["conflict"] == 600
    assert summary["area_m2"]["gap"] == pytest.approx(40000)

    empty = compare_layers({"x": departments.zongzhi.iloc[:2]})
    assert len(empty) == 0 and list(empty.columns)[-1] == "geometry"
    assert summarise(empty)["kinds"] == dict.fromkeys(FINDING_KINDS, 0)


def test_compare_refuses_bad_input(departments):
    with pytest.raises(CRSMismatchError, match="layer '综治'"):
        compare_layers({"综治": departments.zongzhi.to_crs(UTM)})
    with pytest.raises(InputError, match="must be polygons"):
        compare_layers(
            {"x": departments.buildings.set_geometry(departments.buildings.representative_point())}
        )
    with pytest.raises(InputError, match="tolerance_m"):
        compare_layers(departments.layers, tolerance_m=-1)
    with pytest.raises(InputError, match="households"):
        compare_layers(
            departments.layers, buildings=departments.buildings.drop(columns="households")
        )


# -- unify ---------------------------------------------------------------------------------


def test_unify_keeps_every_grid_that_fits_and_covers_the_boundary(departments):
    layer = unify_layers(departments.layers, departments.buildings, departments.boundary)
    grids, report = layer.grids, layer.report
    assert grids.crs.to_epsg() == 4326
    assert_partition(grids, departments.boundary)
    assert grids["within_bounds"].all()
    assert grids["households"].sum() == 1200
    # A1 is within bounds and clashes with no other grid that is: it must be kept. A2 and A3
    # clash only with B2; keeping both (and not B2) keeps the most.
    assert set(zip(grids["source_layer"], grids["source_code"], strict=True)) == {
        ("综治", "A1"), ("综治", "A2"), ("综治", "A3"),
    }  # fmt: skip
    assert (grids["origin"] == "kept").all()
    assert report["kept"] == 3 and report["new"] == 0 and report["kept_share"] == 1.0
    assert report["layers"]["综治"]["kept"] == 3
    assert report["layers"]["城管"] == {
        "id_column": "name", "grids": 2, "candidates": 2,
        "kept": 0, "agrees": 0, "rejected": 2, "released": 0,
    }  # fmt: skip
    decisions = {(d["layer"], d["code"]): d for d in report["candidates"]}
    assert decisions[("城管", "B1")]["reason"] == "600 households, outside 300–500"
    assert "overlaps kept 综治 code=A2" in decisions[("城管", "B2")]["reason"]
    assert "clipped to the boundary" in decisions[("综治", "A3")]["reason"]
    # kept as drawn (A3 clipped to the boundary)
    m = metres(grids).set_index("source_code").geometry
    for code, x0, x1 in (("A1", 0, 200), ("A2", 200, 400), ("A3", 400, 600)):
        assert shapely.symmetric_difference(m[code], rect(x0, x1)).area < 1e-3
    # codes: community code + sequence west to east
    assert list(grids.sort_values("source_code")["code"]) == [
        CODE + s for s in ("001", "002", "003")
    ]
    assert report["internal_boundary_share"] == pytest.approx(1.0)
    assert report["infeasible"] == []


def test_unify_with_priority_gives_up_what_cannot_be_kept_within_bounds(departments):
    layer = unify_layers(
        departments.layers, departments.buildings, departments.boundary, priority=["城管"]
    )
    grids, report = layer.grids, layer.report
    assert_partition(grids, departments.boundary)
    assert grids["within_bounds"].all()
    assert grids["households"].sum() == 1200
    # B2 first would leave [200, 280] and [500, 600] with 200 households each, which no
    # neighbour can take: B2 is given up and 综治's grids fit around what is left
    decisions = {(d["layer"], d["code"]): d["decision"] for d in report["candidates"]}
    assert decisions[("城管", "B2")] == "released"
    assert report["released"] == 1
    assert report["kept"] + report["new"] == len(grids)
    assert report["kept"] == sum(d == "kept" for d in decisions.values())
    assert report["orders"] == [{"area_code": CODE, "order": "priority"}]


def test_unify_divides_the_land_no_layer_covers(departments):
    only = {"综治": departments.zongzhi.iloc[:2]}  # A1 and A2: [400, 600] is left
    layer = unify_layers(only, departments.buildings, departments.boundary)
    grids = metres(layer.grids)
    assert_partition(layer.grids, departments.boundary)
    new = grids[grids["origin"] == "new"]
    assert len(new) == 1 and new["households"].iloc[0] == 400
    assert shapely.symmetric_difference(new.geometry.iloc[0], rect(400, 600)).area < 1
    assert layer.report["kept"] == 2 and layer.report["new"] == 1
    members = sorted(b for m in new["members"] for b, _ in m)
    assert members == sorted(f"b{x}_{y}" for x in (450, 550) for y in (50, 150, 250, 350))


def test_unify_joins_empty_leftover_land_to_a_neighbour(departments):
    # A2 stops 10 m short of A3: the strip holds no building, so it joins a neighbour
    drawn = frame([rect(0, 200), rect(200, 390), rect(400, 600)], code=["A1", "A2", "A3"])
    layer = unify_layers({"综治": drawn}, departments.buildings, departments.boundary)
    grids = layer.grids
    assert_partition(grids, departments.boundary)
    assert (grids["origin"] == "kept").all() and len(grids) == 3
    assert grids["added_m2"].sum() == pytest.approx(10 * 400, rel=1e-6)
    assert any("took over 4,000 m²" in (d["reason"] or "") for d in layer.report["candidates"])


def test_unify_same_grid_in_two_layers_is_counted_as_agreeing(departments):
    copy = departments.zongzhi.rename(columns={"code": "id"})
    layer = unify_layers({"综治": departments.zongzhi, "公安": copy}, departments.buildings,
                         departments.boundary)  # fmt: skip
    grids = layer.grids
    assert len(grids) == 3 and (grids["origin"] == "kept").all()
    assert all(len(a) == 1 for a in grids["agreeing"])
    assert layer.report["layers"]["公安"]["agrees"] + layer.report["layers"]["综治"]["agrees"] == 3


def test_unify_level_both_nests_micro_grids(departments):
    layer = unify_layers(
        departments.layers, departments.buildings, departments.boundary, level="both"
    )
    grids = layer.grids
    top = grids[grids["level"] == "grid"]
    micro = metres(grids[grids["level"] == "micro"])
    assert len(top) == 3 and len(micro) >= 3 * 8
    top_m = metres(top).set_index("code")
    for code, parent in top_m.iterrows():
        mine = micro[micro["parent_code"] == code]
        assert mine["code"].str.startswith(code).all() and (mine["code"].str.len() == 18).all()
        assert mine["households"].sum() == parent["households"]
        union = shapely.union_all(mine.geometry.to_numpy())
        assert abs(union.area - parent.geometry.area) <= 1e-6 * parent.geometry.area
    assert layer.report["micro"]["within_bounds"] == len(micro)


def test_unify_without_layers_generates_everything(departments):
    layer = unify_layers({}, departments.buildings, departments.boundary)
    assert_partition(layer.grids, departments.boundary)
    assert (layer.grids["origin"] == "new").all() and layer.report["kept"] == 0
    assert layer.grids["within_bounds"].all()


def test_unify_refuses_bad_input(departments):
    args = (departments.layers, departments.buildings, departments.boundary)
    with pytest.raises(InputError, match="priority names unknown layer"):
        unify_layers(*args, priority=["公安"])
    with pytest.raises(InputError, match="level must be one of"):
        unify_layers(*args, level="street")
    with pytest.raises(InputError, match="grid bounds"):
        unify_layers(*args, grid_bounds=(500, 300))
    with pytest.raises(CRSMismatchError, match="boundary"):
        unify_layers(departments.layers, departments.buildings, departments.boundary.to_crs(UTM))
    with pytest.raises(InputError, match="building_id"):
        unify_layers(departments.layers, departments.buildings.drop(columns="building_id"),
                     departments.boundary)  # fmt: skip
    mixed = gpd.GeoDataFrame(
        {"level": ["grid", "micro"]}, geometry=list(departments.zongzhi.geometry[:2]), crs=4326
    )
    with pytest.raises(InputError, match="mixes levels"):
        compare_layers({"x": mixed})


# -- a synthetic community -----------------------------------------------------------------


@pytest.mark.slow
def test_unify_two_generated_department_layers_of_a_synthetic_community():
    from data.synthetic import generate_city

    city = generate_city(size="community", seed=0)
    community, buildings, roads = city.communities, city.buildings, city.roads
    zongzhi = generate_grids(buildings, community, roads=roads, grid_bounds=(250, 450)).grids
    chengguan = generate_grids(buildings, community, roads=roads, grid_bounds=(350, 550)).grids
    layers = {"综治": zongzhi, "城管": chengguan}

    found = compare_layers(layers, boundary=community, buildings=buildings)
    assert set(found["kind"]) == {"conflict"}  # both tile the community, differently
    assert (found["households"] >= 0).all()

    layer = unify_layers(layers, buildings, community, roads=roads)
    grids, report = layer.grids, layer.report
    assert_partition(grids, community)
    assert grids["within_bounds"].all()
    assert grids["households"].sum() == buildings["households"].sum()
    assert grids["code"].is_unique
    assert grids["code"].str.fullmatch(community["code"].iloc[0] + r"\d{3}").all()
    assert report["kept"] >= len(grids) // 2
    assert report["kept"] == sum(v["kept"] for v in report["layers"].values())
    assert 0.5 <= report["kept_share"] <= 1.0
    assert report["internal_boundary_share"] >= 0.8
    # every kept grid is its department's grid, plus at most the land it took over
    sources = {
        ("综治", c): g for c, g in zip(zongzhi["code"], metres(zongzhi).geometry, strict=True)
    }
    sources |= {
        ("城管", c): g for c, g in zip(chengguan["code"], metres(chengguan).geometry, strict=True)
    }
    for row in metres(grids[grids["origin"] == "kept"]).itertuples():
        drawn = sources[(row.source_layer, row.source_code)]
        assert shapely.difference(drawn, row.geometry).area < 1.0
        assert row.geometry.area - drawn.area == pytest.approx(row.added_m2, abs=1.0)
    # numbered in reading order: north to south, west to east
    assert np.all(np.diff([int(c[-3:]) for c in grids.sort_values("code")["code"]]) == 1)
