"""The assessment end to end in the browser: a grid worker taps a building on the phone, records
a visit (the phone's location at the building) and sees it accepted, then records one more
without network, sent when back online; the street admin opens /map/assessment for the month,
sees that worker's visits counted, sorts, and downloads the Excel file, whose row says the
same."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from sqlalchemy import text

from api.assessment.formula import formula
from api.db import transaction
from tests.browser.conftest import screenshot, watch
from tests.browser.worker_world import COMMUNITY, PASSWORD, make_worker, sign_in

STREET_ADMIN = "street9"


def _buildings(live, grid: dict) -> list[tuple[str, str, float, float]]:
    """Two buildings of the worker's grid that the phone map draws: id, name, lon, lat."""
    from api.accounts import create_user

    members = [m[0] for m in grid["properties"]["members"]]
    with transaction(live.database_url) as session:
        rows = session.execute(
            text(
                "SELECT building_id, COALESCE(name, ''), ST_X(location), ST_Y(location)"
                " FROM buildings WHERE building_id = ANY(:ids) ORDER BY households DESC LIMIT 2"
            ),
            {"ids": members},
        ).all()
        create_user(session, STREET_ADMIN, "street_admin", PASSWORD, street_code=COMMUNITY[:9])
    return [tuple(r) for r in rows]


def _tap_building(page, lon: float, lat: float) -> None:
    """Zoom in on the building as a worker would, then tap its marker where it is drawn."""
    page.evaluate(
        "([lat, lon]) => wangge.map.setView([lat, lon], 19, {animate: false})", [lat, lon]
    )
    point = page.evaluate(
        """([lat, lon]) => {
          const p = wangge.map.latLngToContainerPoint([lat, lon]);
          const r = wangge.map.getContainer().getBoundingClientRect();
          return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lon],
    )
    page.touchscreen.tap(point[0], point[1])


def test_a_visit_recorded_on_the_phone_is_counted_in_the_street_table(browser, live_server):
    live = live_server
    grid, worker = make_worker(live)
    (_, _, lon, lat), (_, _, lon2, lat2) = _buildings(live, grid)
    phone_context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN",
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 8},
        permissions=["geolocation"],
    )  # fmt: skip
    phone = watch(phone_context)
    sign_in(phone.page, live)
    phone.page.wait_for_selector("#visits")  # the worker's visit list, empty so far
    _tap_building(phone.page, lon, lat)
    phone.page.wait_for_selector("#visit-form")
    assert "记录走访" in phone.page.inner_text("#visit-form h3")
    phone.page.fill("#visit-form [name=households_seen]", "3")
    phone.page.fill("#visit-form [name=note]", "<img src=x onerror=alert(1)> 独居老人")
    phone.page.tap("#btn-visit")
    phone.page.wait_for_function(
        "() => document.getElementById('visit-answer').textContent.includes('已记录走访')"
    )
    assert phone.page.get_attribute("#visit-answer", "class") == "ok"
    phone.page.wait_for_function("() => document.querySelectorAll('#visit-list li').length === 1")
    line = phone.page.inner_text("#visit-list li")
    assert "已计入" in line and "走访 3 户" in line
    assert "visit recorded" not in line and "osm-" not in line  # Chinese only, a name not an id
    screenshot(phone.page, "worker_visit")
    # no network at the next building: the visit is kept on the phone, sent when back online
    phone.expected_errors.extend(["ERR_INTERNET_DISCONNECTED", "Failed to fetch"])
    phone_context.set_offline(True)
    phone_context.set_geolocation({"longitude": lon2, "latitude": lat2, "accuracy": 8})
    _tap_building(phone.page, lon2, lat2)
    phone.page.wait_for_function("() => !document.getElementById('visit-answer').textContent")
    phone.page.fill("#visit-form [name=households_seen]", "2")
    phone.page.tap("#btn-visit")
    phone.page.wait_for_function(
        "() => document.getElementById('visit-answer').textContent.includes('没有网络')"
    )
    assert phone.page.inner_text("#visit-pending") == "待提交的走访 1 条"
    phone_context.set_offline(False)
    phone.page.wait_for_function("() => document.querySelectorAll('#visit-list li').length === 2")
    assert phone.page.locator("#visit-pending").is_hidden()
    phone_context.close()
    assert phone.unexpected() == [], phone.errors

    # a community name with markup: the page shows the server's grid name as text
    with transaction(live.database_url) as session:
        rename = text("UPDATE communities SET name = '<b>旧城</b>社区' WHERE code = :c")
        session.execute(rename, {"c": COMMUNITY})
    desk_context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    desk = watch(desk_context)
    page = desk.page
    page.goto(f"{live.url}/map/assessment")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    bar = "getComputedStyle(document.querySelector('header.bar')).backgroundColor"
    assert page.evaluate(bar) == "rgb(23, 99, 58)"  # the project's green, as the other pages
    page.fill("#signin [name=username]", STREET_ADMIN)
    page.fill("#signin [name=password]", PASSWORD)
    page.click("#signin button")
    row = f"#table tbody tr[data-key='{worker}']"
    page.wait_for_selector(row)
    assert page.inner_text(f"{row} td[data-col=visits]") == "2"
    assert page.inner_text(f"{row} td[data-col=households_seen]") == "5"
    # the sum and six parts from the file, then the month's working-day rule and holidays
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    calendar = formula().calendar.words(now.year, now.month)
    assert page.locator("#formula li").count() == 7 + len(calendar)
    assert page.inner_text("#formula li:nth-child(8)") == calendar[0]
    page.click("#table thead button[data-sort=visits]")  # highest first
    assert page.get_attribute("#table tbody tr:first-child", "data-key") == worker
    assert page.inner_text(f"{row} td[data-col=community]") == "<b>旧城</b>社区"
    screenshot(page, "assessment_table")
    with page.expect_download() as info:
        page.click("#btn-xlsx")
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    assert info.value.suggested_filename == f"assessment-worker-{month}.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    rows = {r[-1]: r for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    header = [c.value for c in book.worksheets[0][1]]
    assert rows[worker][header.index("走访次数 / visits")] == 2
    # per grid: the grid's name as the server sent it, the code under it as a detail
    code = grid["properties"]["code"]
    page.click("[data-level=grid]")
    cell = f"#table tbody tr[data-key='{code}'] td[data-col=key]"
    page.wait_for_selector(cell)
    assert page.inner_text(cell).split("\n") == [f"<b>旧城</b>社区第{int(code[12:15])}网格", code]
    assert page.locator(f"{cell} b").count() == 0
    screenshot(page, "assessment_grids")
    desk_context.close()
    assert desk.unexpected() == [], desk.errors
