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


# -- issue 17: the public map's fixes ------------------------------------------------------------


def _tick_only(p, code: str) -> None:
    boxes = p.locator("input[name=function]")
    for i in range(boxes.count()):
        box = boxes.nth(i)
        box.set_checked(box.get_attribute("value") == code)


def _listed(p) -> list[str]:
    return p.eval_on_selector_all(
        "#station-list li", "items => items.map(li => li.dataset.station)"
    )


def _some_address(live) -> str:
    buildings = httpx.get(f"{live.url}/api/buildings", params={"community": COMMUNITY})
    return next(f["properties"]["address"] for f in buildings.json()["features"])


def test_search_results_follow_the_function_filter(live_server, page):
    p = page.page
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    stations = p.evaluate("wangge.config.stations")
    offered = {f for s in stations.values() for f in s["functions"]}
    code = next(f for f in ("childcare", "elderly_care", "health", "food") if f in offered)
    p.fill("#search-input", _some_address(live_server))
    p.click("#search button[type=submit]")
    p.wait_for_selector("#station-list li.active", timeout=20_000)
    everything = _listed(p)
    _tick_only(p, code)
    p.wait_for_function(
        "ids => { const now = [...document.querySelectorAll('#station-list li')]"
        ".map(li => li.dataset.station); return now.length && now.join() !== ids.join(); }",
        arg=everything,
        timeout=20_000,
    )
    listed = _listed(p)
    assert listed and all(code in stations[s]["functions"] for s in listed)
    assert len(listed) < len(everything) or all(
        code in stations[s]["functions"] for s in everything
    )


def test_failed_search_clears_old_results_and_offers_the_candidates(live_server, page):
    p = page.page
    query = "幸福小区"
    answer = httpx.get(f"{live_server.url}/api/geocode", params={"q": query}).json()
    assert answer["level"] == "none" and answer["candidates"], answer  # the test's premise
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    p.fill("#search-input", _some_address(live_server))
    p.click("#search button[type=submit]")
    p.wait_for_selector("#station-list li.active", timeout=20_000)
    p.wait_for_function("wangge.layers.circles.getLayers().length >= 1", timeout=20_000)
    p.fill("#search-input", query)
    p.click("#search button[type=submit]")
    p.wait_for_selector("#candidates li.candidate")
    assert p.locator("#status").inner_text() == "没有找到这个地址"
    assert p.locator("#station-list li").count() == 0
    assert p.evaluate("wangge.layers.circles.getLayers().length") == 0
    offered = p.locator("#candidates li.candidate button").all_inner_texts()
    assert offered == [c["matched_address"] for c in answer["candidates"][:5]]
    # a candidate is a search of its own: the nearest centers come back
    p.locator("#candidates li.candidate button").first.click()
    p.wait_for_selector("#station-list li.active", timeout=20_000)
    assert p.locator("#candidates").is_hidden()


def test_my_location_finds_the_nearest_centers(live_server, page):
    p = page.page
    p.context.grant_permissions(["geolocation"])
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    station = next(iter(p.evaluate("wangge.config.stations").values()))
    p.context.set_geolocation({"longitude": station["lon"], "latitude": station["lat"]})
    p.click("#btn-my-location")
    p.wait_for_selector("#station-list li.active", timeout=20_000)
    assert station["station_id"] in _listed(p)
    place = p.evaluate("wangge.publicPage.place")
    assert place["label"] == "我的位置"
    assert abs(place["lon"] - station["lon"]) < 1e-6 and abs(place["lat"] - station["lat"]) < 1e-6


def test_on_a_phone_the_legend_folds_and_a_popup_fits_with_a_phone_link(live_server, phone):
    p = phone.page
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    legend = p.locator(".wangge-legend")
    assert "folded" in legend.get_attribute("class")
    folded = legend.bounding_box()
    assert folded["height"] < 60 and p.locator(".wangge-legend > div").first.is_hidden()
    p.locator(".wangge-legend .legend-toggle").tap()
    assert p.locator(".wangge-legend > div").first.is_visible()
    assert legend.bounding_box()["height"] > folded["height"]
    p.locator(".wangge-legend .legend-toggle").tap()
    assert p.locator(".wangge-legend > div").first.is_hidden()
    stations = p.evaluate("wangge.config.stations")
    with_phone = next(s for s in stations.values() if s.get("phone"))
    p.evaluate(f"wangge.publicPage.markers[{with_phone['station_id']!r}].openPopup()")
    popup = p.locator(".leaflet-popup-content-wrapper")
    popup.wait_for()
    # the map pans the popup into view (animated): wait until it is inside the screen
    p.wait_for_function(
        "() => { const r = document.querySelector('.leaflet-popup-content-wrapper')"
        ".getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; }",
        timeout=5_000,
    )
    box = popup.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    map_box = p.locator(".folium-map").bounding_box()
    assert box["y"] >= map_box["y"] and box["y"] + box["height"] <= map_box["y"] + map_box["height"]
    link = p.locator(".leaflet-popup a.tel")
    assert link.inner_text() == with_phone["phone"]
    digits = "".join(ch for ch in with_phone["phone"] if ch.isdigit() or ch == "+")
    assert link.get_attribute("href") == f"tel:{digits}"
    screenshot(p, "public-phone-popup")


def _hue(colour: str) -> float:
    import colorsys

    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360


