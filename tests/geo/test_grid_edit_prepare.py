"""The prepared buildings an edit shares between its steps: the same content prepares once,
any change of what is read prepares anew, and nobody can change the shared arrays."""

from __future__ import annotations

import pytest
import shapely

from geo.grids.edit.prepare import _metric_crs, _prepare_buildings
from tests.geo.demo_scene import RUIXIANG, scene


@pytest.fixture(scope="module")
def ruixiang():
    area, buildings, _ = scene([RUIXIANG])
    return buildings.reset_index(drop=True), _metric_crs(area, name="boundary")


def test_same_content_shares_one_preparation(ruixiang):
    buildings, crs = ruixiang
    first = _prepare_buildings(buildings, crs)
    again = _prepare_buildings(buildings.copy(), crs)
    assert again.footprint is first.footprint
    assert again.index == first.index and again.index is not first.index
    with pytest.raises(ValueError, match="read-only"):
        again.households[0] = 1


@pytest.mark.parametrize("change", ["households", "geometry", "building_id", "estimated"])
def test_a_change_prepares_anew(ruixiang, change):
    buildings, crs = ruixiang
    before = _prepare_buildings(buildings, crs)
    edited = buildings.copy()
    if change == "households":
        edited.loc[0, "households"] = int(edited.loc[0, "households"]) + 7
    elif change == "geometry":
        edited.loc[0, "geometry"] = shapely.affinity.translate(edited.geometry.iloc[0], 1e-4)
    elif change == "building_id":
        edited.loc[0, "building_id"] = "renamed-0"
    else:
        edited["households_estimated"] = True
    after = _prepare_buildings(edited, crs)
    k = after.index["renamed-0" if change == "building_id" else str(edited.loc[0, "building_id"])]
    if change == "households":
        assert after.households[k] == before.households[k] + 7
    elif change == "geometry":
        assert not shapely.equals(after.footprint[k], before.footprint[k])
    elif change == "building_id":
        assert "renamed-0" not in before.index and after.ids[k] == "renamed-0"
    else:
        assert after.estimated.all() and not before.estimated.all()
