"""A resident on a 390×844 touch phone: reports a problem with a photo whose EXIF GPS places
the pin, follows it on the receipt page, and rates it once staff resolved it; another resident
sees the open report nearby and adds 我也遇到 instead of filing a duplicate."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from shapely.geometry import shape

from api.db import transaction
from tests.browser.conftest import screenshot

COMMUNITY = "990101001001"
ADMIN, ADMIN_PASSWORD = "report_admin", "Report-admin-2026"


def place_in_city(live) -> tuple[float, float]:
    """A point on a building of the test city (inside a grid with a worker)."""
    r = httpx.get(f"{live.url}/api/buildings", params={"community": COMMUNITY})
    point = shape(r.json()["features"][0]["geometry"]).representative_point()
    return round(point.x, 6), round(point.y, 6)


def dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4)


def photo_with_gps(lon: float, lat: float) -> bytes:
    """A 2400×1800 JPEG whose EXIF holds the GPS position (as a phone camera writes it)."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: dms(lat), 3: "E", 4: dms(lon)}
    out = io.BytesIO()
    Image.new("RGB", (2400, 1800), (90, 140, 90)).save(out, "JPEG", exif=exif, quality=70)
    return out.getvalue()


@pytest.fixture
def admin(live_server) -> dict:
    from api.accounts import create_user
    from tests.browser.conftest import token

    with transaction(live_server.database_url) as session:
        create_user(session, ADMIN, "admin", ADMIN_PASSWORD)
    return token(live_server, ADMIN, ADMIN_PASSWORD)


def step(live, headers, case_id: int, action: str) -> dict:
    case = httpx.get(f"{live.url}/api/cases/{case_id}", headers=headers).json()
    r = httpx.post(f"{live.url}/api/cases/{case_id}/transitions", headers=headers,
                   json={"action": action, "version": case["version"]})  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def test_resident_reports_with_a_photo_follows_the_receipt_and_rates(live_server, phone, admin):
    from PIL import Image

    p = phone.page
    lon, lat = place_in_city(live_server)
    p.goto(f"{live_server.url}/map/report")
    p.wait_for_function("document.body.dataset.ready === '1'")
    assert p.locator("#categories .cat").count() == 11
    assert p.locator("#categories .cat svg.icon").count() == 11
    # the photo's EXIF GPS places the pin
    p.set_input_files("#photos", files=[{"name": "street.jpg", "mimeType": "image/jpeg",
                                         "buffer": photo_with_gps(lon, lat)}])  # fmt: skip
    p.wait_for_function("wangge.reportPage.state.placed")
    assert p.locator("#place-note").inner_text() == "已按照片里的拍摄位置放好图钉"
    pin = p.evaluate("wangge.reportPage.pin.getLatLng()")
    assert abs(pin["lng"] - lon) < 1e-5 and abs(pin["lat"] - lat) < 1e-5
    p.wait_for_selector("#thumbs .thumb img")
    p.locator('#categories .cat[data-code="environment"]').tap()
    p.select_option("#subcategory", "environment.garbage")
    p.fill("#description", "楼下垃圾桶满了三天没人清运")
    screenshot(p, "report-phone")
    p.locator("#btn-send").tap()
    p.wait_for_url(re.compile(r"/map/report/[A-Za-z0-9_-]{16,}$"), timeout=20_000)
    receipt = p.url.rsplit("/", 1)[-1]
    p.wait_for_function("document.body.dataset.ready === '1'")
    assert p.locator("#current-status").inner_text() == "已派给网格员"
    steps = p.locator("#timeline li").all_inner_texts()
    assert len(steps) == 2 and "已受理" in steps[0] and "已派给网格员" in steps[1]
    assert p.locator("#rate").is_hidden()
    screenshot(p, "report-receipt")

    # staff see the case with its photo, resized to 1600 px and without the GPS block
    status = httpx.post(f"{live_server.url}/api/reports/status", json={"receipt": receipt}).json()
    case = httpx.get(f"{live_server.url}/api/cases/{status['id']}", headers=admin).json()
    assert case["category"] == "environment.garbage" and case["description"].startswith("楼下")
    assert case["reporter_phone"] is None and case["reporter_name"] is None  # anonymous
    assert abs(case["lon"] - lon) < 1e-5 and abs(case["lat"] - lat) < 1e-5
    (attachment,) = case["attachments"]
    assert attachment["content_type"] == "image/jpeg"
    raw = httpx.get(
        f"{live_server.url}/api/cases/{case['id']}/attachments/{attachment['id']}", headers=admin
    ).content
    image = Image.open(io.BytesIO(raw))
    assert image.size == (1600, 1200) and not image.getexif().get_ifd(0x8825)

    # resolved by staff; the resident rates it on the receipt page
    step(live_server, admin, case["id"], "accept")
    step(live_server, admin, case["id"], "resolve")
    p.reload()
    p.wait_for_function("document.body.dataset.ready === '1'")
    assert p.locator("#current-status").inner_text() == "已办结，欢迎评价"
    assert (
        p.locator("#reopen").is_visible()
        and "前申请重新办理" in p.locator("#reopen-until").inner_text()
    )
    p.locator('#star-buttons button[data-stars="4"]').tap()
    p.fill("#rate-comment", "处理及时")
    p.locator("#btn-rate").tap()
    p.wait_for_function(
        "document.getElementById('current-status').textContent === '已评价，感谢反馈'"
    )
    assert p.locator("#rate").is_hidden() and p.locator("#reopen").is_hidden()
    screenshot(p, "report-rated")
    rated = httpx.get(f"{live_server.url}/api/cases/{case['id']}", headers=admin).json()
    assert rated["rating"] == 4 and rated["status"] == "rated"
    assert rated["events"][-1]["note"] == "处理及时"
    # back on the report page, this phone lists the report with its status link
    p.goto(f"{live_server.url}/map/report")
    p.wait_for_function("document.body.dataset.ready === '1'")
    mine = p.locator("#mine-list a")
    assert mine.count() == 1 and mine.get_attribute("href") == f"/map/report/{receipt}"
    assert f"编号 {case['id']}" in mine.inner_text()
    # the receipt never went out as a Referer
    assert not [u for u in phone.requests if receipt in u and "/map/report/" not in u]


