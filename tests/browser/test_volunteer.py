"""A service order end to end on two 390×844 touch phones: a resident orders a service on
/map/order by tapping the map, a volunteer of that grid takes it on /map/volunteer and marks
it done, the resident confirms and rates it on the order's page, and the station's residents'
rating shows the stars."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
from shapely.geometry import shape

from api.accounts import create_user
from api.cases import dispatch
from api.db import transaction
from api.service_orders import catalog, volunteers
from tests.browser.conftest import screenshot, watch

COMMUNITY = "990101001001"
PASSWORD = "Volunteer-pass-1"
PHONE = "13912345678"


def building_point(live) -> tuple[float, float]:
    r = httpx.get(f"{live.url}/api/buildings", params={"community": COMMUNITY})
    point = shape(r.json()["features"][0]["geometry"]).representative_point()
    return round(point.x, 6), round(point.y, 6)


def volunteer_at_building(live, session, **extra) -> tuple[float, float, str]:
    """A building's point, its grid, and the volunteer xiaowang of that grid with every skill."""
    lon, lat = building_point(live)
    grid = dispatch.route_point(session, lon, lat, tolerance_m=50).grid_code
    volunteers.create_volunteer(session, "xiaowang", PASSWORD, grid_codes=[grid],
                                kind="party_member", skills=list(catalog.skills()),
                                actor="test", **extra)  # fmt: skip
    return lon, lat, grid


def sign_in(page, username: str) -> None:
    page.fill("#signin input[name=username]", username)
    page.fill("#signin input[name=password]", PASSWORD)
    page.locator("#signin button").tap()


def tap_map_centre(page) -> None:
    box = page.locator("#map").bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def signed_in_tab(live, page, username: str):
    """Another tab of the phone (its own sessionStorage) on /map/volunteer, signed in."""
    tab = watch(page.context)
    tab.page.goto(f"{live.url}/map/volunteer")
    tab.page.wait_for_function("document.body.dataset.ready === '1'")
    sign_in(tab.page, username)
    return tab


def test_resident_orders_volunteer_takes_resident_rates(live_server, phone):
    with transaction(live_server.database_url) as s:
        lon, lat, grid = volunteer_at_building(live_server, s)
        create_user(s, "shequ", "community_admin", PASSWORD, community_code=grid[:12])
    resident = phone.page
    resident.goto(f"{live_server.url}/map/order")
    resident.wait_for_function("document.body.dataset.ready === '1'")
    resident.evaluate("([lat, lon]) => wangge.orderPage.map.setView([lat, lon], 18)", [lat, lon])
    tap_map_centre(resident)
    first = resident.locator("#stations .station").first
    station_name = first.locator("h3").inner_text()
    first.locator(".svc").first.tap()
    assert first.locator(".svc").first.get_attribute("aria-checked") == "true"
    resident.fill("#note", "<b>请下午来</b>")
    resident.fill("#phone", PHONE)
    screenshot(resident, "order_phone")
    resident.locator("#btn-send").tap()
    resident.wait_for_url("**/map/order/status#*")
    resident.wait_for_function("document.body.dataset.status === 'open'")
    receipt = unquote(resident.url.split("#", 1)[1])
    order_id = httpx.post(f"{live_server.url}/api/service-orders/follow",
                          json={"receipt": receipt}).json()["id"]  # fmt: skip

    worker = signed_in_tab(live_server, resident, "xiaowang")
    vol = worker.page
    item = vol.locator(f"#open-list li[data-order='{order_id}']")
    item.wait_for()
    assert "党员（双报到）" in vol.locator("#my-grid").inner_text()
    assert "<b>请下午来</b>" in item.locator(".note").inner_text()  # text, not markup
    assert PHONE not in vol.locator("#open-list").inner_text()  # no number before taking
    assert "米" in item.inner_text() and station_name in item.inner_text()
    item.locator("button.take").tap()
    mine = vol.locator(f"#mine-list li[data-order='{order_id}'][data-status='taken']")
    mine.wait_for()
    assert mine.locator("a.call").get_attribute("href") == f"tel:{PHONE}"
    screenshot(vol, "volunteer_phone")
    mine.locator("button.done-btn").tap()
    vol.locator(f"#mine-list li[data-order='{order_id}'][data-status='done']").wait_for()
    vol.close()
    assert worker.unexpected() == [], worker.errors

    resident.reload()
    resident.wait_for_function("document.body.dataset.status === 'done'")
    resident.locator("#star-buttons button[data-stars='4']").tap()
    resident.fill("#rate-comment", "很准时")
    resident.locator("#btn-confirm").tap()
    resident.wait_for_function("document.body.dataset.status === 'rated'")
    rating = resident.locator("#station-rating").inner_text()
    assert station_name in rating and "居民评分 4.0（1 次评价）" in rating
    steps = resident.locator("#timeline li").all_inner_texts()
    assert len(steps) == 5 and "居民已评价" in steps[-1]
    screenshot(resident, "order_rated_phone")

    admin = signed_in_tab(live_server, resident, "shequ")  # sees the order and the resident
    desk = admin.page
    listed = desk.locator(f"#community-list li[data-order='{order_id}'][data-status='rated']")
    listed.wait_for()
    assert "已评价" in listed.inner_text() and desk.locator("#open").is_hidden()
    assert admin.unexpected() == [], admin.errors
