"""Tests for geo.grids.edit: validating and redrawing grid layers."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, box

from geo.errors import CRSMismatchError, InputError
from geo.grids.edit import (
    PROBLEM_KINDS,
    merge_grids,
    move_buildings,
    recount,
    regenerate,
    split_grid,
    validate_layer,
)

UTM = "EPSG:32650"  # the zone of the test scenes (118.85 E)
ORIGIN = (674_000.0, 3_537_000.0)
COMMUNITY = "990101001001"
A, B, C = (f"{COMMUNITY}{n:03d}" for n in (1, 2, 3))


# -- hand-made scenes, drawn in local metres ----------------------------------------------------


def _wgs(geoms) -> gpd.GeoSeries:
    moved = [affinity.translate(g, *ORIGIN) if g is not None else None for g in geoms]
    return gpd.GeoSeries(moved, crs=UTM).to_crs(4326)


def _local(geom):
    """A problem's geometry back in the scene's local metres."""
    metric = gpd.GeoSeries([geom], crs=4326).to_crs(UTM).iloc[0]
    return affinity.translate(metric, -ORIGIN[0], -ORIGIN[1])


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    geoms = [r.pop("geometry") for r in rows]
    return gpd.GeoDataFrame(rows, geometry=_wgs(geoms), crs=4326)


def _grids(*rows) -> gpd.GeoDataFrame:
    out = []
    for row in rows:
        code, geom, *rest = row
        level = rest[0] if rest else ("micro" if len(code) == 18 else "grid")
        parent = rest[1] if len(rest) > 1 else (code[:15] if level == "micro" else None)
        out.append({"code": code, "level": level, "parent_code": parent, "geometry": geom})
    return _frame(out)


def _boundary() -> gpd.GeoDataFrame:
    return _frame([{"code": COMMUNITY, "geometry": box(0, 0, 200, 100)}])


def _buildings(*extra) -> gpd.GeoDataFrame:
    rows = [
        {"building_id": "b1", "households": 200, "households_estimated": False,
         "geometry": box(20, 20, 30, 30)},
        {"building_id": "b2", "households": 150, "households_estimated": True,
         "geometry": box(60, 60, 70, 70)},
        {"building_id": "b3", "households": 400, "households_estimated": False,
         "geometry": box(150, 40, 160, 50)},
    ]  # fmt: skip
    for building_id, households, geom in extra:
        rows.append(
            {"building_id": building_id, "households": households,
             "households_estimated": False, "geometry": geom}
        )  # fmt: skip
    return _frame(rows)


def _two_grids(a=box(0, 0, 100, 100), b=box(100, 0, 200, 100)) -> gpd.GeoDataFrame:
    return _grids((A, a), (B, b))


def _kinds(problems: gpd.GeoDataFrame) -> set[str]:
    return set(problems["kind"])


def _only(problems: gpd.GeoDataFrame, kind: str) -> gpd.GeoSeries:
    rows = problems[problems["kind"] == kind]
    assert len(rows) == 1, problems[["kind", "message"]].to_string()
    return rows.iloc[0]


def test_clean_layer_has_no_problems():
    problems = validate_layer(_two_grids(), _buildings(), _boundary())
    assert problems.empty
    assert problems.crs.to_epsg() == 4326
    assert {"kind", "code", "other_code", "message", "severity", "geometry"} <= set(
        problems.columns
    )


def test_overlap_is_reported_where_it_is():
    grids = _two_grids(b=box(90, 0, 200, 100))
    problems = validate_layer(grids, _buildings(), _boundary())
    row = _only(problems, "overlap")
    assert (row.code, row.other_code, row.severity) == (A, B, "error")
    where = _local(row.geometry)
    assert where.area == pytest.approx(1000, rel=1e-3)
    assert np.allclose(where.bounds, (90, 0, 100, 100), atol=0.01)
    assert "1,000.0 m²" in row.message_en


def test_building_in_two_grids_is_reported_at_its_point():
    grids = _two_grids(b=box(90, 0, 200, 100))
    buildings = _buildings(("b4", 10, box(92, 45, 98, 55)))
    problems = validate_layer(grids, buildings, _boundary())
    row = _only(problems, "building_in_two_grids")
    assert {row.code, row.other_code} == {A, B}
    assert "b4" in row.message_en
    assert _local(row.geometry).distance(shapely.Point(95, 50)) < 0.01


def test_gap_and_building_left_out():
    grids = _two_grids(a=box(0, 0, 90, 100))
    buildings = _buildings(("b4", 12, box(93, 45, 97, 55)))
    problems = validate_layer(grids, buildings, _boundary())
    gap = _only(problems, "gap")
    assert gap.code is None
    assert np.allclose(_local(gap.geometry).bounds, (90, 0, 100, 100), atol=0.01)
    assert "1,000.0 m²" in gap.message_en and COMMUNITY in gap.message_en
    left = _only(problems, "building_left_out")
    assert "b4" in left.message_en and "12 households" in left.message_en
    assert _local(left.geometry).distance(shapely.Point(95, 50)) < 0.01


def test_slivers_within_tolerance_are_ignored():
    # 0.3 m gap and 0.4 m overlap strips: rounding, not problems
    grids = _grids(
        (A, box(0, 0, 99.7, 50)), (B, box(100, 0, 200, 100)), (C, box(0, 50, 100.4, 100))
    )
    problems = validate_layer(grids, _buildings(), _boundary(), grid_bounds=(1, 1000))
    assert problems.empty, problems[["kind", "message"]].to_string()
    # with a finer tolerance they are reported
    fine = validate_layer(grids, _buildings(), _boundary(), grid_bounds=(1, 1000), tolerance_m=0.1)
    assert {"gap", "overlap"} <= _kinds(fine)


def test_multipolygon_grid_is_not_contiguous_with_its_stray_part():
    a = MultiPolygon([box(0, 0, 100, 60), box(0, 70, 100, 100)])
    grids = _grids((A, a), (B, box(100, 0, 200, 100)), (C, box(0, 60, 100, 70)))
    problems = validate_layer(grids, _buildings(), _boundary(), grid_bounds=(0.5, 1000))
    row = _only(problems, "not_contiguous")
    assert row.code == A and row.severity == "error"
    assert np.allclose(_local(row.geometry).bounds, (0, 70, 100, 100), atol=0.01)
    assert "2 separate parts" in row.message_en


def test_polygon_touching_itself_at_a_point():
    # one ring, two squares meeting at a corner (50, 50)
    ring = Polygon([(0, 0), (50, 0), (50, 50), (100, 50), (100, 100), (50, 100), (50, 50), (0, 50)])
    grids = _grids((A, ring), (B, box(100, 0, 200, 100)))
    problems = validate_layer(grids, _buildings(), _boundary(), grid_bounds=(1, 1000))
    assert {"invalid_geometry", "not_contiguous", "gap"} <= _kinds(problems)
    invalid = _only(problems, "invalid_geometry")
    assert invalid.code == A and "Self-intersection" in invalid.message_en
    assert _local(invalid.geometry).distance(shapely.Point(50, 50)) < 0.01


def test_self_intersecting_grid_is_invalid_with_its_crossing():
    bowtie = Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
    grids = _grids((A, bowtie), (B, box(100, 0, 200, 100)))
    problems = validate_layer(grids, _buildings(), _boundary(), grid_bounds=(1, 1000))
    invalid = _only(problems, "invalid_geometry")
    assert "Self-intersection" in invalid.message_en
    assert _local(invalid.geometry).distance(shapely.Point(50, 50)) < 0.01


def test_grid_outside_the_boundary():
    grids = _two_grids(b=box(100, 0, 210, 100))
    row = _only(validate_layer(grids, _buildings(), _boundary()), "outside_boundary")
    assert row.code == B
    assert np.allclose(_local(row.geometry).bounds, (200, 0, 210, 100), atol=0.01)


def test_bad_and_duplicate_codes():
    grids = _grids(("12345", box(0, 0, 100, 100), "grid"), (B, box(100, 0, 200, 100)))
    problems = validate_layer(grids, _buildings(), _boundary())
    assert "not 15 digits" in _only(problems, "code_invalid").message_en

    grids = _grids((B, box(0, 0, 100, 100)), (B, box(100, 0, 200, 100)))
    row = _only(validate_layer(grids, _buildings(), _boundary()), "code_duplicate")
    assert row.code == B and "2 rows" in row.message_en
    assert _local(row.geometry).area == pytest.approx(20_000, rel=1e-6)

    other = "990101001002001"  # another community's prefix
    grids = _grids((other, box(0, 0, 100, 100)), (B, box(100, 0, 200, 100)))
    row = _only(validate_layer(grids, _buildings(), _boundary()), "code_invalid")
    assert row.code == other and COMMUNITY in row.message_en


def _nested(**changes) -> gpd.GeoDataFrame:
    rows = {
        A: (A, box(0, 0, 100, 100)),
        B: (B, box(100, 0, 200, 100)),
        A + "001": (A + "001", box(0, 0, 50, 100)),
        A + "002": (A + "002", box(50, 0, 100, 100)),
        B + "001": (B + "001", box(100, 0, 200, 100)),
    }
    rows.update(changes)
    return _grids(*[r for r in rows.values() if r is not None])


def test_nested_layer_is_clean():
    problems = validate_layer(_nested(), _buildings(), _boundary(), micro_bounds=(1, 500))
    assert problems.empty, problems[["kind", "message"]].to_string()


def test_micro_not_nested_reaching_outside_its_parent():
    grids = _nested(**{A + "002": (A + "002", box(50, 0, 110, 100))})
    problems = validate_layer(grids, _buildings(), _boundary(), micro_bounds=(1, 500))
    row = _only(problems, "micro_not_nested")
    assert (row.code, row.other_code) == (A + "002", A)
    assert np.allclose(_local(row.geometry).bounds, (100, 0, 110, 100), atol=0.01)
    assert "overlap" in _kinds(problems)  # with B's micro-grid


def test_micro_with_missing_parent_and_bad_micro_codes():
    orphan = "990101001001009001"
    grids = _nested(**{A + "002": (orphan, box(50, 0, 100, 100))})
    problems = validate_layer(grids, _buildings(), _boundary(), micro_bounds=(1, 500))
    row = _only(problems, "micro_not_nested")
    assert row.code == orphan and "not in the layer" in row.message_en
    gap = problems[problems["kind"] == "gap"]
    assert list(gap["code"]) == [A]  # half of A lies in none of its micro-grids
    assert np.allclose(_local(gap.geometry.iloc[0]).bounds, (50, 0, 100, 100), atol=0.01)

    wrong = (B + "002", box(50, 0, 100, 100), "micro", A)  # code under B, parent A
    problems = validate_layer(
        _nested(**{A + "002": wrong}), _buildings(), _boundary(), micro_bounds=(1, 500)
    )
    row = _only(problems, "code_invalid")
    assert row.code == B + "002" and "parent" in row.message_en


def test_micro_sum_mismatch_from_recorded_households():
    grids = _nested()
    grids["households"] = [350, 400, 200, 100, 400]
    problems = validate_layer(grids, _buildings(), _boundary(), micro_bounds=(1, 500))
    row = _only(problems, "micro_sum_mismatch")
    assert row.code == A and "300" in row.message_en and "350" in row.message_en
    assert "households_stale" in _kinds(problems)  # A2 records 100, holds 150


def test_out_of_bounds_counts_from_buildings_and_flags_estimates():
    problems = validate_layer(_two_grids(), _buildings(), _boundary(), grid_bounds=(400, 500))
    row = _only(problems, "households_out_of_bounds")
    assert row.code == A and row.severity == "warning"
    assert "350 households" in row.message_en and "fewer than the minimum 400" in row.message_en
    assert "1 of them with estimated households" in row.message_en


def test_problem_kinds_are_known_and_errors_come_first():
    grids = _grids(("12345", box(0, 0, 90, 100), "grid"), (B, box(100, 0, 210, 100)))
    problems = validate_layer(grids, _buildings(), _boundary(), grid_bounds=(400, 500))
    assert set(problems["kind"]) <= set(PROBLEM_KINDS)
    severities = list(problems["severity"])
    assert severities == sorted(severities)  # 'error' < 'warning'


def test_crs_mismatch_is_an_error():
    with pytest.raises(CRSMismatchError):
        validate_layer(_two_grids().to_crs(3857), _buildings(), _boundary())
    with pytest.raises(CRSMismatchError):
        validate_layer(_two_grids(), _buildings().to_crs(UTM), _boundary())


# -- property: strips of a rectangle ------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 19).map(lambda k: k * 10), min_size=1, max_size=6, unique=True),
    pick=st.integers(0, 6),
    shift=st.floats(1.0, 4.0),
    grow=st.booleans(),
)
def test_strips_validate_and_one_moved_edge_is_found(cuts, pick, shift, grow):
    edges = [0, *sorted(cuts), 200]
    strips = [box(x0, 0, x1, 100) for x0, x1 in zip(edges[:-1], edges[1:], strict=True)]
    codes = [f"{COMMUNITY}{i + 1:03d}" for i in range(len(strips))]
    rows = list(zip(codes, strips, strict=True))
    clean = validate_layer(_grids(*rows), _buildings(), _boundary(), grid_bounds=(1, 10_000))
    assert _errors(clean).empty, clean[["kind", "message"]].to_string()

    i = pick % (len(strips) - 1)  # move the right edge of strip i
    x0, x1 = edges[i], edges[i + 1]
    right = x1 + shift if grow else x1 - shift  # strips are at least 10 m wide
    rows[i] = (codes[i], box(x0, 0, right, 100))
    problems = validate_layer(_grids(*rows), _buildings(), _boundary(), grid_bounds=(1, 10_000))
    kind = "overlap" if grow else "gap"
    row = _only(problems, kind)
    lo, hi = sorted((x1, right))
    assert _local(row.geometry).area == pytest.approx((hi - lo) * 100, rel=1e-3)
    assert np.allclose(_local(row.geometry).bounds, (lo, 0, hi, 100), atol=0.01)


# -- recount -----------------------------------------------------------------------------------


def test_recount_after_redrawing_edges():
    grids = _two_grids(a=box(0, 0, 170, 100), b=box(170, 0, 200, 100))
    grids["households"] = [350, 400]
    out = recount(grids, _buildings())
    assert list(out["households"]) == [750, 0]
    assert sorted(m[0] for m in out["members"].iloc[0]) == ["b1", "b2", "b3"]
    assert list(out["within_bounds"]) == [False, False]
    assert out["reason"].iloc[0] == "750 households, outside 300–500"
    assert out.index.equals(grids.index)
    assert grids["households"].tolist() == [350, 400]  # input untouched


def test_recount_keeps_a_split_while_it_holds():
    big = ("big", 90, box(40, 40, 60, 60))
    buildings = _buildings(big)
    grids = _nested()
    grids["members"] = [[], [], [["big", 45]], [["big", 45]], []]
    out = recount(grids, buildings, micro_bounds=(1, 500)).set_index("code")
    assert out.loc[A + "001", "members"] == [["b1", 200], ["big", 45]]
    assert out.loc[A + "002", "members"] == [["b2", 150], ["big", 45]]
    assert out.loc[A, "households"] == 440
    # A2 redrawn away from the footprint: the whole building goes to the grid with its point
    grids = _nested(**{A + "001": (A + "001", box(0, 0, 70, 100)),
                       A + "002": (A + "002", box(70, 0, 100, 100))})  # fmt: skip
    grids["members"] = [[], [], [["big", 45]], [["big", 45]], []]
    out = recount(grids, buildings, micro_bounds=(1, 500)).set_index("code")
    assert out.loc[A + "001", "members"] == [["b1", 200], ["b2", 150], ["big", 90]]
    assert out.loc[A + "002", "households"] == 0


# -- move on a hand-made scene ------------------------------------------------------------------


def test_move_hands_over_the_land_cell():
    grids = recount(_two_grids(), _buildings())
    moved = move_buildings(grids, _buildings(), _boundary(), "b2", to_code=B)
    assert list(moved["households"]) == [200, 550]
    assert moved["members"].iloc[1] == [["b2", 150], ["b3", 400]]
    metric = moved.to_crs(UTM)
    union = shapely.union_all(metric.geometry.to_numpy()).area
    assert union == pytest.approx(20_000, rel=1e-6)  # edges bend by micrometres at most
    assert metric.area.sum() == pytest.approx(union, rel=1e-6)  # no overlap
    assert all(metric.geom_type == "Polygon")
    a = _local(moved.geometry.iloc[0])
    assert a.contains(shapely.Point(25, 25)) and not a.contains(shapely.Point(65, 65))
    assert _errors(validate_layer(moved, _buildings(), _boundary(), grid_bounds=(1, 1000))).empty

    # both buildings of A: A has no land left and is dropped
    both = move_buildings(grids, _buildings(), _boundary(), ["b1", "b2"], to_code=B)
    assert list(both["code"]) == [B] and list(both["households"]) == [750]
    assert both.to_crs(UTM).area.iloc[0] == pytest.approx(20_000, rel=1e-6)


def test_move_of_a_building_already_there_changes_nothing():
    grids = recount(_two_grids(), _buildings())
    same = move_buildings(grids, _buildings(), _boundary(), ["b3"], to_code=B)
    assert same.geometry.equals(grids.geometry)
    assert list(same["households"]) == [350, 400]


# -- generated layers ----------------------------------------------------------------------------


def _metric_area(geoms) -> float:
    return float(gpd.GeoSeries(list(geoms), crs=4326).to_crs(UTM).area.sum())


def _coverage(grids, boundary, level: str) -> tuple[float, float, float]:
    """(union area, sum of areas, boundary area) in m² for one level."""
    part = grids[grids["level"] == level].to_crs(UTM)
    union = shapely.union_all(part.geometry.to_numpy()).area
    return union, float(part.area.sum()), float(boundary.to_crs(UTM).area.sum())


def _errors(problems) -> gpd.GeoDataFrame:
    return problems[problems["severity"] == "error"]


def test_generated_layer_has_no_errors(city, layer):
    validate_layer(layer, city.buildings, city.communities)  # warm up
    start = time.perf_counter()
    problems = validate_layer(layer, city.buildings, city.communities)
    took = time.perf_counter() - start
    assert _errors(problems).empty, problems[["kind", "code", "message"]].to_string()
    assert took < 2.0  # about 0.05 s when the machine is idle
    grid_only = validate_layer(layer[layer["level"] == "grid"], city.buildings, city.communities)
    assert _errors(grid_only).empty


def _neighbour_move(layer, city, level="grid", parent=None):
    """A building of one grid, a neighbouring grid, and the result of moving it there."""
    part = layer[layer["level"] == level]
    if parent is not None:
        part = part[part["parent_code"] == parent]
    metric = part.to_crs(UTM)
    points = city.buildings.to_crs(UTM).set_index("building_id").geometry.representative_point()
    for source, source_geom, members in zip(
        part["code"], metric.geometry, part["members"], strict=True
    ):
        touching = metric[metric.geometry.intersection(source_geom).length > 20]
        for target, target_geom in zip(touching["code"], touching.geometry, strict=True):
            if target == source:
                continue
            ranked = sorted(
                (m for m in members if m[1] > 0),
                key=lambda m: points[m[0]].distance(target_geom),
            )
            for building_id, households in ranked[:3]:
                try:
                    moved = move_buildings(
                        layer, city.buildings, city.communities, [building_id], to_code=target,
                        roads=city.roads,
                    )  # fmt: skip
                except InputError:
                    continue
                return building_id, households, source, target, moved
    raise AssertionError("no movable building found")


@pytest.fixture(scope="module")
def grid_move(city, layer):
    return _neighbour_move(layer, city)


def test_move_keeps_coverage_and_households(city, layer, grid_move):
    building_id, households, source, target, moved = grid_move
    before = layer.set_index("code")
    after = moved.set_index("code")
    for level in ("grid", "micro"):
        union, total, area = _coverage(moved, city.communities, level)
        union0, total0, _ = _coverage(layer, city.communities, level)
        assert union == pytest.approx(area, rel=1e-6)
        assert total - union <= (total0 - union0) + 1e-6 * area  # no new overlap
        assert moved[moved["level"] == level]["households"].sum() == (
            layer[layer["level"] == level]["households"].sum()
        )
    assert [building_id, households] in after.loc[target, "members"]
    assert building_id not in {m[0] for m in after.loc[source, "members"]}
    assert after.loc[target, "households"] == before.loc[target, "households"] + households
    assert after.loc[source, "households"] == before.loc[source, "households"] - households
    problems = validate_layer(moved, city.buildings, city.communities)
    bad = {"overlap", "gap", "micro_not_nested", "micro_sum_mismatch", "building_left_out"}
    assert not bad & set(_errors(problems)["kind"]), problems[["kind", "message"]].to_string()
    unchanged = before.index.difference([source, target])
    unchanged = [c for c in unchanged if before.loc[c, "parent_code"] not in (source, target)]
    assert all(before.loc[c, "geometry"].equals(after.loc[c, "geometry"]) for c in unchanged)


def test_move_within_a_grid_at_micro_level(city, layer):
    parent = layer[layer["level"] == "grid"]["code"].iloc[0]
    building_id, households, source, target, moved = _neighbour_move(
        layer, city, level="micro", parent=parent
    )
    after = moved.set_index("code")
    total = int(city.buildings.set_index("building_id")["households"][building_id])
    assert households <= total  # a split building moves with all its shares
    assert [building_id, total] in after.loc[target, "members"]
    grid_rows = moved[moved["level"] == "grid"]
    assert grid_rows.geometry.equals(layer[layer["level"] == "grid"].geometry)
    problems = validate_layer(moved, city.buildings, city.communities)
    assert not {"overlap", "gap", "micro_sum_mismatch"} & set(_errors(problems)["kind"])
    union, total, area = _coverage(moved, city.communities, "micro")
    assert union == pytest.approx(area, rel=1e-6)


def test_move_errors(city, layer):
    grids = layer[layer["level"] == "grid"]
    metric = grids.to_crs(UTM)
    first = grids.iloc[0]
    last = grids.iloc[int(np.argmax(metric.distance(metric.geometry.iloc[0])))]
    far = next(m[0] for m in first["members"] if m[1] > 0)
    with pytest.raises(InputError, match="not adjacent"):
        move_buildings(grids, city.buildings, city.communities, [far], to_code=last["code"])
    with pytest.raises(InputError, match="not in the buildings"):
        move_buildings(grids, city.buildings, city.communities, ["nope"], to_code=last["code"])
    with pytest.raises(InputError, match="no grid"):
        move_buildings(grids, city.buildings, city.communities, [far], to_code="990101001001999")
    micro = layer[layer["level"] == "micro"]
    other = micro[micro["parent_code"] != first["code"]].iloc[0]
    with pytest.raises(InputError, match="inside one grid"):
        move_buildings(layer, city.buildings, city.communities, [far], to_code=other["code"])


def test_regenerate_keeps_locked_grids_exactly(city, layer):
    codes = list(layer[layer["level"] == "grid"]["code"])
    locked = [codes[0], codes[3]]
    result = regenerate(layer, city.buildings, city.communities, locked=locked, roads=city.roads)
    out = result.grids
    assert result.report["locked"] == sorted(locked)
    kept = layer[layer["code"].isin(locked) | layer["parent_code"].isin(locked)]
    again = out.set_index("code").loc[kept["code"]]
    assert len(again) == len(kept)
    for (_, old), (_, new) in zip(kept.iterrows(), again.iterrows(), strict=True):
        assert old.geometry.wkb == new.geometry.wkb
        for column in ("level", "parent_code", "households", "members", "parts", "area_code"):
            assert repr(old[column]) == repr(new[column])
    assert not out["code"].duplicated().any()
    new_grids = out[(out["level"] == "grid") & ~out["code"].isin(locked)]
    assert all(c.startswith(COMMUNITY) and len(c) == 15 for c in new_grids["code"])
    assert set(result.report["new_codes"]) == set(new_grids["code"])
    micro = out[out["level"] == "micro"]
    assert all(c.startswith(p) for c, p in zip(micro["code"], micro["parent_code"], strict=True))
    for level in ("grid", "micro"):
        assert out[out["level"] == level]["households"].sum() == city.buildings["households"].sum()
        union, total, area = _coverage(out, city.communities, level)
        assert abs(union - area) / area < 1e-5  # generate_grids snaps to 1 cm
    problems = validate_layer(out, city.buildings, city.communities)
    assert _errors(problems).empty, problems[["kind", "code", "message"]].to_string()


def test_regenerate_after_a_move_restores_bounds(city, layer, grid_move):
    _, _, source, target, moved = grid_move
    others = [c for c in moved[moved["level"] == "grid"]["code"] if c not in (source, target)]
    result = regenerate(moved, city.buildings, city.communities, locked=others, roads=city.roads)
    out = result.grids
    assert not out["code"].duplicated().any()
    assert set(out[out["level"] == "grid"]["code"]) >= set(others)
    problems = validate_layer(out, city.buildings, city.communities)
    assert not {"overlap", "gap", "code_duplicate"} & set(_errors(problems)["kind"])


def test_regenerate_rejects_micro_codes_and_keeps_all_when_all_locked(city, layer):
    micro = layer[layer["level"] == "micro"]["code"].iloc[0]
    with pytest.raises(InputError, match="micro-grid"):
        regenerate(layer, city.buildings, city.communities, locked=[micro])
    every = list(layer[layer["level"] == "grid"]["code"])
    out = regenerate(layer, city.buildings, city.communities, locked=every).grids
    assert sorted(out["code"]) == sorted(layer["code"])
    same = out.set_index("code").geometry
    assert all(same[c].wkb == g.wkb for c, g in zip(layer["code"], layer.geometry, strict=True))


def test_split_grid_into_two(city, layer):
    grids = layer[layer["level"] == "grid"]
    code = grids.sort_values("households")["code"].iloc[-1]
    polygon = grids.set_index("code").geometry[code]
    result = split_grid(layer, city.buildings, city.communities, code, roads=city.roads)
    out = result.grids
    new = out[(out["level"] == "grid") & out["code"].isin(result.report["new_codes"])]
    assert len(new) == 2 and code in set(new["code"])
    assert not out["code"].duplicated().any()
    assert new["households"].sum() == grids.set_index("code")["households"][code]
    assert _metric_area(new.geometry) == pytest.approx(_metric_area([polygon]), rel=1e-5)
    for parent, h in zip(new["code"], new["households"], strict=True):
        children = out[out["parent_code"] == parent]
        assert len(children) and children["households"].sum() == h
    problems = validate_layer(out, city.buildings, city.communities)
    assert not {"overlap", "gap", "micro_not_nested"} & set(_errors(problems)["kind"])


def test_merge_grids(city, layer):
    grids = layer[layer["level"] == "grid"].to_crs(UTM)
    first = grids.iloc[0]
    touching = grids[grids.geometry.intersection(first.geometry).length > 20]
    other = touching[touching["code"] != first["code"]].iloc[0]
    pair = [first["code"], other["code"]]
    out = merge_grids(layer, pair)
    kept = min(pair)
    assert max(pair) not in set(out["code"])
    row = out.set_index("code").loc[kept]
    assert row["households"] == first["households"] + other["households"]
    assert len(row["members"]) == len(first["members"]) + len(other["members"])
    children = out[out["parent_code"] == kept]
    old_children = layer[layer["parent_code"].isin(pair)]
    assert len(children) == len(old_children)
    assert all(c.startswith(kept) for c in children["code"])
    assert not out["code"].duplicated().any()
    problems = validate_layer(out, city.buildings, city.communities)
    assert not {"overlap", "gap", "micro_not_nested", "code_invalid"} & set(
        _errors(problems)["kind"]
    )
    far = grids[grids.geometry.distance(first.geometry) > 1]
    if len(far):
        with pytest.raises(InputError, match="not adjacent"):
            merge_grids(layer, [first["code"], far["code"].iloc[0]])
