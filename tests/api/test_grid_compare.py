"""compare_layers: a grid counts as changed when its households or its land change, not when
its polygon was only re-noded or snapped by millimetres (as neighbours of a dragged edge are)."""

from __future__ import annotations

import pytest
import shapely
from shapely import affinity

from api.grids.compare import compare_layers
from geo.grids.edit import move_buildings
from tests.geo.demo_scene import RUIXIANG, demo_city, scene


@pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS")
def test_only_grids_with_new_households_or_land_count_as_changed():
    area, buildings, a = scene([RUIXIANG])
    grids = a[a["level"] == "grid"]
    source, target = grids["code"].iloc[0], grids["code"].iloc[1]
    building = next(b for b, h in grids["members"].iloc[0] if h > 0)
    b = move_buildings(a, buildings, area, [building], to_code=target, roads=demo_city().roads)
    # an untouched grid re-noded and moved 1 mm: rounding, not an edit
    untouched = grids["code"].iloc[-1]
    row = b.index[b["code"] == untouched][0]
    snapped = affinity.translate(shapely.segmentize(b.at[row, "geometry"], 1e-4), 1e-8, 1e-8)
    b.loc[row, "geometry"] = snapped
    comparison = compare_layers(a, b, buildings, community=RUIXIANG, community_name="瑞祥社区")
    rows = [r for r in comparison.grids if r["level"] == "grid"]
    changed = {r["code"] for r in rows if r["change"] != "same"}
    assert untouched not in changed
    redrawn = comparison.boundaries
    assert changed == set(redrawn.loc[redrawn["level"] == "grid", "code"])
    assert {target} <= changed and (source in changed or source not in set(b["code"]))
