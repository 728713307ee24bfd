"""The public page in chromium: stations drawn with icons, function filters, and an address
search that finds the nearest center with walking minutes — and no request for case data."""

from __future__ import annotations

import httpx

from tests.browser.conftest import screenshot, wait_drawn

COMMUNITY = "990101001001"


def test_public_search_finds_the_nearest_center_and_never_touches_cases(live_server, page):
    p = page.page
    buildings = httpx.get(f"{live_server.url}/api/buildings", params={"community": COMMUNITY})
    address = next(f["properties"]["address"] for f in buildings.json()["features"])
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    stations = p.evaluate("Object.values(wangge.config.stations)")
    assert len(stations) >= 1
    assert p.locator(".station-icon i.fa-solid").count() == len(stations)
    # each marker's tooltip is its name, as a text node (no HTML from data)
    script = "wangge.layers.stations.getLayers().map(m => m.getTooltip().getContent().textContent)"
    assert sorted(p.evaluate(script)) == sorted(s["name"] for s in stations)
    for private in ("contact", "reporter_phone", "contact_person"):
        assert all(private not in s for s in stations)
    # filters: only childcare
    boxes = p.locator("input[name=function]")
    assert boxes.count() == 6
    for i in range(6):
        if boxes.nth(i).get_attribute("value") != "childcare":
            boxes.nth(i).uncheck()
    with_childcare = sum("childcare" in s["functions"] for s in stations)
    assert p.evaluate("wangge.publicPage.shown") == with_childcare
    assert p.locator(".station-icon").count() == with_childcare
    for i in range(6):
        boxes.nth(i).check()
    # search an address → the nearest stations by walking minutes, the center highlighted
    p.fill("#search-input", address)
    p.click("#search button")
    p.wait_for_selector("#station-list li.active", timeout=20_000)
    first = p.locator("#station-list li").first.inner_text()
    assert "步行" in first and "分钟" in first
    nearest = httpx.get(f"{live_server.url}/api/geocode", params={"q": address}).json()
    expected = httpx.get(
        f"{live_server.url}/api/stations/nearest",
        params={"lon": nearest["lon"], "lat": nearest["lat"]},
    ).json()["stations"]
    assert expected[0]["name"] in first
    p.wait_for_function("wangge.layers.circles.getLayers().length >= 1", timeout=20_000)
    screenshot(p, "public")
    assert not [u for u in page.requests if "/api/cases" in u]


def test_public_page_in_english(live_server, page):
    p = page.page
    p.goto(f"{live_server.url}/map/public?lang=en")
    wait_drawn(p)
    assert p.locator("h1").inner_text() == "Neighborhood centers"
    assert p.locator("#lang-switch").inner_text() == "中文"
    filters = p.locator("#functions").inner_text()
    assert "Elderly care" in filters and "Public services" in filters
    assert "老有所养" not in filters


def test_data_layers_draw_when_the_tile_server_cannot_be_reached(live_server, page, monkeypatch):
    from api.settings import get_settings

    osm = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    monkeypatch.setenv("WANGGE_TILE_URL", osm)
    get_settings.cache_clear()
    p = page.page
    p.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
    page.expected_errors.append("net::ERR_FAILED")  # every base tile fails
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    assert p.locator("img.leaflet-tile").count() > 0  # the base layer is there, its tiles failed
    stations = p.evaluate("Object.keys(wangge.config.stations).length")
    assert stations >= 1 and p.locator(".station-icon").count() == stations
    assert any("tile.openstreetmap.org" in u for u in page.requests)
