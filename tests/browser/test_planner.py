"""The planner page in chromium: it draws, a click shows a grid's numbers, a redraw is saved
as a new version, and a bad redraw shows its problems on the map and is refused."""

from __future__ import annotations

import re

import httpx
import shapely
from shapely.geometry import shape

from tests.browser.conftest import PASSWORD, PLANNER, screenshot, token, wait_drawn

COMMUNITY = "990101001001"


def test_planner_draws_the_grids_and_shows_a_grid_on_click(live_server, page):
    p = page.page
    p.goto(f"{live_server.url}/map/planner?community={COMMUNITY}")
    wait_drawn(p)
    drawn = p.evaluate(
        "() => ({grids: wangge.layers.grids.getLayers().length,"
        " micro: wangge.layers.micro_grids.getLayers().length,"
        " buildings: wangge.layers.buildings.getLayers().length,"
        " paths: document.querySelectorAll('path.leaflet-interactive').length})"
    )
    assert drawn["grids"] >= 5 and drawn["micro"] > drawn["grids"]
    assert drawn["paths"] >= drawn["grids"] + drawn["micro"]
    assert p.locator(".leaflet-control-scale").count() == 1
    assert p.locator(".wangge-legend").inner_text().count("户数") >= 2
    # buildings' tooltips: their title (name, address or 未命名楼栋), never the id, as text
    tips = p.evaluate(
        "wangge.layers.buildings.getLayers().map(l => [l.feature.properties.building_id,"
        " l.getTooltip().getContent().textContent])"
    )
    assert tips and all(bid not in tip and "户" in tip for bid, tip in tips)
    code = sorted(grid_layer(live_server))[0]
    select_grid(p, live_server, code)  # a click shows the grid's numbers and workers
    info = p.locator("#info").inner_text()
    households = grid_layer(live_server)[code]["properties"]["households"]
    assert code in info and str(households) in info and "网格长" in info
    screenshot(p, "planner")


def pixel(p, lat: float, lon: float) -> tuple[float, float]:
    """Page coordinates of a point on the map."""
    return tuple(
        p.evaluate(
            "([lat, lon]) => { const pt = wangge.map.latLngToContainerPoint([lat, lon]);"
            " const box = wangge.map.getContainer().getBoundingClientRect();"
            " return [pt.x + box.left, pt.y + box.top]; }",
            [lat, lon],
        )
    )


def grid_layer(live, level: str = "grid") -> dict:
    r = httpx.get(f"{live.url}/api/grids", params={"community": COMMUNITY, "level": level})
    assert r.status_code == 200
    return {f["properties"]["code"]: f for f in r.json()["features"]}


def open_spot(live, code: str) -> tuple[float, float]:
    """(lat, lon) inside grid `code` away from every building footprint."""
    from api.db import transaction
    from api.storage import map_data

    polygon = shape(grid_layer(live)[code]["geometry"])
    with transaction(live.database_url) as session:
        footprints = map_data.buildings(session, [COMMUNITY]).geometry
    free = polygon.buffer(-0.0002).difference(
        shapely.union_all(shapely.buffer(footprints.values, 1e-4))
    )
    point = free.representative_point()
    return point.y, point.x


def sign_in(p, username: str = PLANNER, password: str = PASSWORD) -> None:
    p.fill("#signin [name=username]", username)
    p.fill("#signin [name=password]", password)
    p.click("#signin button")
    p.wait_for_selector("#whoami:not([hidden])")


def select_grid(p, live, code: str) -> None:
    p.mouse.click(*pixel(p, *open_spot(live, code)))
    p.wait_for_function(
        "code => wangge.planner.state.selection.join() === code", arg=code, timeout=5000
    )


def movable(live) -> tuple[str, str, tuple[float, float]]:
    """(to grid, from grid, building location): a building whose move is accepted."""
    grids = grid_layer(live)
    buildings = httpx.get(f"{live.url}/api/buildings", params={"community": COMMUNITY}).json()
    where = {
        f["properties"]["building_id"]: f["geometry"]["coordinates"] for f in buildings["features"]
    }
    polygons = {code: shape(f["geometry"]) for code, f in grids.items()}
    pairs = sorted(
        ((a, b) for a in grids for b in grids if a != b),
        key=lambda ab: -polygons[ab[0]].intersection(polygons[ab[1]]).length,
    )
    headers = token(live)
    for a, b in pairs[:6]:  # the longest shared edges first
        members = [bid for bid, h in grids[b]["properties"]["members"] if h > 0]
        members.sort(key=lambda bid: polygons[a].distance(shapely.Point(where[bid])))
        for bid in members[:2]:
            body = {"community": COMMUNITY, "building_ids": [bid], "to_code": a}
            r = httpx.post(f"{live.url}/api/grids/move", json=body, headers=headers, timeout=30)
            if r.status_code == 200 and r.json()["ok"]:
                lon, lat = where[bid]
                return a, b, (lat, lon)
    raise AssertionError("no building can move to a neighbouring grid")


