"""District notices end to end: a street admin draws an area on /map/notices and sends an
emergency notice (after confirming it), a grid worker sees it at the top of their phone page
and acknowledges it with the households reached in two taps, and the street admin's live map
colours that grid by the share reached."""

from __future__ import annotations

import httpx
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from shapely.geometry import shape
from shapely.ops import polylabel

from tests.browser.conftest import screenshot, token, wait_drawn
from tests.browser.worker_world import ADMIN, PASSWORD, make_worker, sign_in

STREET_ADMIN = "jiedao"
FULL = "#1a9850"  # maps.notices.SHARE_COLOURS for 100 %


def make_street_admin(live) -> str:
    from sqlalchemy import text

    from api.accounts import create_user
    from api.db import transaction

    with transaction(live.database_url) as session:
        street = session.execute(text("SELECT min(code) FROM streets")).scalar()
        create_user(
            session,
            STREET_ADMIN,
            "street_admin",
            PASSWORD,
            street_code=street,
            display_name="刘主任",
        )
    return street


def draw_square(p, lon: float, lat: float, half: float) -> None:
    """Click the four corners of a square around (lon, lat) with the polygon tool, closing it
    on the first corner."""
    box = p.locator(".folium-map").bounding_box()
    corners = [(lon - half, lat - half), (lon + half, lat - half), (lon + half, lat + half),
               (lon - half, lat + half), (lon - half, lat - half)]  # fmt: skip
    vertices = "document.querySelectorAll('.leaflet-editing-icon').length"
    for k, (x, y) in enumerate(corners[:-1]):
        pt = p.evaluate(
            "([lat, lon]) => { const q = wangge.map.latLngToContainerPoint([lat, lon]);"
            " return [q.x, q.y]; }",
            [y, x],
        )
        # Leaflet.draw ignores a press for 50 ms (a timer) after each vertex; on a loaded
        # machine the next click can land inside that pause, so click again until it counts.
        for _ in range(5):
            p.mouse.move(box["x"] + pt[0], box["y"] + pt[1], steps=3)
            p.mouse.click(box["x"] + pt[0], box["y"] + pt[1])
            try:
                p.wait_for_function(f"{vertices} >= {k + 1}", timeout=3000)
                break
            except PlaywrightTimeout:
                p.wait_for_timeout(100)
        else:
            raise AssertionError(f"vertex {k + 1} of the square was not placed")
    first = corners[0]
    first = p.evaluate(
        "([lat, lon]) => { const q = wangge.map.latLngToContainerPoint([lat, lon]);"
        " return [q.x, q.y]; }",
        [first[1], first[0]],
    )
    p.mouse.move(box["x"] + first[0], box["y"] + first[1], steps=3)
    p.mouse.click(box["x"] + first[0], box["y"] + first[1])


def make_lead_without_building(live, code: str) -> None:
    """A building lead (楼栋长) of the grid whose building is not registered yet."""
    from api.db import transaction
    from api.service_orders.volunteers import create_volunteer

    with transaction(live.database_url) as session:
        create_volunteer(session, "loudong", PASSWORD, grid_codes=[code], kind="building_lead",
                         skills=["助老"], display_name="楼栋长老王", actor="test")  # fmt: skip


def test_drawn_emergency_reaches_the_worker_and_the_map_shows_the_share(live_server, page, phone):
    grid, _ = make_worker(live_server)
    make_street_admin(live_server)
    code = grid["properties"]["code"]
    make_lead_without_building(live_server, code)
    households = grid["properties"]["households"]

    # the street office composes, draws an area inside the worker's grid and sends
    p = page.page
    p.goto(f"{live_server.url}/map/notices")
    wait_drawn(p)
    p.fill("#signin [name=username]", STREET_ADMIN)
    p.fill("#signin [name=password]", PASSWORD)
    p.click("#signin button")
    p.wait_for_selector("#compose", state="visible")
    p.wait_for_function("document.querySelectorAll('path.leaflet-interactive').length > 3")
    p.fill("#notice-form [name=title]", "暴雨红色预警")
    p.fill("#notice-form [name=body]", "今晚特大暴雨，请立即通知低洼住户转移 <b>不是标记</b>")
    p.select_option("#notice-form [name=level]", "emergency")
    p.check('input[name="area-mode"][value="polygon"]')
    inside = polylabel(shape(grid["geometry"]), tolerance=1e-6)  # deep inside the grid
    p.evaluate(
        "([lat, lon]) => wangge.map.setView([lat, lon], 17, {animate: false})",
        [inside.y, inside.x],
    )
    draw_square(p, inside.x, inside.y, 0.0002)
    p.wait_for_function("document.getElementById('picked').textContent.includes('画出的范围')")
    p.click("#btn-send")
    assert p.locator("#confirm-box").is_visible()  # an emergency waits for the confirmation
    admin = token(live_server, ADMIN, PASSWORD)
    assert httpx.get(f"{live_server.url}/api/notices/sent", headers=admin).json() == []
    p.click("#btn-confirm")
    p.wait_for_function("document.getElementById('status').textContent.includes('已发送')")
    # the form is ready for the next notice, from the street admin's own street office again
    assert p.locator('input[name="area-mode"][value="streets"]').is_checked()
    (sent,) = httpx.get(f"{live_server.url}/api/notices/sent", headers=admin).json()
    assert sent["level"] == "emergency" and sent["grids"] == 1

    # the grid worker's phone shows it at the top, in red; two taps acknowledge it
    w = phone.page
    sign_in(w, live_server)
    card = w.locator("#notices .notice-card.notice-emergency")
    card.wait_for()
    assert "暴雨红色预警" in card.inner_text() and "<b>不是标记</b>" in card.inner_text()
    assert "发送人 刘主任" in card.inner_text()  # by name, not the account's
    everyone = w.locator("#notices .notice-pick").first
    assert everyone.inner_text() == f"全部 {households} 户"
    screenshot(w, "notices_phone")
    everyone.tap()
    w.locator("#notices .notice-confirm").tap()
    w.wait_for_function("document.querySelector('#notices').textContent.includes('已确认')")
    progress = httpx.get(f"{live_server.url}/api/notices/{sent['id']}/progress", headers=admin)
    (feature,) = progress.json()["features"]
    assert feature["properties"]["code"] == code
    assert feature["properties"]["reached"] == households

    # the street admin's map refreshes itself and colours the grid as fully reached
    p.wait_for_function(
        "(want) => { const g = document.querySelector('path.' + want[0]);"
        " return !!g && g.getAttribute('fill') === want[1]; }",
        arg=[f"grid-{code}", FULL],
        timeout=25_000,
    )
    line = p.locator("#progress-line").inner_text()
    assert f"已通知 {households} / {households} 户（100%）" in line
    assert "已发送" in p.locator("#progress-since").inner_text()
    # the building lead with no building known waits with 0 households and says why
    lead = p.locator("#pending-list li", has_text="楼栋长老王")
    assert "未登记楼栋" in lead.inner_text()
    screenshot(p, "notices_desktop")
