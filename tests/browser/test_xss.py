"""Hostile names from imported data (OSM, `wangge ingest`) reach every map page only as text:
no markup runs, no template is evaluated, a stray backtick breaks nothing."""

from __future__ import annotations

import httpx
from shapely.geometry import shape
from sqlalchemy import text

from tests.browser.conftest import wait_drawn

EVIL = "`<img src=x onerror=window.__xss=1>${window.__xss=2}`"
COMMUNITY = "990101001001"
WORKER, PASSWORD = "xss_worker", "Field-worker-2026"
# every tooltip and popup content of a layer group, as the text a person reads
TEXTS = """name => {
  const out = [];
  wangge.layers[name].eachLayer(function visit(l) {
    if (l.eachLayer) return l.eachLayer(visit);
    for (const kind of ["Tooltip", "Popup"]) {
      const bound = l["get" + kind] && l["get" + kind]();
      if (!bound) continue;
      l["open" + kind]();
      const content = bound.getContent();
      out.push(typeof content === "string" ? "HTML:" + content : content.textContent);
      l["close" + kind]();
    }
  });
  return out;
}"""


def _poison(live) -> None:
    from api.db import transaction

    with transaction(live.database_url) as s:  # casts: name is varchar, address text
        evil = {"e": EVIL}
        s.execute(text("UPDATE stations SET name = :e || name, address = :e"), evil)
        s.execute(text("UPDATE buildings SET name = CAST(:e AS text), address = :e"), evil)


def _clean(page) -> None:
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0


def _opened(live, watched, path: str):
    """The page at `path`, drawn over the poisoned data."""
    _poison(live)
    p = watched.page
    p.goto(f"{live.url}{path}")
    wait_drawn(p)
    return p


def _all_text(p, layer: str) -> None:
    shown = p.evaluate(TEXTS, layer)
    assert shown and all(EVIL in t for t in shown), shown[:4]


def test_public_page_shows_hostile_station_names_as_text(live_server, page):
    p = _opened(live_server, page, "/map/public")
    _all_text(p, "stations")
    _clean(p)


def test_planner_page_shows_hostile_building_names_as_text(live_server, page):
    p = _opened(live_server, page, f"/map/planner?community={COMMUNITY}")
    _all_text(p, "buildings")
    p.evaluate("""() => {
      const l = wangge.layers.buildings.getLayers()[0];
      wangge.layers.buildings.fire("click", {layer: l, latlng: l.getBounds().getCenter()});
    }""")
    popup = p.locator(".leaflet-popup-content .building-popup")
    popup.wait_for(timeout=15_000)
    assert EVIL in popup.inner_text()
    _clean(p)


def test_worker_page_shows_hostile_names_and_descriptions_as_text(live_server, phone):
    from api.accounts import create_user
    from api.db import transaction

    grid = httpx.get(
        f"{live_server.url}/api/grids", params={"community": COMMUNITY, "level": "grid"}
    ).json()["features"][0]
    with transaction(live_server.database_url) as session:
        create_user(
            session, WORKER, "grid_worker", PASSWORD, grid_codes=[grid["properties"]["code"]]
        )
    point = shape(grid["geometry"]).representative_point()
    category = httpx.get(f"{live_server.url}/api/categories").json()[0]["code"]
    body = {"lon": point.x, "lat": point.y, "crs": "wgs84", "category": category,
            "description": EVIL}  # fmt: skip
    case = httpx.post(f"{live_server.url}/api/cases", json=body)
    assert case.status_code == 201, case.text
    p = _opened(live_server, phone, "/map/worker")
    for field, value in (("username", WORKER), ("password", PASSWORD)):
        p.fill(f"#signin [name={field}]", value)
    p.click("#signin button")
    item = p.locator(f'[data-case="{case.json()["id"]}"]')
    item.wait_for(timeout=20_000)
    p.wait_for_function("wangge.layers.buildings.getLayers().length > 0", timeout=20_000)
    _all_text(p, "buildings")
    cases = p.evaluate(TEXTS, "cases")
    assert cases and not any(t.startswith("HTML:") for t in cases), cases
    assert EVIL in item.inner_text()
    _clean(p)
