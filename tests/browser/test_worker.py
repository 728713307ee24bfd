"""The grid worker's page on a phone-sized screen: sign in, see the grid and the open case,
accept it and resolve it through the case API."""

from __future__ import annotations

import httpx
from shapely.geometry import shape

from tests.browser.conftest import screenshot, token, wait_drawn

COMMUNITY = "990101001001"
WORKER, PASSWORD = "wangwu", "Field-worker-2026"


def test_worker_accepts_and_resolves_a_case_on_a_phone(live_server, phone):
    from api.accounts import create_user
    from api.db import transaction

    grids = httpx.get(
        f"{live_server.url}/api/grids", params={"community": COMMUNITY, "level": "grid"}
    ).json()["features"]
    grid = grids[0]
    code = grid["properties"]["code"]
    with transaction(live_server.database_url) as session:
        create_user(session, WORKER, "grid_worker", PASSWORD, grid_codes=[code])
    point = shape(grid["geometry"]).representative_point()
    category = httpx.get(f"{live_server.url}/api/categories").json()[0]["code"]
    created = httpx.post(
        f"{live_server.url}/api/cases",
        json={
            "lon": point.x,
            "lat": point.y,
            "crs": "wgs84",
            "category": category,
            "description": "楼道堆放杂物",
        },
    )
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["grid_code"] == code
    p = phone.page
    p.goto(f"{live_server.url}/map/worker")
    wait_drawn(p)
    p.fill("#signin [name=username]", WORKER)
    p.fill("#signin [name=password]", PASSWORD)
    p.click("#signin button")
    item = p.locator(f'[data-case="{case["id"]}"]')
    item.wait_for(timeout=20_000)
    # grids and buildings load beside the case list: wait for them rather than race them
    p.wait_for_function("wangge.layers.grids.getLayers().length > 0", timeout=20_000)
    assert p.evaluate("wangge.layers.grids.getLayers().length") == 1
    assert p.evaluate("wangge.layers.cases.getLayers().length") >= 1
    if case["status"] == "dispatched":
        item.locator("[data-action=accept]").click()
        p.wait_for_function(
            "id => wangge.workerPage.cases.some(c => c.id === id && c.status === 'accepted')",
            arg=case["id"],
            timeout=20_000,
        )
    item = p.locator(f'[data-case="{case["id"]}"]')
    version = p.evaluate("id => wangge.workerPage.cases.find(c => c.id === id).version", case["id"])
    item.locator("input.note").fill("已到现场")
    item.locator("[data-action=note]").click()  # 更新进展: a note, the status stays
    headers = token(live_server, WORKER, PASSWORD)
    p.wait_for_function(
        "([id, v]) => wangge.workerPage.cases.some(c => c.id === id && c.version > v)",
        arg=[case["id"], version],
        timeout=20_000,
    )
    noted = httpx.get(f"{live_server.url}/api/cases/{case['id']}", headers=headers).json()
    assert noted["status"] == "accepted"
    assert (noted["events"][-1]["action"], noted["events"][-1]["note"]) == ("note", "已到现场")
    screenshot(p, "worker")
    p.locator(f'[data-case="{case["id"]}"] [data-action=resolve]').click()
    p.wait_for_function(
        "id => !wangge.workerPage.cases.some(c => c.id === id)", arg=case["id"], timeout=20_000
    )
    stored = httpx.get(f"{live_server.url}/api/cases/{case['id']}", headers=headers).json()
    assert stored["status"] == "resolved"
    assert [e["to_status"] for e in stored["events"]][-1] == "resolved"
