"""Red points end to end: a community admin records an activity with a resident on the desktop
page (1440×900), the resident sees the points on the phone (390×844, touch) and asks for a
reward, the admin confirms it, and the resident's balance falls by the reward's cost. Names
from data that look like HTML are shown as text."""

from __future__ import annotations

from api import accounts
from api.db import transaction
from api.points import rewards
from tests.browser.conftest import screenshot, watch

COMMUNITY = "990101001001"
PASSWORD = "Points-pass-2026"
RESIDENT_NAME = "<b>李</b>阿姨"
REWARD = "洗衣液<img src=x>"


def sign_in(page, username: str) -> None:
    page.fill("#signin input[name=username]", username)
    page.fill("#signin input[name=password]", PASSWORD)
    page.locator("#signin button[type=submit]").click()


def test_activity_points_exchange_confirmed(live_server, browser):
    with transaction(live_server.database_url) as s:
        admin = accounts.create_user(s, "shequ", "community_admin", PASSWORD,
                                     community_code=COMMUNITY)  # fmt: skip
        accounts.create_user(s, "liayi", "resident", PASSWORD, display_name=RESIDENT_NAME,
                             community_code=COMMUNITY)  # fmt: skip
        reward = rewards.create_reward(s, admin, community_code=COMMUNITY, name=REWARD,
                                       cost=8, stock=3)  # fmt: skip

    desk_context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    desk = watch(desk_context)
    d = desk.page
    d.goto(f"{live_server.url}/map/points/community")
    d.wait_for_function("document.body.dataset.ready === '1'")
    sign_in(d, "shequ")
    person = d.locator("#people li.person[data-username=liayi]")
    person.wait_for()
    assert person.locator("label span").first.inner_text() == RESIDENT_NAME  # as text
    d.fill("#activity-name", "楼道清洁")
    person.locator("input[type=checkbox]").check()
    person.locator(".points-each").fill("12")
    d.locator("#activity-form button[type=submit]").click()
    d.wait_for_function("document.getElementById('status').textContent.includes('已登记')")
    d.locator("#ranking li", has_text="12 分").wait_for()
    assert RESIDENT_NAME in d.locator("#ranking").inner_text()
    screenshot(d, "points_community_activity")

    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                        has_touch=True, locale="zh-CN")  # fmt: skip
    resident = watch(phone_context)
    p = resident.page
    p.goto(f"{live_server.url}/map/points")
    p.wait_for_function("document.body.dataset.ready === '1'")
    sign_in(p, "liayi")
    p.wait_for_function("document.getElementById('balance').textContent === '12'")
    assert "楼道清洁" in p.locator("#history").inner_text()
    offer = p.locator(f"#rewards li[data-reward='{reward['id']}']")
    assert REWARD in offer.inner_text()
    offer.locator("button.exchange").tap()
    p.locator("#exchanges .state.requested").wait_for()
    assert "4" in p.locator("#available").inner_text()  # 12 less the 8 held
    screenshot(p, "points_phone_requested")

    d.reload()
    d.wait_for_function("document.body.dataset.ready === '1'")
    line = d.locator("#exchanges li[data-exchange]")
    line.wait_for()
    assert RESIDENT_NAME in line.inner_text() and REWARD in line.inner_text()
    screenshot(d, "points_community_exchange")
    line.locator("button.confirm").click()
    d.wait_for_function("document.getElementById('status').textContent.includes('已确认')")
    d.locator("#exchanges li[data-exchange]").wait_for(state="detached")
    d.locator("#rewards li", has_text="剩 2 件").wait_for()
    stocked = d.locator(f"#rewards li[data-reward='{reward['id']}']")
    stocked.locator(".stock-edit").fill("10")
    stocked.locator("button.set-stock").click()
    d.locator("#rewards li", has_text="剩 10 件").wait_for()

    p.reload()
    p.wait_for_function("document.body.dataset.ready === '1'")
    p.wait_for_function("document.getElementById('balance').textContent === '4'")
    assert p.locator("#exchanges .state.confirmed").inner_text() == "已兑换"
    assert p.locator("#history b.minus").first.inner_text() == "-8"
    screenshot(p, "points_phone_confirmed")
    for context, watched in ((desk_context, desk), (phone_context, resident)):
        context.close()
        assert watched.unexpected() == [], watched.errors