def history(live) -> int:
    r = httpx.get(
        f"{live.url}/api/grids/history", params={"community": COMMUNITY}, headers=token(live)
    )
    return r.json()["current_version"]


def test_planner_redraws_a_boundary_and_saves_a_new_version(live_server, page):
    p = page.page
    target, source, (lat, lon) = movable(live_server)
    p.goto(f"{live_server.url}/map/planner?community={COMMUNITY}")
    wait_drawn(p)
    sign_in(p)
    select_grid(p, live_server, target)
    assert target in p.locator("#info").inner_text()
    p.click("#btn-draw-boundary")
    p.wait_for_selector(".leaflet-draw-tooltip")
    p.evaluate("([lat, lon]) => wangge.map.setView([lat, lon], 19, {animate: false})", [lat, lon])
    x, y = pixel(p, lat, lon)
    corners = [(x - 9, y - 9), (x + 9, y - 9), (x + 9, y + 9), (x - 9, y + 9), (x - 9, y - 9)]
    for cx, cy in corners:
        p.mouse.click(cx, cy)
        p.wait_for_timeout(120)
    p.wait_for_function("document.getElementById('edit-state').textContent.length > 0")
    p.wait_for_function(
        "['ok', 'warning', 'error'].includes(document.getElementById('status').className)"
    )
    status = p.locator("#status")
    # a preview without errors (warnings, in amber, do not block saving)
    assert status.get_attribute("class") in ("ok", "warning"), status.inner_text()
    if status.get_attribute("class") == "warning":
        assert "警告" in status.inner_text()
        colours = p.evaluate("wangge.planner.problemLayer.getLayers().map(l => l.options.color)")
        assert colours and set(colours) == {"#d08700"}  # warnings drawn amber, not red
    p.click("#btn-save")
    p.wait_for_function(
        "document.getElementById('status').textContent.includes('第 2 版')", timeout=20_000
    )
    assert history(live_server) == 2
    p.wait_for_selector("#history-list table.history")
    history_text = p.locator("#history-list").inner_text()
    assert "第 2 版" in history_text
    for label in ("版本", "时间", "操作人", "变化"):
        assert label in history_text
    changes = p.locator("#history-list tbody tr td:nth-child(4)").all_inner_texts()
    assert "个网格" in changes[-1]  # the first version: its counts
    assert "个网格" not in changes[0] and ("→" in changes[0] or "数量未变" in changes[0])
    assert changes[0].startswith("保存：")  # how the version was made, from the audit log
    actors = p.locator("#history-list tbody tr td:nth-child(3)").all_inner_texts()
    assert actors[0] == "planner"
    # the diff names the grids (codes stay in the details) and goes with the undo
    p.click("#history-list button")
    p.wait_for_function("document.getElementById('diff').textContent.length > 0")
    diff = p.locator("#diff").inner_text()
    assert "瑞祥社区第" in diff and "第 1 版 → 当前" in diff, diff
    assert not re.search(r"\d{15}", diff)
    assert p.evaluate("wangge.planner.diffLayer.getLayers().length") >= 1
    p.click("#btn-undo")
    p.wait_for_function(
        "document.getElementById('status').textContent.includes('第 3 版')", timeout=20_000
    )
    assert p.locator("#diff").inner_text() == ""
    assert p.evaluate("wangge.planner.diffLayer.getLayers().length") == 0


