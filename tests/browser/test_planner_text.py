"""The planner page speaks Chinese and shows what the validator says: Leaflet.draw's hints, the
scale in metres, sign-in failures and expiry, grid names, the colour scale of households and
the micro-grid level."""

from __future__ import annotations

import re

import shapely
from shapely.geometry import shape

from maps.planner import STATUS_COLOURS
from tests.browser.conftest import wait_drawn
from tests.browser.test_planner import COMMUNITY, grid_layer, pixel, select_grid, sign_in
from tests.browser.test_planner_tools import brush_stroke, open_planner, pick_row


def test_draw_tools_scale_and_names_are_chinese(live_server, page):
    p = page.page
    open_planner(p, live_server)
    scale = p.locator(".leaflet-control-scale").inner_text()
    assert re.fullmatch(r"\s*\d+ k?m\s*", scale), scale  # metres only: no feet, no miles
    assert p.locator("a.leaflet-draw-draw-polygon").get_attribute("title") == "画出范围"
    code = sorted(grid_layer(live_server))[0]
    select_grid(p, live_server, code)
    info = p.locator("#info").inner_text()
    assert "瑞祥社区第1网格" in info and code in info  # the name, with the code in the details
    rows = p.locator("#tally-table tbody tr td:first-child").all_inner_texts()
    assert rows and all(re.fullmatch(r"瑞祥社区第\d+网格", r) for r in rows), rows
    p.click("#btn-draw-boundary")
    tip = p.locator(".leaflet-draw-tooltip")
    tip.wait_for()
    box = p.locator(".folium-map").bounding_box()
    p.mouse.move(box["x"] + 300, box["y"] + 300)
    assert "点击开始画范围" in tip.inner_text()
    p.mouse.click(box["x"] + 300, box["y"] + 300)
    p.mouse.move(box["x"] + 360, box["y"] + 310)
    assert "点击继续画下一点" in tip.inner_text()
    assert not re.search(r"[A-Za-z]{3,}", tip.inner_text())
    p.keyboard.press("Escape")
    p.click("a.leaflet-draw-draw-polygon")  # the toolbar's own polygon tool
    actions = p.locator(".leaflet-draw-actions").first.inner_text()
    assert "完成" in actions and "取消" in actions
    toolbar = p.locator(".leaflet-draw").inner_text()
    assert not re.search(r"[A-Za-z]{3,}", tip.inner_text() + actions + toolbar), toolbar


def test_a_failed_and_an_expired_sign_in_each_show_one_state(live_server, page):
    p = page.page
    page.expected_statuses.add(401)
    p.goto(f"{live_server.url}/map/planner?community={COMMUNITY}")
    wait_drawn(p)
    p.fill("#signin [name=username]", "planner")
    p.fill("#signin [name=password]", "not-the-password")
    p.click("#signin button")
    p.wait_for_function("document.getElementById('status').className === 'error'")
    assert p.locator("#status").inner_text() == "登录失败：用户名或密码错误，或账号已停用"
    assert p.locator("#whoami").is_hidden()
    sign_in(p)
    code = sorted(grid_layer(live_server))[0]
    select_grid(p, live_server, code)
    p.evaluate("sessionStorage.setItem('wangge.token', 'expired')")
    p.click("#btn-split")
    p.wait_for_function("document.getElementById('status').textContent.includes('登录已过期')")
    assert p.locator("#whoami").is_hidden() and p.locator("#signin").is_visible()
    assert "已登录" not in p.locator("#panel").inner_text()