def test_walking_circles_are_not_drawn_in_danger_colours(live_server, page):
    p = page.page
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    station = next(iter(p.evaluate("wangge.config.stations")))
    p.evaluate(f"wangge.publicPage.markers[{station!r}].fire('click')")
    p.wait_for_function("wangge.layers.circles.getLayers().length >= 1", timeout=20_000)
    drawn = p.evaluate(
        "wangge.layers.circles.getLayers().flatMap(g => g.getLayers()).map(l => l.options.color)"
    )
    assert drawn
    for colour in set(drawn) | set(p.evaluate("Object.values(wangge.config.circleColours)")):
        assert 150 <= _hue(colour) <= 260, colour  # greens to blues: no red, orange or yellow
    legend = p.locator(".wangge-legend").inner_text()
    assert "15 分钟" in legend


def test_a_hostile_station_phone_is_text_and_its_link_dials_digits_only(live_server, page):
    from sqlalchemy import text

    from api.db import transaction

    evil = '025-88"><img src=x onerror=a=1>'  # the column holds 32 characters
    with transaction(live_server.database_url) as s:
        first = s.execute(text("SELECT station_id FROM stations ORDER BY station_id")).first()[0]
        s.execute(text("UPDATE stations SET phone = :p WHERE station_id = :s"),
                  {"p": evil, "s": first})  # fmt: skip
    p = page.page
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    p.evaluate(f"wangge.publicPage.markers[{first!r}].openPopup()")
    link = p.locator(".leaflet-popup a.tel")
    assert link.inner_text() == evil  # shown as text, dialled as digits only
    assert link.get_attribute("href") == "tel:" + "".join(c for c in evil if c.isdigit())
    assert p.evaluate("typeof a") == "undefined" and p.locator("img[src=x]").count() == 0


# -- U19: popups on a phone: fitted after the map's zoom, clear of the scale bar and legend ------

# the popup's box and the bottom controls' tops, once the map is neither zooming nor panning
# and the popup has not moved for 10 frames (the page's re-fit is done)
SETTLED_POPUP = """async () => {
  const map = wangge.map;
  const box = () => document.querySelector('.leaflet-popup-content-wrapper')
    .getBoundingClientRect().toJSON();
  const idle = () => !map._animatingZoom && !(map._panAnim && map._panAnim._inProgress);
  let last = null, still = 0;
  for (let frame = 0; frame < 600 && still < 10; frame++) {
    await new Promise(requestAnimationFrame);
    const now = JSON.stringify(box());
    still = now === last && idle() ? still + 1 : 0;
    last = now;
  }
  const area = document.querySelector('.folium-map').getBoundingClientRect().toJSON();
  const controls = [...document.querySelectorAll('.leaflet-bottom .leaflet-control')]
    .map(c => c.getBoundingClientRect().top);
  return {popup: box(), map: area, controlsTop: Math.min(...controls), still};
}"""

# Leaflet's zoom animations, counted from the moment the page creates its map
COUNT_ZOOM_ANIMATIONS = """Object.defineProperty(window, 'L', {configurable: true,
  get() { return undefined; },
  set(leaflet) {
    Object.defineProperty(window, 'L', {value: leaflet, writable: true, configurable: true});
    window.zoomAnimations = 0;
    leaflet.Map.addInitHook(function () {
      this.on('zoomanim', () => { window.zoomAnimations += 1; });
    });
  }});"""


def _assert_fits(settled: dict, where: str) -> None:
    box, area = settled["popup"], settled["map"]
    assert settled["still"] >= 10, f"{where}: the popup never stopped moving"
    assert box["left"] >= 0 and box["right"] <= 390, (where, box)
    assert area["top"] <= box["top"], (where, box)
    assert box["bottom"] <= settled["controlsTop"], f"{where}: over the scale bar or legend"


def test_the_map_opens_on_its_fitted_view_without_a_zoom_animation(live_server, phone):
    p = phone.page
    p.add_init_script(COUNT_ZOOM_ANIMATIONS)
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    assert p.evaluate("window.zoomAnimations") == 0


def test_a_popup_opened_while_the_map_zooms_is_fitted_once_the_zoom_ends(live_server, phone):
    p = phone.page
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    for station in p.evaluate("Object.keys(wangge.publicPage.markers)"):
        p.evaluate(
            "id => { const map = wangge.map, marker = wangge.publicPage.markers[id];"
            " map.closePopup(); map.setView(map.getCenter(), 15, {animate: false});"
            " map.setZoom(16); marker.openPopup(); }",  # during the zoom's animation
            station,
        )
        _assert_fits(p.evaluate(SETTLED_POPUP), station)


def test_on_a_phone_a_popup_stays_clear_of_the_scale_bar_and_legend(live_server, phone):
    p = phone.page
    p.goto(f"{live_server.url}/map/public")
    wait_drawn(p)
    p.locator(".wangge-legend .legend-toggle").tap()  # the open legend folds for a popup
    assert p.locator(".wangge-legend > div").first.is_visible()
    for station in p.evaluate("Object.keys(wangge.publicPage.markers)"):
        p.evaluate(f"wangge.map.closePopup(); wangge.publicPage.markers[{station!r}].openPopup()")
        _assert_fits(p.evaluate(SETTLED_POPUP), station)
        assert p.locator(".wangge-legend > div").first.is_hidden()
    screenshot(p, "public-phone-popup-clear")
