"""A move draws the moved building's land cell among the buildings near it only: the same cell
as tessellating the whole region, and the same edited layer, on seeded moves."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.crs import utm_crs
from geo.errors import InputError
from geo.grids.edit import moves
from geo.grids.edit.roads import _barriers
from geo.grids.tessellation import building_cells, tessellate
from tests.geo.demo_scene import demo_city, scene
from tests.geo.test_grid_edit_moves import edge_move


def test_near_buildings_give_the_whole_tessellations_cells():
    area, buildings, _ = scene(["990101001005"])
    crs = utm_crs(area)
    feet = np.asarray(buildings.to_crs(crs).geometry.values, dtype=object)
    region = shapely.union_all(np.asarray(area.to_crs(crs).geometry.values, dtype=object))
    barriers = _barriers(demo_city().roads, crs)
    whole = tessellate(feet, region, barriers=barriers)[0]
    wanted = np.random.default_rng(1).choice(len(feet), 40, replace=False)
    # a small first reach makes some cells grow it, a large one takes the whole enclosure
    for reach in (30.0, 180.0, 5_000.0):
        near = building_cells(feet, region, wanted, barriers=barriers, reach_m=reach)
        assert shapely.equals(near, whole[wanted]).all()
        normal = shapely.to_wkb(shapely.normalize(near))
        assert (normal == shapely.to_wkb(shapely.normalize(whole[wanted]))).all()


def _move(layer, buildings, area, move):
    building, _, to = move
    try:
        return moves.move_buildings(
            layer, buildings, area, [building], to_code=to, roads=demo_city().roads
        )
    except InputError as refused:
        return str(refused)


@pytest.mark.parametrize(
    ("community", "count", "seed"), [("990101001005", 10, 3), ("990101001002", 6, 5)]
)
def test_near_cells_give_the_whole_region_result(monkeypatch, community, count, seed):
    area, buildings, layer = scene([community])
    points = buildings.to_crs(utm_crs(area)).set_index("building_id").representative_point()
    rng = np.random.default_rng(seed)
    accepted = 0
    for move in [edge_move(layer, points, rng) for _ in range(count)]:
        near = _move(layer, buildings, area, move)
        monkeypatch.setattr(moves, "_WHOLE_REGION", True)
        whole = _move(layer, buildings, area, move)
        monkeypatch.setattr(moves, "_WHOLE_REGION", False)
        if isinstance(whole, str):
            assert near == whole  # refused, for the same reason
            continue
        assert not isinstance(near, str), near
        assert near.index.equals(whole.index)
        assert near["code"].tolist() == whole["code"].tolist()
        assert near["households"].tolist() == whole["households"].tolist()
        assert [sorted(map(tuple, m)) for m in near["members"]] == [
            sorted(map(tuple, m)) for m in whole["members"]
        ]
        same = shapely.to_wkb(near.geometry.values) == shapely.to_wkb(whole.geometry.values)
        assert same.all()
        changed = set(shapely.to_wkb(near.geometry.values)) - set(
            shapely.to_wkb(layer.geometry.values)
        )
        assert changed  # the move changed the layer
        accepted += 1
    assert accepted >= count // 2
