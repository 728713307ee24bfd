"""The planner's building popup: a click on a building shows its households and where they come
from, as text (never markup), in Chinese."""

from __future__ import annotations

import httpx

from tests.browser.conftest import wait_drawn
from tests.browser.test_planner import COMMUNITY

# fire a click on the first building as Leaflet would and return its id
CLICK_FIRST_BUILDING = """() => {
  const l = wangge.layers.buildings.getLayers()[0];
  wangge.layers.buildings.fire("click", {layer: l, latlng: l.getBounds().getCenter()});
  return l.feature.properties.building_id;
}"""


def test_a_building_click_shows_where_its_households_come_from(live_server, page):
    planner = page.page
    planner.goto(f"{live_server.url}/map/planner?community={COMMUNITY}")
    wait_drawn(planner)
    building_id = planner.evaluate(CLICK_FIRST_BUILDING)
    popup = planner.locator(".leaflet-popup-content .building-popup")
    popup.wait_for(timeout=15_000)
    stored = httpx.get(f"{live_server.url}/api/buildings/{building_id}").json()
    assert stored["households_source"] == "given"  # the synthetic city's counts are given
    text = popup.inner_text()
    assert "户数来源：数据给定" in text and f"户数：{stored['households']}" in text
    assert "估算依据" not in text  # no rule for a given count
    assert popup.locator("script, img, a").count() == 0