def test_resident_adds_me_too_instead_of_a_duplicate(live_server, phone, admin):
    p = phone.page
    lon, lat = place_in_city(live_server)
    body = {"lon": lon + 0.0002, "lat": lat, "crs": "wgs84", "category": "environment.garbage",
            "description": "垃圾堆放"}  # fmt: skip
    first = httpx.post(f"{live_server.url}/api/cases", json=body).json()
    p.context.grant_permissions(["geolocation"])
    p.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 12})
    p.goto(f"{live_server.url}/map/report")
    p.wait_for_function("document.body.dataset.ready === '1'")
    p.locator("#btn-locate").tap()
    p.wait_for_function("wangge.reportPage.state.placed")
    assert "已定位到您的位置" in p.locator("#place-note").inner_text()
    p.locator('#categories .cat[data-code="environment"]').tap()
    assert p.locator("#nearby").is_hidden()  # the top category has no open report here
    p.select_option("#subcategory", "environment.garbage")
    offer = p.locator(f'#nearby-list li[data-case="{first["id"]}"]')
    offer.wait_for()
    assert "垃圾堆放与清运" in offer.inner_text() and "米" in offer.inner_text()
    assert "垃圾堆放" + "\n" not in offer.inner_text()  # the description is not shown
    # the offer is scrolled into view, not left below the fold
    p.wait_for_function(
        "(() => { const r = document.getElementById('nearby').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= innerHeight; })()"
    )
    p.wait_for_function(  # the smooth scroll has come to rest
        "new Promise(done => { const y = scrollY;"
        " requestAnimationFrame(() => requestAnimationFrame(() => done(scrollY === y))); })"
    )
    screenshot(p, "report-me-too")
    cases_before = httpx.get(f"{live_server.url}/api/cases", headers=admin).json()["total"]
    offer.locator("button.me-too").tap()
    p.wait_for_selector("#me-too-done")
    assert "已有 2 位居民反映" in p.locator("#me-too-done").inner_text()
    after = httpx.get(f"{live_server.url}/api/cases", headers=admin).json()["total"]
    assert after == cases_before
    case = httpx.get(f"{live_server.url}/api/cases/{first['id']}", headers=admin).json()
    assert [e["kind"] for e in case["events"]].count("support") == 1


