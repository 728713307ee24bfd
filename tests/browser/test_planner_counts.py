"""The planner's panel gives a micro-grid's 楼栋数 from the first click, before the community's
layer is loaded for editing or validated: from the page's own layer and from vector tiles."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import shape

from tests.browser.conftest import wait_drawn
from tests.browser.test_planner import COMMUNITY, grid_layer, pixel


def _open_spot(live, feature: dict) -> tuple[float, float]:
    """(lat, lon) inside the micro-grid, off every building footprint."""
    from api.db import transaction
    from api.storage import map_data

    with transaction(live.database_url) as session:
        footprints = map_data.buildings(session, [COMMUNITY]).geometry.values
    free = (
        shape(feature["geometry"])
        .buffer(-0.00003)
        .difference(shapely.union_all(shapely.buffer(footprints, 1e-4)))
    )
    assert not free.is_empty, feature["properties"]["code"]
    point = free.representative_point()
    return point.y, point.x


def _panel_row(p, header: str) -> str:
    return p.evaluate(
        "h => [...document.querySelectorAll('#info tr')]"
        ".find(tr => tr.querySelector('th').textContent === h).querySelector('td').textContent",
        header,
    )


@pytest.mark.parametrize("render", ["inline", "tiles"])
def test_a_micro_grid_shows_its_building_count_before_any_validation(live_server, page, render):
    micro = grid_layer(live_server, "micro")
    code = max(micro, key=lambda c: len(micro[c]["properties"]["members"]))
    members = micro[code]["properties"]["members"]
    assert members  # the test's premise: a micro-grid with buildings
    p = page.page
    p.goto(f"{live_server.url}/map/planner?community={COMMUNITY}&render={render}")
    wait_drawn(p)
    p.check("#level input[value=micro]")
    lat, lon = _open_spot(live_server, micro[code])
    p.evaluate("([lat, lon]) => wangge.map.setView([lat, lon], 18, {animate: false})", [lat, lon])
    if render == "tiles":  # every tile at this zoom has arrived, the micro-grid's among them
        p.wait_for_function(
            "code => !wangge.layers.micro_grids.isLoading()"
            " && Object.entries(wangge.layers.micro_grids._vectorTiles)"
            ".some(([key, t]) => key.endsWith(':18') && t._features[code])",
            arg=code,
            timeout=15_000,
        )
    p.mouse.click(*pixel(p, lat, lon))
    p.wait_for_function("wangge.planner.state.selection.length > 0", timeout=5000)
    assert p.evaluate("wangge.planner.state.selection") == [code]
    assert p.evaluate("wangge.planner.state.fc") is None  # the layer is not loaded for editing
    assert _panel_row(p, "楼栋数") == str(len(members))
