"""A move's micro-grids are drawn without joining and sorting the whole layer each time (issue
16, speed): the same edited layer, column types included, as when the new micro-grids were
picked out of the whole layer, on seeded moves in two communities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.crs import utm_crs
from geo.grids.edit import nesting
from geo.grids.generate import GridLayer
from tests.geo.demo_scene import scene
from tests.geo.test_grid_edit_moves import edge_move
from tests.geo.test_grid_move_local import _move

NEW_ROWS_ONLY = nesting._redivide


def whole_layer_then_picked(*args, only_new=False, **kwargs):
    """_redivide as nesting used it before: the whole layer, new micro-grids picked by code."""
    made = NEW_ROWS_ONLY(*args, **kwargs)
    picked = made.grids[made.grids["code"].isin(made.report["new_codes"])].copy()
    return GridLayer(picked, made.report)


@pytest.mark.parametrize(
    ("community", "count", "seed"), [("990101001005", 10, 11), ("990101001002", 6, 12)]
)
def test_new_rows_alone_give_the_same_layer(monkeypatch, community, count, seed):
    area, buildings, layer = scene([community])
    points = buildings.to_crs(utm_crs(area)).set_index("building_id").representative_point()
    rng = np.random.default_rng(seed)
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return NEW_ROWS_ONLY(*args, **kwargs)

    monkeypatch.setattr(nesting, "_redivide", counted)
    redrawn = 0
    for move in [edge_move(layer, points, rng) for _ in range(count)]:
        before = len(calls)
        new = _move(layer, buildings, area, move)
        monkeypatch.setattr(nesting, "_redivide", whole_layer_then_picked)
        old = _move(layer, buildings, area, move)
        monkeypatch.setattr(nesting, "_redivide", counted)
        if isinstance(old, str):
            assert new == old  # refused, for the same reason
            continue
        assert not isinstance(new, str), new
        plain = [c for c in old.columns if c != "geometry"]
        pd.testing.assert_frame_equal(pd.DataFrame(new[plain]), pd.DataFrame(old[plain]))
        assert list(new.columns) == list(old.columns)
        same = shapely.to_wkb(new.geometry.values) == shapely.to_wkb(old.geometry.values)
        assert same.all()
        redrawn += len(calls) > before
    assert redrawn >= count // 2  # most moves redrew micro-grids
