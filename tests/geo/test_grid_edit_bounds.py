"""Households against the bounds: under the minimum is a warning just like over the maximum."""

from __future__ import annotations

import pytest

from geo.grids.edit import split_grid, validate_layer
from tests.geo.demo_scene import RUIXIANG, demo_city
from tests.geo.demo_scene import scene as community_scene


@pytest.fixture(scope="module")
def scene():
    area, buildings, layer = community_scene([RUIXIANG])
    return area, buildings, demo_city().roads, layer


def test_a_split_into_two_small_grids_warns_for_each_with_its_side(scene):
    """The issue's 492 → 264 + 228: both parts under 300 must be flagged, as 'under'."""
    area, buildings, roads, layer = scene
    grids = layer[layer["level"] == "grid"]
    code = grids.loc[grids["households"].sub(492).abs().idxmin(), "code"]
    total = int(grids.set_index("code").loc[code, "households"])
    assert total < 600  # two parts cannot both reach 300
    split = split_grid(layer, buildings, area, code, roads=roads)
    out, new = split.grids, {code, *split.report["new_codes"]}
    problems = validate_layer(out, buildings, area)
    bounds = problems[problems["kind"] == "households_out_of_bounds"]
    small = out[(out["level"] == "grid") & out["code"].isin(new) & (out["households"] < 300)]
    assert len(small) == 2, out.loc[out["code"].isin(new), ["code", "households"]]
    flagged = bounds.set_index("code")
    for row in small.itertuples():
        warning = flagged.loc[row.code]
        assert warning["severity"] == "warning" and warning["side"] == "under"
        assert f"{row.households} 户" in warning["message"]
        assert "少于下限 300 户" in warning["message"]
        assert "fewer than the minimum 300" in warning["message_en"]
        assert warning["message"].startswith("瑞祥社区第")  # named as people name it


def test_over_the_maximum_is_flagged_over(scene):
    area, buildings, _, layer = scene
    micro = layer[layer["level"] == "micro"]
    problems = validate_layer(layer, buildings, area, micro_bounds=(1, 20))
    bounds = problems[problems["kind"] == "households_out_of_bounds"]
    over = bounds[bounds["level"] == "micro"]
    assert len(over) and set(over["side"]) == {"over"}
    assert set(over["code"]) == set(micro.loc[micro["households"] > 20, "code"])