def test_households_colours_the_validators_status_and_the_micro_level(live_server, page):
    p = page.page
    open_planner(p, live_server)
    legend = p.locator(".wangge-legend").inner_text()
    for label in ("户数不足", "户数适中", "户数超出", "错误（不能保存）", "警告（可以保存）"):
        assert label in legend
    assert len(set(STATUS_COLOURS.values()) | {"#c00", "#d08700"}) == 5  # five distinct colours
    target = sorted(grid_layer(live_server))[0]
    pick_row(p, target)
    p.click("#btn-brush")
    p.wait_for_function("wangge.planner.tools.mode() === 'brush'", timeout=10_000)
    p.evaluate("document.getElementById('brush-size').value = 8")
    for _ in range(2):  # enough households for the target to go over its bound
        brush_stroke(p, target)
    status = p.locator("#status")
    problems = p.locator("#problem-list").inner_text()
    assert problems and not re.search(r"[A-Za-z]{3,}", problems), problems  # the Chinese message
    warnings = p.locator("#problem-list li.warning").count()
    errors = p.locator("#problem-list li.error").count()
    text = status.inner_text()
    assert "校验通过" not in text or warnings + errors == 0
    if errors:
        assert status.get_attribute("class") == "error" and f"{errors} 个错误" in text
    elif warnings:
        assert status.get_attribute("class") == "warning"
        assert text == f"可以保存，{warnings} 条警告"
    # every grid drawn in the colour of its households against the bounds
    drawn = p.evaluate(
        "wangge.planner.editLayer.getLayers().filter(l => l.feature.properties.level === 'grid')"
        ".map(l => [l.feature.properties.households, l.options.fillColor])"
    )
    for households, colour in drawn:
        expected = "under" if households < 300 else "over" if households > 500 else "within"
        assert colour == STATUS_COLOURS[expected], (households, colour)
    assert any(h > 500 for h, _ in drawn)  # the painted grid is over, in purple
    warned = p.evaluate(
        "wangge.planner.problemLayer.getLayers().filter(l => l.feature.properties.severity"
        " === 'warning').map(l => l.options.color)"
    )
    assert set(warned) <= {"#d08700"}
    # the micro level: micro-grids filled and clickable, grids outlines only
    p.keyboard.press("Escape")
    p.check("#level input[value=micro]")
    micro = grid_layer(live_server, "micro")
    code = sorted(c for c in micro if c.startswith(target))[0]
    spot = shape(micro[code]["geometry"])
    spot = spot.buffer(-0.00005).representative_point() if spot.area > 1e-9 else spot.centroid
    p.evaluate(
        "([lat, lon]) => wangge.map.setView([lat, lon], 19, {animate: false})", [spot.y, spot.x]
    )
    inside = p.evaluate(
        "wangge.planner.editLayer.getLayers().filter(l => l.feature.properties.level === 'micro')"
        ".map(l => l.feature.properties.code)"
    )
    assert inside
    clicked = _open_micro_spot(p, live_server, inside)
    p.mouse.click(*pixel(p, *clicked[1]))
    p.wait_for_function(
        "code => wangge.planner.state.selection.join() === code", arg=clicked[0], timeout=5000
    )
    assert len(clicked[0]) == 18 and "微网格" in p.locator("#info").inner_text()
    fills = p.evaluate(
        "wangge.planner.editLayer.getLayers().map(l => [l.feature.properties.level,"
        " l.options.fill !== false])"
    )
    assert {level for level, filled in fills if filled} == {"micro"}
    rows = p.locator("#tally-table tbody tr td:first-child").all_inner_texts()
    assert rows and all("微网格" in r for r in rows)


def _open_micro_spot(p, live, codes) -> tuple[str, tuple[float, float]]:
    """A micro-grid of the edited layer in view and a point inside it off every building."""
    from api.db import transaction
    from api.storage import map_data

    features = p.evaluate(
        "codes => wangge.planner.state.fc.features.filter(f => codes.includes(f.properties.code))",
        codes,
    )
    view = p.evaluate(
        "(() => { const b = wangge.map.getBounds(); return [b.getWest(),"
        " b.getSouth(), b.getEast(), b.getNorth()]; })()"
    )
    box = shapely.box(*view).buffer(-0.0001)
    with transaction(live.database_url) as session:
        footprints = shapely.union_all(
            shapely.buffer(map_data.buildings(session, [COMMUNITY]).geometry.values, 1e-4)
        )
    for f in features:
        free = shape(f["geometry"]).intersection(box).buffer(-0.00003).difference(footprints)
        if not free.is_empty and free.area > 1e-10:
            point = free.representative_point()
            return f["properties"]["code"], (point.y, point.x)
    raise AssertionError("no micro-grid with open land in view")


# every grid and micro-grid polygon on the map: [code, its tooltip's text or null]
GRID_TIPS = """() => { const out = [];
  wangge.map.eachLayer(l => { const p = l.feature && l.feature.properties;
    if (!p || !p.code || !['grid', 'micro'].includes(p.level) || !l.getTooltip) return;
    const t = l.getTooltip(), c = t && t.getContent();
    out.push([p.code, c ? (typeof c === 'string' ? c : c.textContent) : null]); });
  return out; }"""


def test_grid_tooltips_name_the_grid_and_its_households_without_the_code(live_server, page):
    """Hovering a grid or micro-grid (drawn with the page or loaded for editing) shows
    瑞祥社区第3网格第2微网格 · 46 户; it showed 编码 990101001001003002 / 户数 46."""
    p = page.page
    open_planner(p, live_server)
    layer = grid_layer(live_server) | grid_layer(live_server, "micro")
    # no tooltip of a whole layer that would show codes
    assert p.evaluate("!wangge.layers.grids.getTooltip()")
    assert p.evaluate("!wangge.layers.micro_grids.getTooltip()")
    for step in ("page", "editing"):
        tips = p.evaluate(GRID_TIPS)
        assert {code for code, _ in tips} >= set(layer), step
        for code, tip in tips:
            households = layer[code]["properties"]["households"]
            assert tip is not None and code not in tip, (step, code, tip)
            assert re.fullmatch(r"瑞祥社区第\d+网格(第\d+微网格)? · \d+ 户", tip), tip
            assert tip.endswith(f" · {households} 户")
        pick_row(p, sorted(grid_layer(live_server))[0])
        p.click("#btn-validate")
        p.wait_for_function("wangge.planner.state.fc !== null", timeout=20_000)