def test_planner_cannot_save_a_bad_draft_and_repairs_it(live_server, page):
    p = page.page
    p.goto(f"{live_server.url}/map/planner?community={COMMUNITY}")
    wait_drawn(p)
    code = sorted(grid_layer(live_server))[0]
    sign_in(p)
    select_grid(p, live_server, code)
    p.click("#btn-validate")
    p.wait_for_function("wangge.planner.state.fc && wangge.planner.state.problems")
    # a draft like an old or imported file: one grid shifted over its neighbours
    p.evaluate(
        """code => { const f = wangge.planner.state.fc.features.find(
             f => f.properties.code === code);
           f.geometry.coordinates = f.geometry.coordinates.map(ring =>
             ring.map(([x, y]) => [x + 0.0008, y + 0.0004]));
           wangge.planner.state.dirty = true; }""",
        code,
    )
    p.click("#btn-validate")
    p.wait_for_selector("#problem-list li.error", timeout=20_000)
    assert p.evaluate("wangge.planner.problemLayer.getLayers().length") >= 1
    errors = p.evaluate("wangge.planner.problemLayer.getLayers().map(l => l.options.color)")
    assert "#c00" in errors  # errors red
    status = p.locator("#status")
    assert status.get_attribute("class") == "error" and "不能保存" in status.inner_text()
    assert "瑞祥社区第1网格" in p.locator("#problem-list").inner_text()  # named for people
    page.expected_statuses.add(422)  # the refused save
    p.click("#btn-save")
    p.wait_for_function(
        "document.getElementById('status').textContent.includes('保存被拒绝')", timeout=20_000
    )
    assert history(live_server) == 1
    screenshot(p, "planner-problems")
    # 修复错误 brings the draft back to a layer without errors, which then saves
    p.click("#btn-repair")
    p.wait_for_function(
        "['ok', 'warning'].includes(document.getElementById('status').className)",
        timeout=30_000,
    )
    assert p.locator("#problem-list li.error").count() == 0
    assert p.evaluate("wangge.planner.state.dirty") is True
    p.click("#btn-save")
    p.wait_for_function(
        "document.getElementById('status').textContent.includes('第 2 版')", timeout=20_000
    )
    assert history(live_server) == 2


def test_planner_draws_vector_tiles_and_selects_a_grid_on_them(live_server, page):
    p = page.page
    p.goto(f"{live_server.url}/map/planner?community={COMMUNITY}&render=tiles")
    wait_drawn(p)
    tiles = [u for u in page.requests if "/tiles/" in u]
    for layer in ("grids", "micro_grids", "buildings"):
        assert any(f"/tiles/{layer}/" in u for u in tiles), layer
    drawn = p.evaluate(
        "() => Object.fromEntries(['grids', 'micro_grids', 'buildings'].map(k => [k,"
        " new Set(Object.values(wangge.layers[k]._vectorTiles).flatMap("
        "t => Object.keys(t._features))).size]))"
    )
    counts = {level: len(grid_layer(live_server, level)) for level in ("grid", "micro")}
    assert drawn["grids"] == counts["grid"] and drawn["micro_grids"] == counts["micro"]
    assert drawn["buildings"] > 0
    code = sorted(grid_layer(live_server))[0]
    p.mouse.click(*pixel(p, *open_spot(live_server, code)))
    p.wait_for_function("wangge.planner.state.selection.length === 1", timeout=5000)
    selected = p.evaluate("wangge.planner.state.selection[0]")
    assert selected == code or selected.startswith(code)
    assert "户数" in p.locator("#info").inner_text()
    layer = "grids" if selected == code else "micro_grids"
    colours = (
        "([layer, code]) => Object.values(wangge.layers[layer]._vectorTiles)"
        ".filter(t => t._features[code]).map(t => t._features[code].feature.options.color)"
    )
    assert set(p.evaluate(colours, [layer, selected])) == {"#111"}  # highlighted on the tiles
    other = sorted(grid_layer(live_server))[-1]
    p.mouse.click(*pixel(p, *open_spot(live_server, other)))
    p.wait_for_function(
        "(code) => wangge.planner.state.selection[0].startsWith(code)", arg=other, timeout=5000
    )
    assert "#111" not in p.evaluate(colours, [layer, selected])  # the old one is plain again
    # the micro level on tiles: grids drawn as outlines, a click selects a micro-grid
    p.check("#level input[value=micro]")
    p.wait_for_function(
        "Object.values(wangge.layers.grids._vectorTiles).every(t => Object.values(t._features)"
        ".every(f => f.feature.options.fill === false))"
        " && Object.values(wangge.layers.micro_grids._vectorTiles).length > 0"
        " && wangge.layers.micro_grids._noTilesToLoad()",  # every tile drawn, not only the first
        timeout=10_000,
    )
    p.mouse.click(*pixel(p, *open_spot(live_server, code)))
    p.wait_for_function(
        "code => wangge.planner.state.selection.length === 1"
        " && wangge.planner.state.selection[0].startsWith(code)"
        " && wangge.planner.state.selection[0].length === 18",
        arg=code,
        timeout=5000,
    )
