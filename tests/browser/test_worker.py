"""The grid worker's phone app on a 390×844 touch screen: a case worked to the end (accept,
note, photo, resolve with confirmation, one undo inside the window), a case sent back with a
reason, and what the list shows of other workers' cases."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import httpx
from playwright.sync_api import expect

from geo.coords import convert
from tests.browser.conftest import screenshot, token
from tests.browser.worker_world import (
    ADMIN,
    PASSWORD,
    actions,
    jpeg,
    make_worker,
    report,
    sign_in,
    stored,
    wait_status,
)

UNDO_WINDOW_MS = 5_000

# every visible control of the panel at least 44 px each way, and text at least 16 px
TOUCH_AND_TEXT = """() => {
  const small = [];
  const sel = '#panel button, #panel a, #panel textarea, #panel input:not(.photo-input)';
  for (const e of document.querySelectorAll(sel)) {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (r.height < 44 || r.width < 44) small.push(`${e.textContent} ${r.width}x${r.height}`);
  }
  for (const e of document.querySelectorAll('#panel li, #panel .meta, #panel .desc, #panel p')) {
    const size = parseFloat(getComputedStyle(e).fontSize);
    const shown = e.getBoundingClientRect().height > 0;
    if (shown && size < 16) small.push(`text ${size}px: ${e.textContent}`);
  }
  return small;
}"""

# every case card in view is itself at its centre: nothing (the status line) lies over it
COVERED = """() => [...document.querySelectorAll('#case-list li')].filter(li => {
  const r = li.getBoundingClientRect();
  const y = r.top + r.height / 2;
  if (y < 0 || y > innerHeight) return false;
  const hit = document.elementFromPoint(r.left + r.width / 2, y);
  return !li.contains(hit);
}).map(li => li.dataset.case)"""


def test_worker_works_a_case_to_the_end_on_a_phone(live_server, phone):
    grid, worker = make_worker(live_server)
    case = report(
        live_server, grid, "楼道堆放杂物，堵住消防通道",
        reporter_name="李四", reporter_phone="13912345678",
    )  # fmt: skip
    assert case["assignee"] == worker
    before = httpx.post(
        f"{live_server.url}/api/cases/{case['id']}/attachments",
        files={"file": ("before.jpg", jpeg(40, 30), "image/jpeg")},
        data={"receipt": case["receipt"]},
    )
    assert before.status_code == 201, before.text
    p = phone.page
    sign_in(p, live_server)
    card = p.locator(f'#case-list [data-case="{case["id"]}"]')
    card.wait_for(timeout=20_000)
    community = p.evaluate("wangge.config.communities['990101001001']")
    number = int(grid["properties"]["code"][12:15])
    assert card.locator(".grid-name").inner_text() == f"{community}第{number}网格"
    assert grid["properties"]["code"] not in card.inner_text()  # names, not codes
    scale = p.locator(".leaflet-control-scale").inner_text()
    assert re.fullmatch(r"\s*\d+ k?m\s*", scale), scale  # metres only: no feet, no miles
    assert case["assignee_name"] in card.locator(".assignee").inner_text()
    assert p.evaluate(TOUCH_AND_TEXT) == []
    assert p.evaluate(COVERED) == []

    card.locator("[data-action=accept]").tap()
    wait_status(p, f"#{case['id']} 已接单")
    assert stored(live_server, case["id"])["status"] == "accepted"

    p.locator(f'#case-list [data-case="{case["id"]}"] button.open').tap()
    p.wait_for_selector("#timeline li", timeout=20_000)
    detail = p.locator("#detail-view")
    # the reporter's contact and photo for a grid worker; navigation in GCJ-02 and BD-09
    assert "李四" in detail.inner_text()
    assert detail.locator("a[href^='tel:']").get_attribute("href") == "tel:13912345678"
    p.wait_for_function("document.querySelector('#timeline img.photo')?.naturalWidth === 40")
    assert "处置前照片" in detail.locator("#timeline").inner_text()
    amap = parse_qs(urlsplit(detail.locator("a.nav-amap").get_attribute("href")).query)
    baidu = parse_qs(urlsplit(detail.locator("a.nav-baidu").get_attribute("href")).query)
    g_lon, g_lat = convert(case["lon"], case["lat"], src="wgs84", dst="gcj02")
    b_lon, b_lat = convert(case["lon"], case["lat"], src="wgs84", dst="bd09")
    assert amap["position"] == [f"{g_lon:.6f},{g_lat:.6f}"]
    assert baidu["location"] == [f"{b_lat:.6f},{b_lon:.6f}"]
    assert baidu["coord_type"] == ["bd09ll"]

    detail.locator("textarea.note").fill("已到现场，联系物业清理")
    detail.locator("[data-action=note]").tap()
    wait_status(p, f"#{case['id']} 进展已记录")
    p.wait_for_function(
        "document.querySelector('#timeline')?.textContent.includes('已到现场，联系物业清理')",
        timeout=20_000,
    )
    p.locator("#detail-view input.photo-input").set_input_files(
        files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg(3200, 2400)}]
    )
    wait_status(p, f"#{case['id']} 照片已上传")
    p.wait_for_function("document.querySelectorAll('#timeline img.photo').length === 2")
    assert "处置后照片" in p.locator("#timeline").inner_text()
    assert p.evaluate(TOUCH_AND_TEXT) == []
    screenshot(p, "worker")

    # resolve: asked first, then a window to undo it; undone once, nothing reaches the server
    p.locator("#detail-view [data-action=resolve]").tap()
    assert "确认办结" in p.locator(".confirm-resolve").inner_text()
    p.locator("[data-confirm=resolve]").tap()
    assert p.locator("#undo-bar").is_visible()
    p.locator("#btn-undo").tap()
    wait_status(p, f"已撤销办结 #{case['id']}")
    p.wait_for_timeout(UNDO_WINDOW_MS + 1_000)  # past the window the undone resolve had
    assert stored(live_server, case["id"])["status"] == "accepted"

    p.locator("#detail-view [data-action=resolve]").tap()
    p.locator("[data-confirm=resolve]").tap()
    wait_status(p, f"#{case['id']} 已办结")
    record = stored(live_server, case["id"])
    assert record["status"] == "resolved"
    assert actions(record).count("resolve") == 1 and actions(record).count("note") == 1
    assert actions(record).count("accept") == 1
    notes = [e["note"] for e in record["events"] if e["action"] == "note"]
    assert notes == ["已到现场，联系物业清理"]
    # the result's photo was made smaller in the browser before it was sent
    photo_id = record["attachments"][-1]["id"]
    raw = httpx.get(
        f"{live_server.url}/api/cases/{case['id']}/attachments/{photo_id}",
        headers=token(live_server, ADMIN, PASSWORD),
    ).content
    from PIL import Image

    assert Image.open(io.BytesIO(raw)).size == (1600, 1200)
    assert len(record["attachments"]) == 2


def test_worker_sends_a_case_back_with_a_reason(live_server, phone):
    grid, _ = make_worker(live_server)
    case = report(live_server, grid, "隔壁小区的路灯不亮")
    p = phone.page
    sign_in(p, live_server)
    p.locator(f'#case-list [data-case="{case["id"]}"] button.open').tap()
    p.wait_for_selector("#timeline li", timeout=20_000)
    p.locator("#detail-view [data-action=send_back]").tap()
    p.locator("[data-confirm=send_back]").tap()  # no reason yet: refused in the page
    wait_status(p, "请填写退单原因")
    assert stored(live_server, case["id"])["status"] == "dispatched"
    p.locator(".send-back textarea").fill("不在本网格，属于隔壁小区")
    p.locator("[data-confirm=send_back]").tap()
    wait_status(p, f"#{case['id']} 已退单")
    record = stored(live_server, case["id"])
    assert record["status"] == "reported"
    back = [e for e in record["events"] if e["action"] == "send_back"]
    assert [e["note"] for e in back] == ["不在本网格，属于隔壁小区"]


def test_other_workers_cases_show_their_assignee_and_no_accept(live_server, phone):
    from sqlalchemy import text

    from api.db import transaction

    grid, worker = make_worker(live_server)
    code = grid["properties"]["code"]
    mine = report(live_server, grid, "井盖松动")
    theirs = report(live_server, grid, "墙面小广告")
    with transaction(live_server.database_url) as session:
        other, name = session.execute(
            text(
                "SELECT w.worker_id, w.name FROM workers w JOIN worker_grids g "
                "ON g.worker_id = w.id WHERE g.grid_code = :g AND w.worker_id <> :me "
                "ORDER BY w.worker_id LIMIT 1"
            ),
            {"g": code, "me": worker},
        ).one()
    r = httpx.post(
        f"{live_server.url}/api/cases/{theirs['id']}/transitions",
        json={"action": "reassign", "version": theirs["version"], "assignee": other},
        headers=token(live_server, ADMIN, PASSWORD),
    )
    assert r.status_code == 200, r.text
    p = phone.page
    sign_in(p, live_server)
    # 我的: only the worker's own case; 我的网格: both, the other one without 接单
    assert p.locator("#case-list [data-case]").count() == 1
    assert p.locator(f'[data-case="{mine["id"]}"] [data-action=accept]').count() == 1
    p.locator("[data-filter=grids]").tap()
    card = p.locator(f'#case-list [data-case="{theirs["id"]}"]')
    card.wait_for()
    # the card may be drawn before its assignee (the list refreshes); wait for the name
    expect(card.locator(".assignee")).to_contain_text(name or other, timeout=15_000)
    assert card.locator("[data-action=accept]").count() == 0
    card.locator("button.open").tap()
    p.wait_for_selector("#timeline li", timeout=20_000)
    assert p.locator("#detail-view .detail-actions button").count() == 0
