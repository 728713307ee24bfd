"""Moves valid by construction: seeded runs of edge moves on the synthetic demo city."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from data.synthetic import generate_city
from geo.crs import utm_crs
from geo.errors import InputError
from geo.grids.edit import move_buildings, validate_layer
from geo.grids.generate import generate_grids

RUIXIANG = "990101001001"  # 瑞祥社区, the demo's first community


@pytest.fixture(scope="module")
def city():
    return generate_city(size="street", seed=0)


def _scene(city, codes):
    area = city.communities[city.communities["code"].isin(codes)]
    buildings = city.buildings[city.buildings["community_code"].isin(codes)]
    layer = generate_grids(buildings, area, roads=city.roads, level="both").grids
    return area, buildings, layer


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
    area, buildings, layer = _scene(city, [RUIXIANG])
    unsavable, refused, applied = run_edge_moves(
        layer, buildings, area, city.roads, moves=30, seed=16
    )
    assert unsavable == []
    assert applied >= 20, refused  # refusals are the exception
    assert all(r[0] > "\u4e00" for r in refused)  # Chinese first


def test_thirty_edge_moves_on_a_street_layer_are_all_savable(city):
    area, buildings, layer = _scene(city, list(city.communities["code"]))
    assert area["code"].nunique() >= 6
    unsavable, refused, applied = run_edge_moves(
        layer, buildings, area, city.roads, moves=30, seed=61
    )
    assert unsavable == []
    assert applied >= 20, refused
