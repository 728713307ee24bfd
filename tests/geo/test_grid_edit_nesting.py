"""After a move, only the micro-grids the move broke are drawn anew (redivide_micro keep_intact)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.crs import utm_crs
from geo.errors import InputError
from geo.grids.edit import move_buildings, validate_layer
from geo.grids.generate import GRID_BOUNDS, MICRO_BOUNDS
from tests.geo.demo_scene import demo_city, scene
from tests.geo.test_grid_edit_moves import edge_move

STREET = "990101001005"  # the synthetic street's community with the most households


@pytest.fixture(scope="module")
def street():
    return scene([STREET])


def _micro(layer, grid: str) -> dict[str, tuple[bytes, int]]:
    rows = layer[(layer["level"] == "micro") & (layer["parent_code"] == grid)]
    return {
        c: (shapely.to_wkb(g), int(h))
        for c, g, h in zip(rows["code"], rows.geometry, rows["households"], strict=True)
    }


def test_moves_keep_the_micro_grids_they_do_not_break(street):
    area, buildings, layer = street
    roads = demo_city().roads
    points = buildings.to_crs(utm_crs(area)).set_index("building_id").representative_point()
    rng = np.random.default_rng(7)
    kept_total, applied = 0, 0
    for _ in range(6):
        building, source, target = edge_move(layer, points, rng)
        try:
            moved = move_buildings(layer, buildings, area, [building], to_code=target, roads=roads)
        except InputError:
            continue
        applied += 1
        problems = validate_layer(moved, buildings, area)
        errors = problems[problems["severity"] == "error"]
        # the micro-level errors this layer already has are not the move's doing
        assert set(errors["kind"]) <= {"not_contiguous"}, errors["message_en"].tolist()
        for grid in (source, target):
            before, after = _micro(layer, grid), _micro(moved, grid)
            if not after:
                continue
            kept = [c for c in before if after.get(c) == before[c]]
            kept_total += len(kept)
            assert len(after) == len(set(after))
            total = moved.loc[moved["code"] == grid, "households"]
            assert sum(h for _, h in after.values()) == int(total.iloc[0])
    assert applied >= 4
    assert kept_total > 0  # micro-grids away from the moved land come back byte for byte


def test_without_keep_intact_every_micro_grid_of_the_grid_is_drawn_anew(street):
    from geo.grids.edit.nesting import redivide_micro
    from geo.grids.edit.prepare import _metric_crs, _prepare_buildings, _prepare_layer

    area, buildings, layer = street
    crs = _metric_crs(area, name="boundary")
    prepared, b = _prepare_layer(layer, crs), _prepare_buildings(buildings, crs)
    grid = STREET + "001"
    args = dict(
        roads=demo_city().roads, grid_bounds=GRID_BOUNDS, micro_bounds=MICRO_BOUNDS, tol=0.5
    )
    whole = redivide_micro(prepared, b, buildings, {grid}, **args)
    kept = redivide_micro(prepared, b, buildings, {grid}, keep_intact=True, **args)
    before = _micro(layer, grid)
    assert _micro(kept, grid) == before  # nothing was broken: nothing drawn anew
    assert sum(h for _, h in _micro(whole, grid).values()) == sum(h for _, h in before.values())
