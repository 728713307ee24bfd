"""The planner's building popup: a click on a building shows its households and where they come
from, as text (never markup), in Chinese."""

from __future__ import annotations

from tests.browser.conftest import wait_drawn

COMMUNITY = "990101001001"


def test_a_building_click_shows_where_its_households_come_from(live_server, page):
    p = page.page
    p.goto(f"{live_server.url}/map/planner?community={COMMUNITY}")
    wait_drawn(p)
    building_id = p.evaluate(
        "() => { const l = wangge.layers.buildings.getLayers()[0];"
        " wangge.layers.buildings.fire('click', {layer: l, latlng: l.getBounds().getCenter()});"
        " return l.feature.properties.building_id; }"
    )
    popup = p.locator(".leaflet-popup-content .building-popup")
    popup.wait_for(timeout=15_000)
    text = popup.inner_text()
    households = page_households(live_server, building_id)
    assert "户数来源：数据给定" in text  # the synthetic city's counts are given
    assert f"户数：{households}" in text
    assert "估算依据" not in text  # no rule for a given count
    assert popup.locator("script, img, a").count() == 0


def page_households(live_server, building_id: str) -> int:
    import httpx

    body = httpx.get(f"{live_server.url}/api/buildings/{building_id}").json()
    assert body["households_source"] == "given"
    return body["households"]
