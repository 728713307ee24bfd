"""Moves valid by construction: seeded runs of edge moves on the synthetic demo city."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import affinity
from shapely.geometry import box

from geo.crs import utm_crs
from geo.errors import InputError
from geo.grids.edit import move_buildings, recount, validate_layer
from tests.geo.demo_scene import RUIXIANG, demo_city, scene


@pytest.fixture(scope="module")
def city():
    return demo_city()


def edge_move(layer, points, rng):
    """(building, source, target): one of the 3 buildings of a random grid nearest to a
    touching grid of the same community."""
    grids = layer[layer["level"] == "grid"].to_crs(points.crs)
    for _ in range(200):
        source = grids.iloc[rng.integers(len(grids))]
        shared = grids.geometry.intersection(source.geometry).length
        touching = grids[(shared > 20) & (grids["code"] != source["code"])]
        touching = touching[touching["code"].str[:12] == source["code"][:12]]
        members = [m for m in source["members"] if m[1] > 0]
        if len(touching) and members:
            break
    target = touching.iloc[rng.integers(len(touching))]
    members.sort(key=lambda m: points[m[0]].distance(target.geometry))
    building = members[rng.integers(min(3, len(members)))][0]
    return building, source["code"], target["code"]


def untouched_changes(before, after, involved: set[str]) -> list[str]:
    """Codes of rows outside the involved grids that are not byte for byte the same."""
    old = before.set_index("code")
    new = after.set_index("code")
    changed = []
    for code, row in old.iterrows():
        grid = row["parent_code"] if row["level"] == "micro" else code
        if grid in involved:
            continue
        if code not in new.index:
            changed.append(code)
            continue
        other = new.loc[code]
        same = shapely.to_wkb(other.geometry) == shapely.to_wkb(row.geometry) and all(
            str(other[c]) == str(row[c]) for c in ("level", "parent_code", "households", "members")
        )
        if not same:
            changed.append(code)
    return changed


def holders(layer, building: str) -> set[str]:
    """The grids holding the building (a tall one may be shared): all of them give it up."""
    grids = layer[layer["level"] == "grid"]
    return {c for c, m in zip(grids["code"], grids["members"], strict=True) if building in dict(m)}


def run_edge_moves(layer, buildings, area, roads, *, moves: int, seed: int):
    """Chain `moves` edge moves; (unsavable answers, refusals, applied moves)."""
    rng = np.random.default_rng(seed)
    points = buildings.to_crs(utm_crs(area)).set_index("building_id").representative_point()
    unsavable, refused, applied = [], [], 0
    for _ in range(moves):
        building, source, target = edge_move(layer, points, rng)
        try:
            moved = move_buildings(layer, buildings, area, [building], to_code=target, roads=roads)
        except InputError as exc:
            refused.append(str(exc))
            continue
        problems = validate_layer(moved, buildings, area)
        errors = problems[problems["severity"] == "error"]
        if len(errors):
            unsavable.append((building, source, target, list(errors["message_en"])))
        changed = untouched_changes(layer, moved, {target, *holders(layer, building)})
        if changed:
            unsavable.append((building, source, target, ["untouched grids changed", *changed]))
        applied += 1
        layer = moved
    return unsavable, refused, applied


def test_thirty_edge_moves_on_the_demo_community_are_all_savable(city):
    area, buildings, layer = scene([RUIXIANG])
    unsavable, refused, applied = run_edge_moves(
        layer, buildings, area, city.roads, moves=30, seed=16
    )
    assert unsavable == []
    assert applied >= 20, refused  # refusals are the exception
    assert all(r[0] > "\u4e00" for r in refused)  # Chinese first


def test_thirty_edge_moves_on_a_street_layer_are_all_savable(city):
    area, buildings, layer = scene(list(city.communities["code"]))
    assert area["code"].nunique() >= 6
    unsavable, refused, applied = run_edge_moves(
        layer, buildings, area, city.roads, moves=30, seed=61
    )
    assert unsavable == []
    assert applied >= 20, refused


def _scene_strip():
    """Grid A: a left column and a bottom strip under grid B; a building filling the strip's
    height in its middle, so that no land holding it can leave A in one piece."""

    def wgs(geoms):
        moved = [affinity.translate(g, 674_000.0, 3_537_000.0) for g in geoms]
        return gpd.GeoSeries(moved, crs="EPSG:32650").to_crs(4326)

    a = shapely.union(box(0, 0, 200, 30), box(0, 30, 40, 100))
    grids = gpd.GeoDataFrame(
        {"code": [RUIXIANG + "001", RUIXIANG + "002"], "level": ["grid", "grid"],
         "parent_code": [None, None]},
        geometry=wgs([a, box(40, 30, 200, 100)]), crs=4326,
    )  # fmt: skip
    footprints = {"left": box(10, 60, 20, 70), "middle": box(90, 0, 110, 30),
                  "right": box(170, 5, 180, 15), "b": box(100, 60, 110, 70)}  # fmt: skip
    buildings = gpd.GeoDataFrame(
        {"building_id": list(footprints), "households": [300, 100, 100, 400]},
        geometry=wgs(list(footprints.values())),
        crs=4326,
    )
    boundary = gpd.GeoDataFrame({"code": [RUIXIANG]}, geometry=wgs([box(0, 0, 200, 100)]), crs=4326)
    return grids, buildings, boundary


def test_a_move_that_would_cut_its_grid_in_two_is_refused_in_chinese():
    grids, buildings, boundary = _scene_strip()
    # buildings are named for people in Chinese (title: name or address), by id in English
    buildings["title"] = ["槐树街1号", "槐树街25号3栋", None, "槐树街9号"]
    grids = recount(grids, buildings)
    with pytest.raises(InputError) as refused:
        move_buildings(grids, buildings, boundary, ["middle"], to_code=RUIXIANG + "002")
    message = str(refused.value)
    assert message.startswith("移入楼栋「槐树街25号3栋」会把第1网格分成互不相连的两块"), message
    assert "moving building(s) middle would cut grid 990101001001001 in two" in message
    zh = message.split(" (moving")[0]
    assert "「槐树街1号」" in zh or "「right」" in zh  # the cut-off buildings; an unnamed one by id
    assert "middle" not in zh
    # the building at the end of the strip can go: A stays in one piece
    moved = move_buildings(grids, buildings, boundary, ["right"], to_code=RUIXIANG + "002")
    problems = validate_layer(moved, buildings, boundary, grid_bounds=(1, 1000))
    assert problems[problems["severity"] == "error"].empty
    assert list(moved["households"]) == [400, 500]
