"""A micro-grid move of a building standing across two grids moves only its share in the
target's grid (issue 16: B000044 on the demo street was refused as a move between grids)."""

from __future__ import annotations

import pytest

from geo.errors import InputError
from geo.grids.edit import move_buildings, validate_layer
from tests.geo.demo_scene import demo_city, scene


def held_across_grids(layer):
    """(building, {micro code: households}) of the buildings whose micro-grids lie in two grids."""
    micros = layer[layer["level"] == "micro"]
    held: dict[str, dict[str, int]] = {}
    parent = dict(zip(micros["code"], micros["parent_code"], strict=True))
    for code, members in zip(micros["code"], micros["members"], strict=True):
        for building, households in members or []:
            if households > 0:
                held.setdefault(building, {})[code] = households
    return parent, [
        (b, shares) for b, shares in sorted(held.items())
        if len({parent[c] for c in shares}) > 1
    ]  # fmt: skip


def touching_micro(layer, parent_code, shares):
    """A micro-grid of `parent_code` holding none of the building, touching one that does."""
    micros = layer[(layer["level"] == "micro") & (layer["parent_code"] == parent_code)]
    holding = micros[micros["code"].isin(shares)]
    free = micros[~micros["code"].isin(shares)]
    near = free[free.geometry.buffer(1e-6).intersects(holding.union_all())]
    return None if near.empty else near["code"].iloc[0]


@pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS")
def test_a_building_across_two_grids_moves_its_share_inside_one_grid():
    area, buildings, layer = scene(list(demo_city().communities["code"]))
    parent, found = held_across_grids(layer)
    tried = 0
    for building, shares in found:
        for grid in sorted({parent[c] for c in shares}):
            target = touching_micro(layer, grid, shares)
            if target is None:
                continue
            tried += 1
            out = move_buildings(layer, buildings, area, [building], to_code=target)
            problems = validate_layer(out, buildings, area)
            bad = problems[(problems["severity"] == "error")
                           | (problems["kind"] == "households_stale")]  # fmt: skip
            assert bad.empty, (building, target, bad["message"].tolist())
            after = {c: dict(m) for c, m in zip(out["code"], out["members"], strict=True)}
            inside = sum(h for c, h in shares.items() if parent[c] == grid)
            assert after[target][building] == inside
            for code, households in shares.items():
                if parent[code] != grid:  # the other grid's micro-grid keeps its share
                    assert after[code][building] == households
                elif code in after:
                    assert building not in after[code]
            grids = layer[layer["level"] == "grid"].set_index("code")
            moved = out[out["level"] == "grid"].set_index("code")
            assert moved.geometry.equals(grids.geometry)  # the grid level stays as it was
            assert moved["households"].equals(grids["households"])
    assert tried >= 2  # B000044 in both of its grids, at least


@pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS")
def test_a_micro_move_of_a_building_wholly_in_another_grid_is_still_refused():
    area, buildings, layer = scene(list(demo_city().communities["code"]))
    parent, found = held_across_grids(layer)
    micros = layer[layer["level"] == "micro"]
    building, shares = found[0]
    grids = {parent[c] for c in shares}
    other = micros[~micros["parent_code"].isin(grids)
                   & (micros["code"].str[:12] == next(iter(shares))[:12])]  # fmt: skip
    with pytest.raises(InputError, match="微网格之间的移动只能在同一网格内"):
        move_buildings(layer, buildings, area, [building], to_code=other["code"].iloc[0])