def test_report_page_refuses_sending_without_a_place_in_chinese(live_server, phone):
    p = phone.page
    p.goto(f"{live_server.url}/map/report")
    p.wait_for_function("document.body.dataset.ready === '1'")
    p.locator("#btn-send").tap()
    assert p.locator("#status").inner_text() == "请先在地图上选好位置"
    assert not [u for u in phone.requests if u.endswith("/api/cases")]


def test_a_lost_connection_keeps_the_form_and_the_retry_files_one_case(live_server, phone, admin):
    p = phone.page
    lon, lat = place_in_city(live_server)
    p.context.grant_permissions(["geolocation"])
    p.context.set_geolocation({"longitude": lon, "latitude": lat})
    p.goto(f"{live_server.url}/map/report")
    p.wait_for_function("document.body.dataset.ready === '1'")
    p.locator("#btn-locate").tap()
    p.wait_for_function("wangge.reportPage.state.placed")
    p.locator('#categories .cat[data-code="dispute"]').tap()
    p.fill("#description", "邻居装修噪音")
    before = httpx.get(f"{live_server.url}/api/cases", headers=admin).json()["total"]
    keys: list[str] = []

    def answer_then_drop(route):  # the server files the case, the answer never arrives
        keys.append(route.request.headers["idempotency-key"])
        route.fetch()
        route.abort("internetdisconnected")

    p.route("**/api/cases", answer_then_drop)
    phone.expected_errors.append("ERR_INTERNET_DISCONNECTED")
    p.locator("#btn-send").tap()
    p.wait_for_function("document.getElementById('status').className === 'error'")
    assert "网络连接失败" in p.locator("#status").inner_text()
    assert p.input_value("#description") == "邻居装修噪音" and p.locator("#btn-send").is_enabled()
    p.unroute("**/api/cases")
    p.route("**/api/cases", lambda route: (
        keys.append(route.request.headers["idempotency-key"]), route.continue_()))  # fmt: skip
    p.locator("#btn-send").tap()
    p.wait_for_url(re.compile(r"/map/report/[A-Za-z0-9_-]{16,}$"), timeout=20_000)
    assert len(keys) == 2 and keys[0] == keys[1]  # the retry carries the same key
    after = httpx.get(f"{live_server.url}/api/cases", headers=admin).json()["total"]
    assert after == before + 1


def test_report_page_is_made_for_fingers(live_server, phone):
    p = phone.page
    p.goto(f"{live_server.url}/map/report")
    p.wait_for_function("document.body.dataset.ready === '1'")
    p.locator('#categories .cat[data-code="environment"]').tap()
    p.locator("#leave-contact").tap()
    small = p.evaluate("""() => [...document.querySelectorAll(
        'main button, main select, main input:not([type=checkbox]):not([type=file]), '
        + 'main textarea, main label.button, main label.check')]
      .filter(el => el.offsetParent !== null)
      .map(el => [el.id || el.className || el.tagName, el.getBoundingClientRect().height,
                  parseFloat(getComputedStyle(el).fontSize)])
      .filter(([, h, f]) => h < 44 || f < 14)""")
    assert small == []
    body = p.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert body >= 16
    assert p.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone


def test_report_pages_in_english(live_server, phone):
    p = phone.page
    p.goto(f"{live_server.url}/map/report?lang=en")
    p.wait_for_function("document.body.dataset.ready === '1'")
    assert p.locator("h1").inner_text() == "Report a problem"
    assert "Ecology and environment" in p.locator("#categories").inner_text()
    assert p.locator("#lang-switch").inner_text() == "中文"
    p.goto(f"{live_server.url}/map/report/NoSuchReceipt123?lang=en")
    p.wait_for_selector("#summary p.error")
    phone.expected_statuses.add(404)
    assert p.locator("#summary").inner_text() == "This receipt is not valid; check the link"
