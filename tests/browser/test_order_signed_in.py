"""A signed-in resident's service order on two 390×844 touch phones: the resident SIGNS IN on
/map/order and orders without typing a phone number (tap the map, pick a service); a volunteer
of that grid takes it and marks it done on /map/volunteer; the resident confirms and rates it
from "我的服务单" on the ordering page, and the rating shows there and as the station's."""

from __future__ import annotations

from api.accounts import create_user
from api.db import transaction
from tests.browser.conftest import screenshot
from tests.browser.test_volunteer import (
    PASSWORD,
    sign_in,
    signed_in_tab,
    tap_map_centre,
    volunteer_at_building,
)

RESIDENT, RESIDENT_NAME = "resident", "李桂英"  # the demo's resident account


def test_signed_in_resident_orders_and_rates_from_my_orders(live_server, phone):
    with transaction(live_server.database_url) as s:
        lon, lat, _ = volunteer_at_building(live_server, s, display_name="王小明")
        create_user(s, RESIDENT, "resident", PASSWORD, display_name=RESIDENT_NAME)
    resident = phone.page
    resident.goto(f"{live_server.url}/map/order")
    resident.wait_for_function("document.body.dataset.ready === '1'")
    assert resident.locator("#phone-step").is_visible() and resident.locator("#mine").is_hidden()
    sign_in(resident, "xiaowang")  # a volunteer's account is no resident's: signed out again
    resident.locator("#status.error", has_text="不是居民账号").wait_for()
    assert resident.locator("#signin").is_visible() and resident.locator("#mine").is_hidden()
    assert resident.evaluate("sessionStorage.getItem('wangge.token')") is None
    sign_in(resident, RESIDENT)
    resident.locator("#whoami").wait_for()
    resident.wait_for_function("document.body.dataset.mine")
    assert RESIDENT_NAME in resident.locator("#whoami").inner_text()
    assert resident.locator("#signed-in-note").is_visible()  # signed in: the phone optional
    screenshot(resident, "order_signed_in_top_phone")
    assert "还没有服务单" in resident.locator("#mine-list").inner_text()

    resident.evaluate("([lat, lon]) => wangge.orderPage.map.setView([lat, lon], 18)", [lat, lon])
    tap_map_centre(resident)
    first = resident.locator("#stations .station").first
    station_name = first.locator("h3").inner_text()
    first.locator(".svc").first.tap()
    resident.fill("#note", "<i>周三上午在家</i>")
    resident.locator("#btn-send").tap()
    placed = resident.locator("#mine-list li[data-status='open']")
    placed.wait_for()
    order_id = placed.get_attribute("data-order")
    assert f"订单编号 {order_id}" in resident.locator("#status").inner_text()
    assert station_name in placed.inner_text() and "待接单" in placed.inner_text()
    assert "/map/order/status" not in resident.url  # stays on the page, under 我的服务单
    screenshot(resident, "order_signed_in_phone")

    worker = signed_in_tab(live_server, resident, "xiaowang")
    vol = worker.page
    item = vol.locator(f"#open-list li[data-order='{order_id}']")
    item.wait_for()
    assert "<i>周三上午在家</i>" in item.locator(".note").inner_text()
    item.locator("button.take").tap()
    mine = vol.locator(f"#mine-list li[data-order='{order_id}'][data-status='taken']")
    mine.wait_for()
    resident.locator("#btn-mine-refresh").tap()  # the resident sees who took it
    taken = resident.locator(f"#mine-list li[data-order='{order_id}'][data-status='taken']")
    taken.wait_for()
    assert "接单志愿者：王小明" in taken.inner_text() and "xiaowang" not in taken.inner_text()
    assert mine.locator("a.call").count() == 0  # the resident left no number: none to show
    mine.locator("button.done-btn").tap()
    vol.locator(f"#mine-list li[data-order='{order_id}'][data-status='done']").wait_for()
    vol.close()
    assert worker.unexpected() == [], worker.errors

    resident.reload()  # the sign-in stays for the tab (sessionStorage)
    done = resident.locator(f"#mine-list li[data-order='{order_id}'][data-status='done']")
    done.wait_for()
    assert "接单志愿者：王小明" in done.inner_text() and "xiaowang" not in done.inner_text()
    done.locator(".stars button[data-stars='4']").tap()
    done.locator("textarea.rate-comment").fill("<b>很准时</b>")
    done.scroll_into_view_if_needed()
    screenshot(resident, "order_done_in_my_orders_phone")
    done.locator("button.confirm").tap()
    rated = resident.locator(f"#mine-list li[data-order='{order_id}'][data-status='rated']")
    rated.wait_for()
    assert "感谢您的评价：4 星" in rated.inner_text()
    assert "您的评价：<b>很准时</b>" in rated.inner_text()  # text, not markup
    assert rated.locator(".rate").count() == 0  # rated once; no second form
    rated.scroll_into_view_if_needed()
    screenshot(resident, "order_rated_from_my_orders_phone")

    resident.locator("#map").scroll_into_view_if_needed()
    tap_map_centre(resident)
    station = resident.locator("#stations .station", has_text=station_name)
    station.locator("text=居民评分 4.0（1 次评价）").wait_for()

    resident.locator("#btn-sign-out").tap()
    assert resident.locator("#mine").is_hidden() and resident.locator("#signed-in-note").is_hidden()
