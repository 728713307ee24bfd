"""On the worker's phone, visits to two buildings without name or address read apart: the road
beside them and each one's number in the grid, shown as text even when the road's name is
hostile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from api.db import transaction
from tests.browser.conftest import screenshot, token
from tests.browser.worker_world import PASSWORD, WORKER, make_worker, sign_in

ROAD = "<img src=x onerror=window.hit=1>巷"


def _unnamed_pair(live, grid: dict) -> list[tuple[str, float, float]]:
    """Two of the grid's buildings, their name and address removed, a hostile road between."""
    members = [m[0] for m in grid["properties"]["members"]]
    with transaction(live.database_url) as s:
        rows = s.execute(
            text(
                "SELECT building_id, ST_X(location), ST_Y(location) FROM buildings"
                " WHERE building_id = ANY(:ids) ORDER BY building_id LIMIT 2"
            ),
            {"ids": members},
        ).all()
        s.execute(
            text(
                "UPDATE buildings SET name = NULL, address = NULL, households = 12"
                " WHERE building_id = ANY(:ids)"
            ),
            {"ids": [r[0] for r in rows]},
        )
        (_, x1, y1), (_, x2, y2) = rows
        s.execute(
            text(
                "INSERT INTO roads (road_id, name, class, geom) VALUES ('u19-road', :n,"
                " 'residential', ST_Multi(ST_MakeLine(ST_SetSRID(ST_MakePoint(:x1, :y1), 4326),"
                " ST_SetSRID(ST_MakePoint(:x2, :y2), 4326))))"
            ),
            {"n": ROAD, "x1": x1, "y1": y1, "x2": x2, "y2": y2},
        )
    return [tuple(r) for r in rows]


def _visited(live_server) -> list[tuple[str, float, float]]:
    """The worker's visits to the unnamed pair, 40 and 20 minutes ago; newest first, as the
    list reads."""
    grid, _ = make_worker(live_server)
    pair = _unnamed_pair(live_server, grid)
    headers = token(live_server, WORKER, PASSWORD)
    for minutes_ago, (building, lon, lat) in zip((40, 20), pair, strict=True):
        at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
        body = {"building_id": building, "lon": lon, "lat": lat, "visited_at": at}
        r = httpx.post(f"{live_server.url}/api/visits", json=body, headers=headers)
        assert r.status_code == 201, r.text
    return pair[::-1]


def test_unnamed_buildings_read_apart_in_the_phone_visit_list(live_server, phone):
    _visited(live_server)
    p = phone.page
    sign_in(p, live_server)
    p.wait_for_function("() => document.querySelectorAll('#visit-list li').length === 2")
    lines = p.locator("#visit-list li strong").all_inner_texts()
    assert len(set(lines)) == 2, lines
    for line in lines:
        assert line.startswith(f"未命名楼栋（住宅），{ROAD}旁，网格内第 "), line
    assert p.locator("#visit-list img").count() == 0
    assert p.evaluate("window.hit") is None
    p.locator("#visits").scroll_into_view_if_needed()
    screenshot(p, "worker-visits-unnamed")


# once the map is neither zooming nor panning and the popup has not moved for 10 frames
SETTLED = """async () => {
  const map = window.wangge.map;
  const box = () => JSON.stringify(document.querySelector('.leaflet-popup')
    .getBoundingClientRect().toJSON());
  const idle = () => !map._animatingZoom && !(map._panAnim && map._panAnim._inProgress);
  let last = null, still = 0;
  for (let frame = 0; frame < 600 && still < 10; frame++) {
    await new Promise(requestAnimationFrame);
    const now = box();
    still = now === last && idle() ? still + 1 : 0;
    last = now;
  }
  return still;
}"""


# the worker's buildings are on the map (the building `id` among them)
DRAWN = "(id) => !!(window.wanggeWorker.buildingMarkers || {})[id]"


def _shown(p, line) -> dict:
    """The popup the line opened once the map has settled: its text, where it is, whether the
    panel covers its middle, and whether the map holds the building."""
    p.wait_for_selector(".leaflet-popup")
    assert p.evaluate(SETTLED) == 10
    return p.evaluate(
        """() => {
          const popup = document.querySelector('.leaflet-popup');
          const box = popup.getBoundingClientRect();
          const map = window.wangge.map.getContainer().getBoundingClientRect();
          const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
          return {title: popup.querySelector('strong').textContent,
                  inside: box.top >= map.top && box.bottom <= map.bottom
                          && box.left >= 0 && box.right <= window.innerWidth,
                  uncovered: popup.contains(top), tag: popup.querySelector("img") !== null};
        }"""
    )


def test_a_tapped_visit_shows_its_building_on_the_phone_map(live_server, phone):
    visited = _visited(live_server)
    p = phone.page
    sign_in(p, live_server)
    p.wait_for_function("() => document.querySelectorAll('#visit-list li').length === 2")
    lines = p.locator("#visit-list li strong").all_inner_texts()
    p.wait_for_function(DRAWN, arg=visited[0][0])
    assert p.locator(".leaflet-popup").count() == 0
    for index in (1, 0):
        button = p.locator("#visit-list li button.visit-place").nth(index)
        if index == 1:
            button.tap()
        else:  # by keyboard: the line is a button
            button.focus()
            p.keyboard.press("Enter")
        shown = _shown(p, lines[index])
        assert shown == {"title": lines[index], "inside": True, "uncovered": True, "tag": False}
        building, lon, lat = visited[index]
        assert p.evaluate(
            "([lon, lat]) => window.wangge.map.getBounds().contains([lat, lon])", [lon, lat]
        )
        assert p.locator(".leaflet-popup").count() == 1
        # the building's tooltip on the map reads as the line does
        tip = p.evaluate(
            """(id) => { const dot = window.wanggeWorker.buildingMarkers[id];
                dot.openTooltip(); const tip = dot.getTooltip().getElement();
                const box = tip.getBoundingClientRect();
                return [tip.textContent, box.left >= 0 && box.right <= window.innerWidth]; }""",
            building,
        )
        assert tip[0].startswith(lines[index] + " · "), tip
        assert tip[1], "the tooltip runs past the phone's screen"
        screenshot(p, f"worker-visit-on-map-{index}")
    assert p.evaluate("window.hit") is None


def test_the_english_page_gives_the_hint_in_english(live_server, phone):
    _visited(live_server)
    p = phone.page
    sign_in(p, live_server, lang="en")
    p.wait_for_function("() => document.querySelectorAll('#visit-list li').length === 2")
    lines = p.locator("#visit-list li strong").all_inner_texts()
    assert len(set(lines)) == 2, lines
    for line in lines:
        assert line.startswith(f"Unnamed building (residential), by {ROAD}, building "), line
        assert line.endswith(" in the grid"), line
    p.locator("#visit-list li button.visit-place").first.tap()
    assert _shown(p, lines[0])["title"] == lines[0]
    assert p.evaluate("window.hit") is None
